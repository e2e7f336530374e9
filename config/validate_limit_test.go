package config

import "testing"

func TestLimitPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"limit\"\n"
	tests := []struct{ desc, in, want string }{
		{"rate", head + "type = \"rate\"\ntag = \"header\"\nkey = \"X-Client\"\nmax = 10\ninterval = \"1m\"\nburst = 20\n" +
			"max_keys = 1000\nidle_timeout = \"5m\"\nmessage = \"slow down\"\n", ""},
		{"defaults", head + "max = 1\n", ""},
		{"inflight by cookie", head + "type = \"inflight\"\ntag = \"cookie\"\nkey = \"sid\"\nmax = 2\n", ""},
		{"inflight keeps a Pingap interval", head + "type = \"inflight\"\nmax = 2\ninterval = \"1s\"\n", ""},
		{"query", head + "tag = \"query\"\nkey = \"api key\"\nmax = 2\n", ""},
		{"max required", head, "plugins.p.max (line 10): required: > 0"},
		{"max zero", head + "max = 0\n", "plugins.p.max (line 12): required: > 0"},
		{"bad type", head + "type = \"leaky\"\nmax = 1\n", `plugins.p.type (line 12): "leaky" is neither rate nor inflight`},
		{"burst with inflight", head + "type = \"inflight\"\nmax = 1\nburst = 2\n",
			"plugins.p.burst (line 14): only for type rate (inflight counts concurrent requests)"},
		{"bad tag", head + "tag = \"path\"\nmax = 1\n", `plugins.p.tag (line 12): "path" is none of ip, header, cookie, query`},
		{"header without key", head + "tag = \"header\"\nmax = 1\n", `plugins.p.key (line 10): required with tag "header": the header name`},
		{"cookie without key", head + "tag = \"cookie\"\nmax = 1\n", `plugins.p.key (line 10): required with tag "cookie": the cookie name`},
		{"query without key", head + "tag = \"query\"\nmax = 1\n", `plugins.p.key (line 10): required with tag "query": the parameter name`},
		{"bad header name", head + "tag = \"header\"\nkey = \"X Client\"\nmax = 1\n", `plugins.p.key (line 13): "X Client" is not a header name`},
		{"bad cookie name", head + "tag = \"cookie\"\nkey = \"a;b\"\nmax = 1\n", `plugins.p.key (line 13): "a;b" is not a cookie name`},
		{"all at once", head + "type = \"x\"\ntag = \"y\"\n",
			"plugins.p.max (line 10): required: > 0\n" +
				`plugins.p.type (line 12): "x" is neither rate nor inflight` + "\n" +
				`plugins.p.tag (line 13): "y" is none of ip, header, cookie, query`},
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
