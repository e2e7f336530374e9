package cache

import (
	"net/http"
	"testing"
)

func TestParseCacheControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want directives
	}{
		{nil, directives{maxAge: -1, sMaxAge: -1}},
		{[]string{"max-age=60, public"}, directives{maxAge: 60, sMaxAge: -1, public: true}},
		{[]string{"Max-Age=60", "S-MAXAGE=\"5\""}, directives{maxAge: 60, sMaxAge: 5}},
		{[]string{`no-cache="Set-Cookie, X-A", max-age=9`}, directives{noCache: true, maxAge: 9, sMaxAge: -1}},
		{[]string{"private, no-store, must-revalidate, only-if-cached"}, directives{private: true, noStore: true,
			mustRevalidate: true, onlyIfCached: true, maxAge: -1, sMaxAge: -1}},
		{[]string{"max-age=abc"}, directives{maxAge: 0, sMaxAge: -1}},
		{[]string{"max-age=-5"}, directives{maxAge: 0, sMaxAge: -1}},
		{[]string{"max-age=99999999999999999999"}, directives{maxAge: maxDelta, sMaxAge: -1}},
		{[]string{"max-age=10, max-age=20"}, directives{maxAge: 10, sMaxAge: -1}},
		{[]string{" , ,max-age=3,"}, directives{maxAge: 3, sMaxAge: -1}},
	}
	for _, tt := range tests {
		if got := parseCacheControl(tt.in); got != tt.want {
			t.Errorf("parseCacheControl(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestEtagListMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list, etag string
		want       bool
	}{
		{`"a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`"a"`, `W/"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`"b",W/"a"`, `"a"`, true},
		{`*`, `"x"`, true},
		{`"ab"`, `"a"`, false},
		{`"a`, `"a"`, false},
		{`a`, `"a"`, false},
		{``, `"a"`, false},
		{`"a,b"`, `"a,b"`, true},
	}
	for _, tt := range tests {
		if got := etagListMatches(tt.list, tt.etag); got != tt.want {
			t.Errorf("etagListMatches(%q, %q) = %v", tt.list, tt.etag, got)
		}
	}
}

func TestVaryNames(t *testing.T) {
	t.Parallel()
	names, ok := varyNames(http.Header{"Vary": {"accept-encoding, Origin", "Accept-Encoding"}})
	if !ok || len(names) != 2 || names[0] != "Accept-Encoding" || names[1] != "Origin" {
		t.Errorf("varyNames = %q %v", names, ok)
	}
	if _, ok := varyNames(http.Header{"Vary": {"Origin, *"}}); ok {
		t.Error("Vary: * accepted")
	}
}

func TestStoredHeader(t *testing.T) {
	t.Parallel()
	h := storedHeader(http.Header{"Connection": {"X-Hop"}, "X-Hop": {"1"}, "Keep-Alive": {"t"}, "Transfer-Encoding": {"chunked"},
		"Age": {"3"}, "X-Cache": {"HIT"}, "X-Kept": {"a", "b"}})
	if len(h) != 1 || len(h["X-Kept"]) != 2 {
		t.Fatalf("storedHeader = %v", h)
	}
	if cap(h["X-Kept"]) != 2 {
		t.Errorf("stored values not clipped: cap %d", cap(h["X-Kept"]))
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a,b", s-maxage=3`, `"`, `\`, "max-age=", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseCacheControl([]string{s})
		if d.maxAge < -1 || d.maxAge > maxDelta || d.sMaxAge < -1 || d.sMaxAge > maxDelta {
			t.Fatalf("%q: out of range %+v", s, d)
		}
		_ = etagListMatches(s, `"x"`)
	})
}
