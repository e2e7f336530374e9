package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbin"
)

// TestErrorAnswers checks the proxy's own answers: 413 for a body over
// client_max_body_size (with and without Content-Length), 502 when the
// target refuses the connection, 504 when it answers after read_timeout,
// 400 for a malformed request. Their bodies never name an upstream address.
func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "e", 1)
	dead := testbin.DeadAddr(t) // refuses connections
	d := newDataplane(t)
	listen := freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "small", "dead", "slow", "ok") + `
[locations.small]
path = "/small"
upstream = "up"
client_max_body_size = "1kb"

[locations.dead]
path = "/dead"
upstream = "dead"

[locations.slow]
path = "/delay"
upstream = "slow"

[locations.ok]
path = "/"
upstream = "up"

` + upstreamTOML("up", "", be.addrs[0]) + upstreamTOML("dead", "", dead) +
		upstreamTOML("slow", "", be.addrs[0]) + "read_timeout = \"300ms\"\n")
	d.start()
	base := "http://" + listen

	noAddr := func(t *testing.T, res result) {
		t.Helper()
		for _, a := range []string{be.addrs[0], dead, "127.0.0.1:"} {
			if bytes.Contains(res.Body, []byte(a)) {
				t.Errorf("%d body %q names an upstream address", res.Code, res.Body)
			}
		}
	}

	t.Run("413 body over client_max_body_size", func(t *testing.T) {
		for _, tc := range []struct {
			desc     string
			size     int
			chunked  bool
			wantCode int
		}{
			{"under the limit", 1000, false, http.StatusOK},
			{"at the limit", 1024, false, http.StatusOK},
			{"over the limit", 1025, false, http.StatusRequestEntityTooLarge},
			{"far over the limit", 200 << 10, false, http.StatusRequestEntityTooLarge},
			{"chunked under the limit", 1000, true, http.StatusOK},
			{"chunked over the limit", 5000, true, http.StatusRequestEntityTooLarge},
		} {
			cl := int64(tc.size)
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("x"), tc.size))
			if tc.chunked {
				cl = -1
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			// A fresh client each time: the proxy may close the connection
			// after a 413 whose body it did not read.
			c := newClient()
			res, err := send(t.Context(), c, req{method: "POST", url: base + "/small/upload", body: body, contentLength: cl})
			c.CloseIdleConnections()
			if err != nil {
				t.Fatalf("%s: %v", tc.desc, err)
			}
			if res.Code != tc.wantCode {
				t.Errorf("%s (%d bytes): status %d %q, want %d", tc.desc, tc.size, res.Code, res.Body, tc.wantCode)
				continue
			}
			if tc.wantCode == http.StatusOK {
				if e := res.echo(t); e.BodyBytes != int64(tc.size) {
					t.Errorf("%s: backend read %d bytes, want %d", tc.desc, e.BodyBytes, tc.size)
				}
			} else {
				noAddr(t, res)
			}
		}
	})

	t.Run("502 target refuses", func(t *testing.T) {
		res := get(t, d.client, base, "", "/dead/x")
		if res.Code != http.StatusBadGateway || string(res.Body) != "bad gateway\n" {
			t.Fatalf("got %d %q, want 502 %q", res.Code, res.Body, "bad gateway\n")
		}
		noAddr(t, res)
	})

	t.Run("504 upstream read_timeout", func(t *testing.T) {
		start := time.Now()
		res := get(t, d.client, base, "", "/delay/2s")
		el := time.Since(start)
		if res.Code != http.StatusGatewayTimeout || string(res.Body) != "gateway timeout\n" {
			t.Fatalf("got %d %q after %s, want 504 %q", res.Code, res.Body, el, "gateway timeout\n")
		}
		if el < 250*time.Millisecond || el > 1500*time.Millisecond {
			t.Errorf("504 after %s, want about read_timeout (300ms)", el)
		}
		noAddr(t, res)
		// Under the timeout the same upstream answers.
		if res := get(t, d.client, base, "", "/delay/10ms"); res.Code != http.StatusOK || res.backend() != be.id(0) {
			t.Errorf("/delay/10ms: got %d from %q, want 200", res.Code, res.backend())
		}
	})

	t.Run("400 malformed request, then still serving", func(t *testing.T) {
		for _, raw := range []string{
			"THIS IS NOT HTTP\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: a\r\nBad Header Line\r\n\r\n",
		} {
			rc := dialRaw(t, listen)
			resp, body, err := rc.send(raw, 5*time.Second)
			_ = rc.c.Close()
			if err != nil {
				t.Fatalf("%q: reading response: %v", raw, err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%q: status %d %q, want 400", raw, resp.StatusCode, body)
			}
			if strings.Contains(body, be.addrs[0]) {
				t.Errorf("400 body %q names the upstream", body)
			}
		}
		if res := get(t, d.client, base, "", "/after"); res.Code != http.StatusOK || res.backend() != be.id(0) {
			t.Fatalf("after malformed requests: got %d from %q, want 200", res.Code, res.backend())
		}
		if d.Exited() {
			t.Fatal("pingap exited")
		}
	})
}
