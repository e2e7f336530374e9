package config

import (
	"strings"
	"testing"
)

func TestCSRFPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"csrf\"\n"
	const key = "key = \"0123456789abcdef\"\n"
	tests := []struct{ desc, in, want string }{
		{"valid", head + "token_path = \"/csrf-token\"\n" + key + "name = \"X-XSRF-Token\"\nttl = \"30m\"\n", ""},
		{"defaults", head + "token_path = \"/t\"\n" + key, ""},
		{"required", head,
			"plugins.p.key (line 10): required: at least 16 bytes\n" +
				"plugins.p.token_path (line 10): required: the path that issues tokens"},
		{"relative token_path", head + "token_path = \"csrf\"\n" + key,
			`plugins.p.token_path (line 12): invalid path "csrf": must start with "/"`},
		{"short key", head + "token_path = \"/t\"\nkey = \"short-key\"\n",
			`plugins.p.key (line 13): too short: 9 bytes, want at least 16`},
		{"bad name", head + "token_path = \"/t\"\n" + key + "name = \"csrf token\"\n",
			`plugins.p.name (line 14): "csrf token" is not a header and cookie name`},
		{"name with a cookie separator", head + "token_path = \"/t\"\n" + key + "name = \"a;b\"\n",
			`plugins.p.name (line 14): "a;b" is not a header and cookie name`},
		{"ttl under a second", head + "token_path = \"/t\"\n" + key + "ttl = \"500ms\"\n",
			`plugins.p.ttl (line 14): 500ms is less than 1s (the cookie's Max-Age is in seconds)`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := validationErrors(t, pluginBase+tt.in)
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(got, "short-key") || strings.Contains(got, "0123456789abcdef") {
				t.Errorf("an error shows the key: %s", got)
			}
		})
	}
}
