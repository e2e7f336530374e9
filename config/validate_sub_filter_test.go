package config

import "testing"

func TestSubFilterPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"sub_filter\"\n"
	tests := []struct{ desc, in, want string }{
		{"valid", head + "path = \"^/docs/\"\ncontent_types = [\"text/html\", \"+xml\"]\n" +
			"filters = [\"subs_filter 'http://' 'https://' g\", \"sub_filter \\\"(\\\\d+) items\\\" '$1 things' ri\"]\n", ""},
		{"required", head, `plugins.p.filters (line 10): required: rules such as "subs_filter 'http://' 'https://' g"`},
		{"bad path", head + "path = \"(\"\nfilters = [\"subs_filter 'a' 'b'\"]\n", `plugins.p.path (line 12): invalid regex "(": missing closing )`},
		{"bad rules", head + "filters = [\"replace 'a' 'b'\", \"subs_filter 'a' 'b' x\", \"subs_filter '(' 'b' r\", \"subs_filter 'a*' '' r\"]\n",
			"plugins.p.filters[0] (line 12): invalid rule \"replace 'a' 'b'\": want \"subs_filter 'FROM' 'TO' FLAGS\"\n" +
				"plugins.p.filters[1] (line 12): invalid rule \"subs_filter 'a' 'b' x\": unknown flag 'x' (flags: g, i, r)\n" +
				"plugins.p.filters[2] (line 12): invalid rule \"subs_filter '(' 'b' r\": invalid regex \"(\": missing closing )\n" +
				"plugins.p.filters[3] (line 12): invalid rule \"subs_filter 'a*' '' r\": regex \"a*\" matches the empty string"},
		{"bad content type", head + "filters = [\"subs_filter 'a' 'b'\"]\ncontent_types = [\"text html\"]\n",
			`plugins.p.content_types[0] (line 13): invalid content type "text html": ' ' is not allowed (no parameters: the charset is ignored when matching)`},
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

func TestParseSubFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in              string
		from, to        string
		global, ic, rgx bool
		err             string
	}{
		{in: "subs_filter 'http://' 'https://' g", from: "http://", to: "https://", global: true},
		{in: `sub_filter "it's" 'it is'`, from: "it's", to: "it is"},
		{in: "  subs_filter\t'A'   \"\"  g i r ", from: "A", to: "", global: true, ic: true, rgx: true},
		{in: "subs_filter 'a''b'", from: "a", to: "b"},
		{in: "subs_filter 'Foo' 'bar' i", from: "Foo", to: "bar", ic: true},
		{in: "subs_filter", err: `invalid rule "subs_filter": want "subs_filter 'FROM' 'TO' FLAGS"`},
		{in: "subs_filter a b", err: `invalid rule "subs_filter a b": FROM is not quoted with ' or "`},
		{in: "subs_filter 'a' 'b", err: `invalid rule "subs_filter 'a' 'b": TO has no closing '`},
		{in: "subs_filter 'a'", err: `invalid rule "subs_filter 'a'": TO is not quoted with ' or "`},
		{in: "subs_filter '' 'b'", err: `invalid rule "subs_filter '' 'b'": FROM is empty`},
		{in: "subs_filters 'a' 'b'", err: `invalid rule "subs_filters 'a' 'b'": want "subs_filter 'FROM' 'TO' FLAGS"`},
	}
	for _, tt := range tests {
		r, err := ParseSubFilter(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseSubFilter(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.From != tt.from || r.To != tt.to || r.Global != tt.global || r.IgnoreCase != tt.ic || r.Regex != tt.rgx {
			t.Errorf("ParseSubFilter(%q) = %+v, %v", tt.in, r, err)
			continue
		}
		if (r.Pattern != nil) != (tt.ic || tt.rgx) {
			t.Errorf("ParseSubFilter(%q): Pattern %v", tt.in, r.Pattern)
		}
	}
	r, err := ParseSubFilter("subs_filter 'a.b' 'x' i")
	if err != nil || r.Pattern.MatchString("aXb") || !r.Pattern.MatchString("A.B") {
		t.Errorf("a case-insensitive literal is not matched literally: %v %v", r.Pattern, err)
	}
}

func FuzzParseSubFilter(f *testing.F) {
	f.Add("subs_filter 'a' 'b' gir")
	f.Add(`sub_filter "x" 'y'`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSubFilter(s)
		if err != nil {
			return
		}
		if r.From == "" || (r.Regex || r.IgnoreCase) != (r.Pattern != nil) {
			t.Fatalf("ParseSubFilter(%q) = %+v", s, r)
		}
	})
}
