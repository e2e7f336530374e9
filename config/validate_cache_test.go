package config

import "testing"

func TestCachePluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"cache\"\n"
	tests := []struct{ desc, in, want string }{
		{"defaults", head, ""},
		{"valid", head + "max_size = \"64mb\"\nmax_ttl = \"2h\"\ndefault_ttl = \"1m\"\nlock = \"2s\"\nmax_file_size = \"2mb\"\n" +
			"headers = [\"Accept-Encoding\", \"X-Tenant\"]\nskip = \"^/api/\"\npurge_ip_list = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]\n", ""},
		{"file larger than the budget", head + "max_size = \"1mb\"\nmax_file_size = \"2mb\"\n",
			`plugins.p.max_file_size (line 13): 2097152 bytes is larger than max_size (1048576 bytes)`},
		{"bad header", head + "headers = [\"X-Ok\", \"bad header\"]\n",
			`plugins.p.headers[1] (line 12): invalid header name "bad header"`},
		{"bad skip", head + "skip = \"(\"\n",
			`plugins.p.skip (line 12): invalid regex "(": missing closing )`},
		{"bad purge address", head + "purge_ip_list = [\"127.0.0.1\", \"10.0.0.0/33\"]\n",
			`plugins.p.purge_ip_list[1] (line 12): "10.0.0.0/33" is not an IP address or a CIDR such as "10.0.0.0/8"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := validationErrors(t, pluginBase+tt.in); got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
