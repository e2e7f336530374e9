package upstream

import (
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"testing"
)

func TestHashKeys(t *testing.T) {
	t.Parallel()
	req := func(target string, header ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Add(header[i], header[i+1])
		}
		return r
	}
	v4 := netip.MustParseAddr("192.0.2.7")
	v4b := v4.As4()
	v6 := netip.MustParseAddr("2001:db8::1")
	v6b := v6.As16()
	tests := []struct {
		desc   string
		algo   string
		r      *http.Request
		ip     netip.Addr
		want   uint64 // when ok
		wantOK bool
	}{
		{desc: "ip v4", algo: "hash:ip", ip: v4, want: mix64(fnvBytes(fnvOffset64, v4b[:])), wantOK: true},
		{desc: "ip v4 mapped in v6 is the v4 key", algo: "hash:ip", ip: netip.MustParseAddr("::ffff:192.0.2.7"), want: mix64(fnvBytes(fnvOffset64, v4b[:])), wantOK: true},
		{desc: "ip v6", algo: "hash:ip", ip: v6, want: mix64(fnvBytes(fnvOffset64, v6b[:])), wantOK: true},
		{desc: "ip invalid", algo: "hash:ip"},

		{desc: "url path and query", algo: "hash:url", r: req("/a/b?x=1&y=2"), want: hashString("/a/b?x=1&y=2"), wantOK: true},
		{desc: "url escaped path", algo: "hash:url", r: req("/a%20b/c%2Fd?q=%41"), want: hashString("/a%20b/c%2Fd?q=%41"), wantOK: true},
		{desc: "url root", algo: "hash:url", r: req("/"), want: hashString("/"), wantOK: true},
		{desc: "url ignores host", algo: "hash:url", r: req("http://example.com/p?q"), want: hashString("/p?q"), wantOK: true},
		{desc: "url empty query kept", algo: "hash:url", r: &http.Request{URL: &url.URL{Path: "/p", ForceQuery: true}}, want: hashString("/p?"), wantOK: true},
		{desc: "url opaque", algo: "hash:url", r: &http.Request{URL: &url.URL{Scheme: "http", Opaque: "/o/p", RawQuery: "x=1"}}, want: hashString("/o/p?x=1"), wantOK: true},

		{desc: "header", algo: "hash:header:X-User", r: req("/", "X-User", "alice"), want: hashString("alice"), wantOK: true},
		{desc: "header name case-insensitive", algo: "hash:header:x-user", r: req("/", "X-USER", "alice"), want: hashString("alice"), wantOK: true},
		{desc: "header first value", algo: "hash:header:X-User", r: req("/", "X-User", "alice", "X-User", "bob"), want: hashString("alice"), wantOK: true},
		{desc: "header missing", algo: "hash:header:X-User", r: req("/", "X-Other", "alice")},
		{desc: "header empty", algo: "hash:header:X-User", r: req("/", "X-User", "")},

		{desc: "cookie", algo: "hash:cookie:session", r: req("/", "Cookie", "a=1; session=abc; b=2"), want: hashString("abc"), wantOK: true},
		{desc: "cookie first", algo: "hash:cookie:session", r: req("/", "Cookie", "session=abc"), want: hashString("abc"), wantOK: true},
		{desc: "cookie quoted", algo: "hash:cookie:session", r: req("/", "Cookie", `x=1;session="abc"`), want: hashString("abc"), wantOK: true},
		{desc: "cookie in second header", algo: "hash:cookie:session", r: req("/", "Cookie", "a=1", "Cookie", "session=abc"), want: hashString("abc"), wantOK: true},
		{desc: "cookie name is exact", algo: "hash:cookie:session", r: req("/", "Cookie", "sessionid=1; Session=2; xsession=3")},
		{desc: "cookie missing", algo: "hash:cookie:session", r: req("/")},
		{desc: "cookie empty", algo: "hash:cookie:session", r: req("/", "Cookie", "session=")},

		{desc: "query", algo: "hash:query:user", r: req("/?x=1&user=bob&y"), want: hashString("bob"), wantOK: true},
		{desc: "query first value", algo: "hash:query:user", r: req("/?user=bob&user=eve"), want: hashString("bob"), wantOK: true},
		{desc: "query unescaped", algo: "hash:query:user", r: req("/?user=b%20o+b"), want: hashString("b o b"), wantOK: true},
		{desc: "query escaped key", algo: "hash:query:user", r: req("/?us%65r=bob"), want: hashString("bob"), wantOK: true},
		{desc: "query missing", algo: "hash:query:user", r: req("/?username=bob")},
		{desc: "query empty", algo: "hash:query:user", r: req("/?user=")},
		{desc: "query semicolon pair skipped", algo: "hash:query:user", r: &http.Request{URL: &url.URL{Path: "/", RawQuery: "a=1;user=bob"}}},
		{desc: "nil request", algo: "hash:query:user"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := newTest(t, tc.algo, addrsN(2)...).balancer.(*hashBalancer)
			got, ok := b.key(tc.r, tc.ip, b.name)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("key = %#x, %v; want %#x, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestHashURLKeyMatchesRequestURI(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/", "/a", "/a/b?c=d", "/%7Euser/x%2Fy?q=1+2&r=%20", "/p?", "/ü?ä=ö"} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		got, _ := hashURLKey(r, noIP, "")
		if want := hashString(r.URL.RequestURI()); got != want {
			t.Errorf("%s: hash differs from hash of RequestURI %q", target, r.URL.RequestURI())
		}
	}
}

// TestHashIsStable pins the hash function and the ring: data planes of
// different versions in one fleet must map a key to the same target, so a
// change here is a breaking change.
func TestHashIsStable(t *testing.T) {
	t.Parallel()
	h := fnv.New64a()
	h.Write([]byte("user-1"))
	if got := fnvString(fnvOffset64, "user-1"); got != h.Sum64() {
		t.Errorf("fnvString = %#x, want FNV-1a %#x", got, h.Sum64())
	}
	for _, tc := range []struct {
		desc      string
		got, want uint64
	}{
		{`hashString("")`, hashString(""), 0xefd01f60ba992926},
		{`hashString("user-1")`, hashString("user-1"), 0x41a2fca5c68401c5},
		{`vnodeHash("10.0.0.1:80", 7)`, vnodeHash("10.0.0.1:80", 7), 0x3f5a57a2f14ea1ae},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.desc, tc.got, tc.want)
		}
	}
	u := newTest(t, "hash:header:X-Key", addrsN(5)...)
	got := assign(t, u, []string{"alice", "bob", "carol", "dave", "erin", "frank"})
	want := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:80", "10.0.0.3:80", "10.0.0.4:80"}
	if !slices.Equal(got, want) {
		t.Errorf("keys map to %v, want %v", got, want)
	}
}
