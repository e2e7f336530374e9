package directory

import (
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAcceptedCodings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"identity"}, nil},
		{[]string{"gzip"}, []string{"gzip"}},
		{[]string{"GZIP"}, []string{"gzip"}},
		{[]string{"x-gzip"}, []string{"gzip"}},
		{[]string{"br, gzip"}, []string{"br", "gzip"}},
		{[]string{"gzip, br"}, []string{"br", "gzip"}},
		{[]string{"gzip;q=1.0, br;q=0.9"}, []string{"gzip", "br"}},
		{[]string{"gzip", "br;q=0.5"}, []string{"gzip", "br"}},
		{[]string{"br;q=0"}, nil},
		{[]string{"br; q=0.000, gzip"}, []string{"gzip"}},
		{[]string{"*"}, []string{"br", "gzip"}},
		{[]string{"*;q=0"}, nil},
		{[]string{"*;q=0, gzip"}, []string{"gzip"}},
		{[]string{"*, gzip;q=0"}, []string{"br"}},
		{[]string{"*;q=0.5, gzip"}, []string{"gzip", "br"}},
		{[]string{"br;q=nope, gzip"}, []string{"gzip"}},
		{[]string{"br;q=2, gzip"}, []string{"gzip"}},
		{[]string{"deflate, compress"}, nil},
		{[]string{" , ;q=1, br ; Q=0.3 "}, []string{"br"}},
	}
	for _, tt := range tests {
		order, n := acceptedCodings(tt.in)
		var got []string
		for _, i := range order[:n] {
			got = append(got, codings[i].token)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("acceptedCodings(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLocalName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, raw, want string
		ok              bool
	}{
		{"/", "", ".", true},
		{"", "", ".", true},
		{"/a/b.html", "", "a/b.html", true},
		{"//etc/passwd", "", "etc/passwd", true},
		{"/a/./b/", "", "a/b", true},
		{"/a/../b", "", "b", true},
		{"/..", "", "", false},
		{"/a/../../x", "", "", false},
		{"/../../etc/passwd", "/..%2f..%2fetc/passwd", "", false},
		{"/a/b", "/a%2Fb", "", false},
		{"/a\\b", "/a%5cb", "", false},
		{"/a\x00b", "/a%00b", "", false},
		{"a", "", "", false},
	}
	for _, tt := range tests {
		got, ok := localName(tt.path, tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("localName(%q, %q) = %q %v, want %q %v", tt.path, tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

// Whatever the path, an accepted name stays under the root.
func FuzzLocalName(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/../x", "//etc", "/a\\..\\b", "/.%2e/", "/a/b/../../.."} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, p, raw string) {
		name, ok := localName(p, raw)
		if !ok {
			return
		}
		if name != path.Clean(name) || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
			slices.Contains(strings.Split(name, "/"), "..") {
			t.Fatalf("localName(%q) = %q", p, name)
		}
		root := filepath.FromSlash("/srv/root")
		if j := filepath.Join(root, filepath.FromSlash(name)); j != root && !strings.HasPrefix(j, root+string(filepath.Separator)) {
			t.Fatalf("localName(%q) = %q leaves the root: %s", p, name, j)
		}
	})
}
