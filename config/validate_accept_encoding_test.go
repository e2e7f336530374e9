package config

import (
	"slices"
	"testing"
)

func TestAcceptEncodingPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"accept_encoding\"\n"
	tests := []struct{ desc, in, want string }{
		{"valid", head + "encodings = \"zstd, br, gzip\"\nonly_one_encoding = true\n", ""},
		{"required", head, `plugins.p.encodings (line 10): required: content codings such as "zstd, br, gzip"`},
		{"empty item", head + "encodings = \"br,,gzip\"\n", `plugins.p.encodings (line 12): empty coding in "br,,gzip"`},
		{"star", head + "encodings = \"br, *\"\n", `plugins.p.encodings (line 12): "*" is not a coding: list the codings to keep`},
		{"q-value", head + "encodings = \"br;q=0.5\"\n",
			`plugins.p.encodings (line 12): "br;q=0.5": list codings without parameters or q-values (the order is the preference)`},
		{"not a token", head + "encodings = \"br gzip\"\n", `plugins.p.encodings (line 12): "br gzip" is not a coding name`},
		{"twice", head + "encodings = \"gzip, br, GZIP\"\n", `plugins.p.encodings (line 12): "gzip" is listed twice`},
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

func TestParseEncodings(t *testing.T) {
	t.Parallel()
	got, err := ParseEncodings(" ZSTD,br , gzip")
	if err != nil || !slices.Equal(got, []string{"zstd", "br", "gzip"}) {
		t.Errorf("ParseEncodings = %q, %v", got, err)
	}
}
