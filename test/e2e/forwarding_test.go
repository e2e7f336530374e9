package e2e

import (
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
)

// TestForwarding checks what the proxy sends upstream: the rewritten path
// with its query kept, proxy_set/add/remove headers with variables,
// hop-by-hop header removal, and X-Forwarded-* / X-Real-IP for an untrusted
// client (127.0.0.1) and a trusted one (127.0.0.2).
func TestForwarding(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "f", 1)
	d := newDataplane(t)
	listen := freeAddr(t)
	_, listenPort, _ := net.SplitHostPort(listen)
	d.write(d.settings(`trusted_proxies = ["127.0.0.2"]`) +
		serverTOML("main", listen, "rw", "hdr", "plain") + `
[locations.rw]
path = "/api"
upstream = "up"
rewrite = "^/api/(.*)$ /v1/$1"

[locations.hdr]
path = "/hdr"
upstream = "up"
proxy_set_headers = [
  "X-Set:fixed",
  "X-Replace:new",
  "X-Host:$host",
  "X-Scheme:$scheme",
  "X-Remote:$remote_addr",
  "X-Rport:$remote_port",
  "X-Server:$server_addr $server_port",
  "X-Custom-Copy:$http_x_custom",
  "X-Chain:$proxy_add_x_forwarded_for",
]
proxy_add_headers = ["X-Multi:added", "X-Added:one"]
proxy_remove_headers = ["X-Remove-Me"]

[locations.plain]
path = "/"
upstream = "up"

` + upstreamTOML("up", "", be.addrs[0]))
	d.start()
	base := "http://" + listen

	t.Run("rewrite keeps the query", func(t *testing.T) {
		for _, tc := range []struct{ path, query, wantPath string }{
			{"/api/users/42", "x=1&y=two", "/v1/users/42"},
			{"/api/", "", "/v1/"},
			{"/api", "k=v", "/api"}, // the prefix matches, the rewrite regex does not
		} {
			url := base + tc.path
			if tc.query != "" {
				url += "?" + tc.query
			}
			res := mustSend(t, d.client, req{url: url})
			if res.Code != http.StatusOK {
				t.Fatalf("%s: status %d %q", url, res.Code, res.Body)
			}
			e := res.echo(t)
			if e.Path != tc.wantPath || e.RawQuery != tc.query {
				t.Errorf("%s: backend saw path %q query %q, want %q %q", url, e.Path, e.RawQuery, tc.wantPath, tc.query)
			}
		}
	})

	t.Run("set add remove headers with variables", func(t *testing.T) {
		var mu sync.Mutex
		var local string
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			mu.Lock()
			defer mu.Unlock()
			local = info.Conn.LocalAddr().String()
		}}
		res := mustSend(t, d.client, req{url: base + "/hdr?q=1", host: "hdr.test", trace: trace, header: http.Header{
			"X-Replace":   {"old"},
			"X-Multi":     {"orig"},
			"X-Remove-Me": {"yes"},
			"X-Custom":    {"hello"},
		}})
		if res.Code != http.StatusOK {
			t.Fatalf("status %d %q", res.Code, res.Body)
		}
		mu.Lock()
		_, clientPort, _ := net.SplitHostPort(local)
		mu.Unlock()
		h := res.echo(t).Headers
		want := map[string]string{
			"X-Set":         "fixed",
			"X-Replace":     "new",
			"X-Host":        "hdr.test",
			"X-Scheme":      "http",
			"X-Remote":      "127.0.0.1",
			"X-Rport":       clientPort,
			"X-Server":      "127.0.0.1 " + listenPort,
			"X-Custom-Copy": "hello",
			"X-Custom":      "hello",
			"X-Chain":       "127.0.0.1",
			"X-Multi":       "orig, added",
			"X-Added":       "one",
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("backend saw %s: %q, want %q", k, h[k], v)
			}
		}
		if v, ok := h["X-Remove-Me"]; ok {
			t.Errorf("X-Remove-Me forwarded: %q", v)
		}
	})

	t.Run("proxy_add_x_forwarded_for from a trusted proxy", func(t *testing.T) {
		c := clientFrom("127.0.0.2")
		defer c.CloseIdleConnections()
		res := mustSend(t, c, req{url: base + "/hdr", header: http.Header{"X-Forwarded-For": {"1.2.3.4"}}})
		if got := res.echo(t).Headers["X-Chain"]; got != "1.2.3.4, 127.0.0.2" {
			t.Errorf("$proxy_add_x_forwarded_for = %q, want %q", got, "1.2.3.4, 127.0.0.2")
		}
	})

	t.Run("hop-by-hop headers removed", func(t *testing.T) {
		res := mustSend(t, d.client, req{url: base + "/", header: http.Header{
			"Connection":       {"X-Hop"},
			"X-Hop":            {"1"},
			"Keep-Alive":       {"timeout=5"},
			"Proxy-Connection": {"keep-alive"},
			"X-End-To-End":     {"kept"},
		}})
		h := res.echo(t).Headers
		for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Connection"} {
			if v, ok := h[k]; ok {
				t.Errorf("hop-by-hop header %s forwarded: %q", k, v)
			}
		}
		if strings.Contains(strings.ToLower(h["Connection"]), "x-hop") {
			t.Errorf("Connection forwarded as %q", h["Connection"])
		}
		if h["X-End-To-End"] != "kept" {
			t.Errorf("X-End-To-End = %q, want kept", h["X-End-To-End"])
		}
	})

	t.Run("untrusted client: X-Forwarded-For replaced", func(t *testing.T) {
		res := mustSend(t, d.client, req{url: base + "/", host: "fwd.test", header: http.Header{
			"X-Forwarded-For": {"1.2.3.4"},
			"X-Real-Ip":       {"9.9.9.9"},
		}})
		h := res.echo(t).Headers
		for k, v := range map[string]string{
			"X-Forwarded-For":   "127.0.0.1",
			"X-Real-Ip":         "127.0.0.1",
			"X-Forwarded-Proto": "http",
			"X-Forwarded-Host":  "fwd.test",
		} {
			if h[k] != v {
				t.Errorf("backend saw %s: %q, want %q", k, h[k], v)
			}
		}
	})

	t.Run("trusted proxy: X-Forwarded-For appended", func(t *testing.T) {
		c := clientFrom("127.0.0.2")
		defer c.CloseIdleConnections()
		for _, tc := range []struct {
			in   []string
			want string
		}{
			{nil, "127.0.0.2"},
			{[]string{"1.2.3.4"}, "1.2.3.4, 127.0.0.2"},
			{[]string{"1.2.3.4", "5.6.7.8"}, "1.2.3.4, 5.6.7.8, 127.0.0.2"},
		} {
			hdr := http.Header{}
			for _, v := range tc.in {
				hdr.Add("X-Forwarded-For", v)
			}
			res := mustSend(t, c, req{url: base + "/", host: "fwd.test", header: hdr})
			e := res.echo(t)
			if !strings.HasPrefix(e.RemoteAddr, "127.0.0.1:") {
				t.Fatalf("backend remote_addr %q", e.RemoteAddr)
			}
			h := e.Headers
			if h["X-Forwarded-For"] != tc.want {
				t.Errorf("incoming XFF %q: backend saw %q, want %q", tc.in, h["X-Forwarded-For"], tc.want)
			}
			if h["X-Forwarded-Proto"] != "http" || h["X-Forwarded-Host"] != "fwd.test" {
				t.Errorf("X-Forwarded-Proto %q Host %q, want http fwd.test", h["X-Forwarded-Proto"], h["X-Forwarded-Host"])
			}
			// The real client is the last address the trusted proxy
			// forwarded, or the proxy itself when it forwarded none.
			wantIP := "127.0.0.2"
			if len(tc.in) > 0 {
				wantIP = tc.in[len(tc.in)-1]
			}
			if ip := h["X-Real-Ip"]; ip != wantIP && ip != "127.0.0.2" {
				t.Errorf("incoming XFF %q: X-Real-IP %q, want %q (or the trusted peer 127.0.0.2)", tc.in, ip, wantIP)
			}
		}
	})
}
