package config

import "testing"

func TestDirectoryPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"directory\"\n"
	const dir = "path = \"/var/www/static\"\n"
	tests := []struct{ desc, in, want string }{
		{"valid", head + dir + "index = [\"index.html\", \"index.htm\"]\nautoindex = true\nmax_age = \"1h\"\n" +
			"private = true\ncharset = \"utf-8\"\nprecompressed = true\nheaders = [\"X-Served-By:pingap\"]\ndownload = true\n", ""},
		// The directory is the data plane's: validation never looks at it.
		{"missing directory is not checked", head + "path = \"/no/such/dir\"\n", ""},
		{"relative path", head + "path = \"public\"\n", ""},
		{"zero max_age", head + dir + "max_age = \"0s\"\n", ""},
		{"path required", head, `plugins.p.path (line 10): required: the directory served`},
		{"nul in path", head + "path = \"/var/www\\u0000x\"\n",
			`plugins.p.path (line 12): invalid path "/var/www\x00x": holds a NUL byte`},
		{"bad index names", head + dir + "index = [\"\", \"..\", \"a/index.html\", \"a\\\\b\"]\n",
			"plugins.p.index[0] (line 13): empty file name\n" +
				"plugins.p.index[1] (line 13): \"..\" is not a file name\n" +
				"plugins.p.index[2] (line 13): \"a/index.html\" is not a plain file name (no slash, backslash or NUL)\n" +
				"plugins.p.index[3] (line 13): \"a\\\\b\" is not a plain file name (no slash, backslash or NUL)"},
		{"bad charset", head + dir + "charset = \"utf 8\"\n", `plugins.p.charset (line 13): "utf 8" is not a charset name`},
		{"max_age under a second", head + dir + "max_age = \"500ms\"\n",
			`plugins.p.max_age (line 13): 500ms is less than 1s (max-age is in seconds)`},
		{"bad header", head + dir + "headers = [\"X-Ok:1\", \"no colon\"]\n",
			`plugins.p.headers[1] (line 13): invalid header "no colon": want "Name:value"`},
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

func TestCheckIndexName(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"index.html", "default.htm", "..index", ".hidden"} {
		if err := CheckIndexName(s); err != nil {
			t.Errorf("CheckIndexName(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", ".", "..", "a/b", "/index.html", "a\\b", "a\x00b"} {
		if err := CheckIndexName(s); err == nil {
			t.Errorf("CheckIndexName(%q) accepted", s)
		}
	}
}
