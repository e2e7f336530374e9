package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"testing"
)

func TestTemplateExpand(t *testing.T) {
	t.Parallel()
	// An HTTPS request from a trusted proxy at 10.0.0.1:5555 to
	// 127.0.0.1:8080, on behalf of 1.1.1.1.
	r, _ := http.NewRequest("GET", "http://Example.COM:8080/x", nil)
	r.TLS = &tls.ConnectionState{}
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "1.1.1.1")
	r.Header.Set("X-Tenant", "acme")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b")
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey,
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	ri := newRequestInfo(r, tp)
	tests := []struct {
		desc, in, want string
	}{
		{"plain", "pingap", "pingap"},
		{"empty", "", ""},
		{"host", "$host", "example.com"},
		{"scheme and host", "$scheme://$host/", "https://example.com/"},
		{"remote", "$remote_addr:$remote_port", "10.0.0.1:5555"},
		{"server", "$server_addr:$server_port", "127.0.0.1:8080"},
		{"xff", "$proxy_add_x_forwarded_for", "1.1.1.1, 10.0.0.1"},
		{"header", "t=$http_x_tenant", "t=acme"},
		{"multi header", "$http_x_multi", "a, b"},
		{"missing header", "[$http_x_none]", "[]"},
		{"unknown var kept", "$nope and $host", "$nope and example.com"},
		{"lone dollar", "cost $", "cost $"},
		{"dollar digit", "$1", "$1"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tpl := compileTemplate(tt.in)
			if got := tpl.expand(&ri); got != tt.want {
				t.Fatalf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRemoveHopHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Connection", "keep-alive, X-Secret")
	h.Set("X-Secret", "1")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("Transfer-Encoding", "chunked")
	h.Set("Upgrade", "websocket")
	h.Set("Te", "trailers")
	h.Set("Proxy-Authorization", "Basic x")
	h.Set("X-Keep", "yes")
	RemoveHopHeaders(h)
	if len(h) != 1 || h.Get("X-Keep") != "yes" {
		t.Fatalf("after removal: %v, want only X-Keep", h)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer ignores xff", "8.8.8.8", []string{"1.2.3.4"}, "8.8.8.8"},
		{"trusted peer, one hop", "10.1.1.1", []string{"1.2.3.4"}, "1.2.3.4"},
		{"trusted chain skipped", "10.1.1.1", []string{"1.2.3.4, 192.168.1.1", "10.9.9.9"}, "1.2.3.4"},
		{"spoofed left part ignored", "10.1.1.1", []string{"6.6.6.6, 5.5.5.5"}, "5.5.5.5"},
		{"garbage stops the walk", "10.1.1.1", []string{"bogus, 10.2.2.2"}, "10.2.2.2"},
		{"trusted peer without xff", "192.168.1.1", nil, "192.168.1.1"},
		{"all trusted", "10.1.1.1", []string{"10.2.2.2"}, "10.2.2.2"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := tp.ClientIP(netip.MustParseAddr(tt.peer), tt.xff)
			if got.String() != tt.want {
				t.Fatalf("ClientIP(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("bad CIDR accepted")
	}
}

func TestCleanPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/a/b", "/a/b"},
		{"/a//b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/public/../admin", "/admin"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/a/b/", "/a/b/"},
		{"/a/b/..", "/a/"},
		{"", "/"},
		{"x", "/x"},
		{"/", "/"},
	}
	for _, tt := range tests {
		if got := cleanPath(tt.in); got != tt.want {
			t.Errorf("cleanPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !needsClean(tt.in) && tt.in != tt.want {
			t.Errorf("needsClean(%q) = false, but it cleans to %q", tt.in, tt.want)
		}
	}
}

// Scanning a header's tokens (Connection on every HTTP/1.1 request, Te,
// Trailer) allocates nothing. Not parallel: testing.AllocsPerRun refuses
// to run in parallel tests.
func TestHeaderHasTokenDoesNotAllocate(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive, X-Hop"}}
	if !headerHasToken(h, "Connection", "x-hop") || headerHasToken(h, "Connection", "upgrade") {
		t.Fatal("headerHasToken misread Connection: keep-alive, X-Hop")
	}
	if n := testing.AllocsPerRun(100, func() { headerHasToken(h, "Connection", "upgrade") }); n != 0 {
		t.Errorf("headerHasToken allocates %v times per call, want 0", n)
	}
}
