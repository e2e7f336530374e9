package config

import "testing"

func TestCompressionPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"compression\"\n"
	tests := []struct{ desc, in, want string }{
		{"defaults", head, ""},
		{"valid", head + "gzip_level = 9\nbr_level = 11\nzstd_level = 4\nmin_length = \"2kb\"\n" +
			"content_types = [\"text/\", \"application/json\", \"+xml\"]\ndecompression = true\n", ""},
		{"one disabled", head + "zstd_level = 0\n", ""},
		{"all disabled but decompressing", head + "gzip_level = 0\nbr_level = 0\nzstd_level = 0\ndecompression = true\n", ""},
		{"levels too high", head + "gzip_level = 10\nbr_level = 12\nzstd_level = 5\n",
			"plugins.p.gzip_level (line 12): 10 is outside 0..9 (0 disables gzip)\n" +
				"plugins.p.br_level (line 13): 12 is outside 0..11 (0 disables brotli)\n" +
				"plugins.p.zstd_level (line 14): 5 is outside 0..4 (0 disables zstd)"},
		{"all disabled", head + "gzip_level = 0\nbr_level = 0\nzstd_level = 0\n",
			"plugins.p (line 10): gzip_level, br_level and zstd_level are all 0 and decompression is off: the plugin would do nothing"},
		{"bad content types", head + "content_types = [\"text/html; charset=utf-8\", \"\", \"a/b/c\", \"+json/x\"]\n",
			"plugins.p.content_types[0] (line 12): invalid content type \"text/html; charset=utf-8\": ';' is not allowed (no parameters: the charset is ignored when matching)\n" +
				"plugins.p.content_types[1] (line 12): invalid content type \"\": empty\n" +
				"plugins.p.content_types[2] (line 12): invalid content type \"a/b/c\": want a type/subtype prefix such as \"text/\" or \"application/json\"\n" +
				"plugins.p.content_types[3] (line 12): invalid content type \"+json/x\": a suffix (\"+json\") has no \"/\""},
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

func TestMediaTypesMatch(t *testing.T) {
	t.Parallel()
	m, err := ParseMediaTypes([]string{"text/", "Application/JSON", "+xml"})
	if err != nil {
		t.Fatal(err)
	}
	for ct, want := range map[string]bool{
		"text/html":                       true,
		"TEXT/plain; charset=utf-8":       true,
		"application/json":                true,
		" application/json ; charset=x":   true,
		"application/javascript":          false,
		"application/atom+xml":            true,
		"application/xml":                 false,
		"+xml":                            false,
		"":                                false,
		"image/png":                       false,
		"application/json-patch+json":     true,
		"application/problem+json":        false,
		"application/vnd.api+XML;q=whats": true,
	} {
		if got := m.Match(ct); got != want {
			t.Errorf("Match(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestMediaTypesMatchDoesNotAllocate is not parallel: AllocsPerRun forbids
// it.
func TestMediaTypesMatchDoesNotAllocate(t *testing.T) {
	m, err := ParseMediaTypes([]string{"text/", "+xml"})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.Match("application/vnd.api+XML; charset=utf-8") }); n != 0 {
		t.Errorf("Match allocates %v times, want 0", n)
	}
}

func TestIsGRPCContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc": true, "application/grpc+proto": true, "application/grpc;charset=utf-8": true,
		"Application/GRPC": true, "application/grpc-web": false, "application/grpcx": false,
		"application/json": false, "": false,
	} {
		if got := IsGRPCContentType(ct); got != want {
			t.Errorf("IsGRPCContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}
