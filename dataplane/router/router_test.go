package router

import (
	"strings"
	"testing"
)

func weight(w int32) *int32 { return &w }

// e builds an entry whose value is its name.
func e(name, host, path string) Entry[string] {
	return Entry[string]{Name: name, Host: host, Path: path, Value: name}
}

// ew builds a weighted entry whose value is its name.
func ew(name, host, path string, w int32) Entry[string] {
	en := e(name, host, path)
	en.Weight = weight(w)
	return en
}

type request struct {
	host, path string
	want       string // "" for no match
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		entries []Entry[string]
		reqs    []request
	}{
		{
			desc:    "no locations",
			entries: nil,
			reqs:    []request{{"a.com", "/", ""}},
		},
		{
			desc:    "empty host and path match everything",
			entries: []Entry[string]{e("all", "", "")},
			reqs:    []request{{"a.com", "/", "all"}, {"", "/x/y", "all"}, {"[::1]:80", "/", "all"}},
		},
		{
			desc:    "path kinds",
			entries: []Entry[string]{e("exact", "", "=/login"), e("prefix", "", "/api"), e("regex", "", `~\.png$`)},
			reqs: []request{
				{"a.com", "/login", "exact"},
				{"a.com", "/login/x", ""},
				{"a.com", "/api", "prefix"},
				{"a.com", "/api/v1", "prefix"},
				{"a.com", "/apix", "prefix"},
				{"a.com", "/img/a.png", "regex"},
				{"a.com", "/api/a.png", "prefix"},
				{"a.com", "/other", ""},
				{"a.com", "", ""},
			},
		},
		{
			desc:    "path exact beats prefix beats regex",
			entries: []Entry[string]{e("r", "", "~^/a"), e("p", "", "/a"), e("x", "", "=/a")},
			reqs:    []request{{"h", "/a", "x"}, {"h", "/ab", "p"}},
		},
		{
			desc:    "longer prefix first",
			entries: []Entry[string]{e("root", "", "/"), e("api", "", "/api"), e("v1", "", "/api/v1")},
			reqs:    []request{{"h", "/api/v1/x", "v1"}, {"h", "/api/v2", "api"}, {"h", "/", "root"}, {"h", "/x", "root"}},
		},
		{
			desc:    "host kinds",
			entries: []Entry[string]{e("exact", "a.com", ""), e("wild", "*.a.com", ""), e("regex", `~^api\d+\.`, ""), e("any", "", "")},
			reqs: []request{
				{"a.com", "/", "exact"},
				{"x.a.com", "/", "wild"},
				{"x.y.a.com", "/", "wild"},
				{"api1.b.com", "/", "regex"},
				{"api1.a.com", "/", "wild"},
				{"b.com", "/", "any"},
				{"xa.com", "/", "any"},
			},
		},
		{
			desc:    "wildcard does not match the bare suffix",
			entries: []Entry[string]{e("wild", "*.a.com", "")},
			reqs:    []request{{"a.com", "/", ""}, {".a.com", "/", ""}, {"x.a.com", "/", "wild"}, {"xa.com", "/", ""}},
		},
		{
			desc:    "longer wildcard suffix first",
			entries: []Entry[string]{e("a", "*.a.com", ""), e("b", "*.b.a.com", ""), e("com", "*.com", "")},
			reqs: []request{
				{"x.b.a.com", "/", "b"},
				{"b.a.com", "/", "a"},
				{"x.a.com", "/", "a"},
				{"x.com", "/", "com"},
			},
		},
		{
			desc:    "host beats path",
			entries: []Entry[string]{e("anyexact", "", "=/x"), e("hostprefix", "a.com", "/")},
			reqs:    []request{{"a.com", "/x", "hostprefix"}, {"b.com", "/x", "anyexact"}},
		},
		{
			desc:    "fallthrough to lower host tiers",
			entries: []Entry[string]{e("exact", "a.com", "/x"), e("wild", "*.com", "/y"), e("regex", "~com$", "/z"), e("any", "", "/")},
			reqs: []request{
				{"a.com", "/x", "exact"},
				{"a.com", "/y", "wild"},
				{"a.com", "/z", "regex"},
				{"a.com", "/w", "any"},
				{"b.com", "/x", "any"},
				{"b.com", "/z", "regex"},
				{"b.org", "/z", "any"},
			},
		},
		{
			desc:    "fallthrough without any-host location misses",
			entries: []Entry[string]{e("exact", "a.com", "/x")},
			reqs:    []request{{"a.com", "/y", ""}, {"b.com", "/x", ""}},
		},
		{
			desc:    "host normalization: port, case, trailing dot, IPv6",
			entries: []Entry[string]{e("a", "a.com", ""), e("w", "*.b.com", ""), e("r", "~^c\\.com$", ""), e("v6", "[::1]", ""), e("v4", "127.0.0.1", "")},
			reqs: []request{
				{"a.com:8080", "/", "a"},
				{"A.Com", "/", "a"},
				{"a.com.", "/", "a"},
				{"A.COM.:443", "/", "a"},
				{"X.B.COM:80", "/", "w"},
				{"x.b.com.", "/", "w"},
				{"C.com.:1", "/", "r"},
				{"[::1]:8080", "/", "v6"},
				{"[::1]", "/", "v6"},
				{"::1", "/", "v6"},
				{"127.0.0.1:80", "/", "v4"},
				{"a.com..", "/", ""},
			},
		},
		{
			desc:    "patterns are normalized too",
			entries: []Entry[string]{e("a", "A.COM", ""), e("w", "*.B.Com", ""), e("v6", "::2", "")},
			reqs:    []request{{"a.com", "/", "a"}, {"x.b.com", "/", "w"}, {"[::2]:1", "/", "v6"}},
		},
		{
			desc:    "host list ranks by the best pattern for this host",
			entries: []Entry[string]{e("multi", "a.com, *.b.com, ~^r", "/"), e("exact", "x.b.com", "/"), e("wild", "*.a.com", "/"), e("r2", "~^r", "/")},
			reqs: []request{
				{"a.com", "/", "multi"},
				{"x.b.com", "/", "exact"},
				{"y.b.com", "/", "multi"},
				{"r.a.com", "/", "wild"},
				{"rr.org", "/", "multi"},
				{"zz.org", "/", ""},
			},
		},
		{
			desc: "list with exact and wildcard for a listed host ranks exact",
			entries: []Entry[string]{
				e("list", "*.a.com, x.a.com", "/"),
				e("wild", "*.x.a.com, *.a.com", "/longer"),
				e("other", "x.a.com", "/longerstill"),
			},
			reqs: []request{{"x.a.com", "/longerstill", "other"}, {"x.a.com", "/longer", "list"}, {"y.a.com", "/longer", "wild"}},
		},
		{
			desc: "explicit weight overrides host and path priority",
			entries: []Entry[string]{
				e("exact", "a.com", "=/x"),
				ew("heavy", "", "~x", 10),
				ew("light", "", "/", 1),
			},
			reqs: []request{{"a.com", "/x", "heavy"}, {"a.com", "/y", "light"}, {"b.com", "/", "light"}, {"b.com", "", ""}},
		},
		{
			desc: "higher weight first, zero and negative still before unweighted",
			entries: []Entry[string]{
				e("none", "a.com", "=/x"),
				ew("zero", "", "/", 0),
				ew("neg", "", "/", -5),
				ew("pos", "", "/p", 3),
			},
			reqs: []request{{"a.com", "/x", "zero"}, {"a.com", "/p", "pos"}, {"b.com", "/", "zero"}},
		},
		{
			desc: "negative weight before unweighted",
			entries: []Entry[string]{
				e("none", "a.com", "=/x"),
				ew("neg", "", "/", -5),
			},
			reqs: []request{{"a.com", "/x", "neg"}},
		},
		{
			desc: "equal weights fall back to host then path then name",
			entries: []Entry[string]{
				ew("b-any", "", "/", 2),
				ew("a-exact", "a.com", "/", 2),
				ew("c-long", "", "/long", 2),
				ew("d-long", "", "/long", 2),
			},
			reqs: []request{{"a.com", "/long", "a-exact"}, {"b.com", "/long", "c-long"}, {"b.com", "/", "b-any"}},
		},
		{
			desc: "tie broken by name: regexes try in name order",
			entries: []Entry[string]{
				e("b", "", "~^/x"), e("a", "", "~x$"), e("c", "", "~."),
			},
			reqs: []request{{"h", "/x", "a"}, {"h", "/xy", "b"}, {"h", "/y", "c"}},
		},
		{
			desc:    "tie broken by name across host regexes",
			entries: []Entry[string]{e("zz", "~^a", "/"), e("aa", "~com$", "/")},
			reqs:    []request{{"a.com", "/", "aa"}, {"a.org", "/", "zz"}},
		},
		{
			desc:    "regex host sees the normalized host",
			entries: []Entry[string]{e("r", `~^a\.com$`, "")},
			reqs:    []request{{"A.COM:80", "/", "r"}, {"a.com.", "/", "r"}, {"b.a.com", "/", ""}},
		},
		{
			desc: "regex host of an exact-listed host is precomputed",
			entries: []Entry[string]{
				e("exact", "a.com", "/only"), e("regex", "~a", "/"), e("wild", "*.com", "/w"),
			},
			reqs: []request{{"a.com", "/", "regex"}, {"a.com", "/w", "wild"}, {"b.com", "/w", "wild"}, {"b.com", "/", ""}, {"ba.org", "/", "regex"}},
		},
		{
			desc: "wildcard tier merges regex and any-host in order",
			entries: []Entry[string]{
				e("w", "*.a.com", "/w"), e("r", "~^x", "/r"), e("any", "", "/"), e("rexact", "~^x", "=/e"),
			},
			reqs: []request{
				{"x.a.com", "/w", "w"},
				{"x.a.com", "/r", "r"},
				{"x.a.com", "/e", "rexact"},
				{"y.a.com", "/e", "any"},
				{"x.b.com", "/r", "r"},
			},
		},
		{
			desc: "location with wildcard and regex ranks as wildcard when both match",
			entries: []Entry[string]{
				e("both", "*.a.com, ~^x", "/p"), e("rr", "~^x", "/pp"),
			},
			reqs: []request{{"x.a.com", "/pp", "both"}, {"x.b.com", "/pp", "rr"}, {"x.b.com", "/p", "both"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r, err := New(tt.entries)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if r.Len() != len(tt.entries) {
				t.Errorf("Len() = %d, want %d", r.Len(), len(tt.entries))
			}
			for _, req := range tt.reqs {
				got, ok := r.Match(req.host, req.path)
				if ok != (req.want != "") || got != req.want {
					t.Errorf("Match(%q, %q) = %q, %v; want %q\n%s", req.host, req.path, got, ok, req.want, r)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		entries []Entry[string]
		want    []string // substrings of the error
	}{
		{"bad host regex", []Entry[string]{e("ok", "", ""), e("api", "~(", "")}, []string{`location "api": host: `, `invalid regex "~("`}},
		{"bad path regex", []Entry[string]{e("img", "", "~[a-")}, []string{`location "img": path: `, "invalid regex"}},
		{"bad wildcard", []Entry[string]{e("w", "a.*.com", "")}, []string{`location "w": host: `, "a.*.com"}},
		{"bad wildcard: star only", []Entry[string]{e("w", "*", "")}, []string{`location "w": host: `}},
		{"bad wildcard: empty label", []Entry[string]{e("w", "*..com", "")}, []string{`location "w": host: `, `"*..com"`}},
		{"bad wildcard: dot only", []Entry[string]{e("w", "*..", "")}, []string{`location "w": host: `}},
		{"wildcard with port", []Entry[string]{e("w", "*.a.com:80", "")}, []string{`location "w": host: `}},
		{"empty host in list", []Entry[string]{e("l", "a.com,,b.com", "")}, []string{`location "l": host: `, "empty entry"}},
		{"host with port", []Entry[string]{e("p", "a.com:8080", "")}, []string{`location "p": host: `, `"a.com:8080"`}},
		{"host that is only a dot", []Entry[string]{e("d", ".", "")}, []string{`location "d": host: `}},
		{"bad path", []Entry[string]{e("p", "", "api")}, []string{`location "p": path: `}},
		{"bad exact path", []Entry[string]{e("p", "", "=api")}, []string{`location "p": path: `}},
		{"duplicate name", []Entry[string]{e("x", "", "/a"), e("x", "", "/b")}, []string{`location "x": duplicate name`}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r, err := New(tt.entries)
			if err == nil {
				t.Fatalf("New succeeded, want error:\n%s", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWeightIsCopied(t *testing.T) {
	t.Parallel()
	w := weight(5)
	r, err := New([]Entry[string]{{Name: "w", Path: "/", Weight: w, Value: "w"}, e("x", "", "=/x")})
	if err != nil {
		t.Fatal(err)
	}
	*w = -1 // mutating the caller's weight must not change the router
	if got, _ := r.Match("h", "/x"); got != "w" {
		t.Errorf("Match = %q, want w", got)
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"a.com", "a.com"},
		{"a.com:80", "a.com"},
		{"A.COM", "a.com"},
		{"Example.COM:8080", "example.com"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"a.com.", "a.com"},
		{"a.com.:80", "a.com"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[FE80::1]", "fe80::1"},
		{":80", ""},
		{"a.com..", "a.com."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := NormalizeHost(tt.in); got != tt.want {
				t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
