package e2e

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// okBackend reads the whole body and answers 200 "ok".
func okBackend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("ok\n"))
	})
}

// pathRecorder is okBackend recording the paths of the requests it saw.
type pathRecorder struct {
	mu    sync.Mutex
	paths map[string]int
}

func (p *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.paths == nil {
		p.paths = map[string]int{}
	}
	p.paths[r.URL.Path]++
	p.mu.Unlock()
	okBackend().ServeHTTP(w, r)
}

// saw is how many requests for path the backend saw.
func (p *pathRecorder) saw(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paths[path]
}

// rawConn is a client connection driven by hand.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn { return dialRawTLS(t, addr, nil) }

// dialRawTLS is dialRaw over TLS when cfg is not nil.
func dialRawTLS(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		tc := tls.Client(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			_ = c.Close()
			t.Fatalf("TLS handshake: %v", err)
		}
		_ = tc.SetDeadline(time.Time{})
		c = tc
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes raw and reads one response (body included) within timeout.
func (rc *rawConn) send(raw string, timeout time.Duration) (*http.Response, string, error) {
	_ = rc.c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(rc.c, raw); err != nil {
		return nil, "", err
	}
	return rc.read(timeout)
}

func (rc *rawConn) read(timeout time.Duration) (*http.Response, string, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

// closedAfter reports whether the server closes the connection (EOF or
// reset, no more bytes) within timeout, and what it still sent.
func (rc *rawConn) closedAfter(timeout time.Duration) (bool, string) {
	_ = rc.c.SetReadDeadline(time.Now().Add(timeout))
	rest, err := io.ReadAll(rc.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, string(rest)
	}
	return true, string(rest)
}

// TestSlowloris checks read_header_timeout against a client trickling its
// header one byte every 100 ms: it is cut off while another client is
// served normally meanwhile.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	be := startLocal(t, okBackend(), localOpts{})
	d := newDataplane(t)
	listen := freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "all") + "read_header_timeout = \"1s\"\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addr))
	d.start()

	slow := dialRaw(t, listen)
	if _, err := io.WriteString(slow.c, "GET /slow HTTP/1.1\r\nHost: slow\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop := make(chan struct{})
	var wrote atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = slow.c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := slow.c.Write([]byte("a")); err != nil {
				return
			}
			wrote.Add(1)
		}
	})
	var served atomic.Int64
	wg.Go(func() {
		c := newClient()
		defer c.CloseIdleConnections()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if res, err := send(t.Context(), c, req{url: "http://" + listen + "/fast"}); err == nil && res.Code == http.StatusOK {
				served.Add(1)
			} else {
				t.Errorf("the other client: %v %d", err, res.Code)
			}
		}
	})
	closed, rest := slow.closedAfter(10 * time.Second)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if !closed {
		t.Fatalf("the trickling client was still connected after %s (%d bytes trickled)", took, wrote.Load())
	}
	t.Logf("trickling client cut off after %s, %d bytes trickled, got %q; the other client was served %d times meanwhile",
		took, wrote.Load(), rest, served.Load())
	if took < 500*time.Millisecond {
		t.Errorf("cut off after %s, before read_header_timeout", took)
	}
	if served.Load() < 3 {
		t.Errorf("the other client was served %d times while the slow one trickled", served.Load())
	}
	if strings.Contains(rest, "200 OK") || be.requests.Load() != served.Load() {
		t.Errorf("the trickled request reached the backend: %q, backend saw %d requests, the other client %d",
			rest, be.requests.Load(), served.Load())
	}
}

// TestRequestSmuggling sends ambiguous or malformed requests over raw
// connections, plain and TLS (HTTP/1.1 by ALPN): each gets 400, the connection is closed (what follows is
// never read as a request), and the backend sees none of them.
func TestRequestSmuggling(t *testing.T) {
	t.Parallel()
	var rec pathRecorder
	be := startLocal(t, &rec, localOpts{})
	ca := newCA(t, "e2e smuggling ca")
	d := newDataplane(t)
	listen, secure := freeAddr(t), freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "all") +
		"[servers.secure]\naddr = " + tomlString(secure) + "\nlocations = [\"all\"]\ncertificates = [\"s\"]\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addr) +
		certTOML("s", ca.issue("s", "smuggle.test")))
	d.start()
	transports := []struct {
		name string
		addr string
		tls  *tls.Config
	}{
		{"plain", listen, nil},
		{"tls", secure, ca.clientConfig("smuggle.test", "http/1.1")},
	}

	// Each request (its path names the case) is followed by a second one
	// that a lenient parser would read as a request of its own.
	cases := []struct{ path, desc, head, body string }{
		{"/cl-te", "Content-Length and Transfer-Encoding",
			"POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
		{"/te-cl", "Transfer-Encoding and Content-Length",
			"POST /te-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n", "0\r\n\r\n"},
		{"/cl-cl-diff", "duplicate Content-Length, different values",
			"POST /cl-cl-diff HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n", "hello!"},
		{"/cl-cl-same", "duplicate Content-Length, identical values",
			"POST /cl-cl-same HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n", "hello"},
		{"/te-chunked-identity", "Transfer-Encoding: chunked, identity",
			"POST /te-chunked-identity HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n", "5\r\nhello\r\n0\r\n\r\n"},
		{"/te-space", "space before colon in Transfer-Encoding",
			"POST /te-space HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"},
		{"/cl-space", "space before colon in Content-Length",
			"POST /cl-space HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n", "hello"},
		{"/bad-name", "invalid header name",
			"GET /bad-name HTTP/1.1\r\nHost: x\r\nX@Bad: 1\r\n", ""},
		{"/name-space", "header name with a space",
			"GET /name-space HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\n", ""},
		{"/chunk-zz", "bad chunk size",
			"POST /chunk-zz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"},
		{"/chunk-0x", "chunk size with 0x prefix",
			"POST /chunk-0x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", "0x5\r\nhello\r\n0\r\n\r\n"},
		{"/cl-sign", "Content-Length with a sign",
			"POST /cl-sign HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n", "hello"},
	}
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(tr.name+"/"+tc.desc, func(t *testing.T) {
				path := "/" + tr.name + tc.path
				rc := dialRawTLS(t, tr.addr, tr.tls)
				head := strings.Replace(tc.head, tc.path, path, 1)
				smuggled := "GET " + path + "/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
				resp, body, err := rc.send(head+"\r\n"+tc.body+smuggled, 5*time.Second)
				if err != nil {
					t.Errorf("no response: %v", err)
				} else if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("answered %d %q, want 400", resp.StatusCode, body)
				}
				if closed, rest := rc.closedAfter(2 * time.Second); !closed || rest != "" {
					t.Errorf("after the answer the connection stayed open (%v) or answered more: %q", !closed, rest)
				}
				if n, m := rec.saw(path), rec.saw(path+"/smuggled"); n+m != 0 {
					t.Errorf("the backend saw the request %d times and the smuggled one %d times", n, m)
				}
			})
		}

		t.Run(tr.name+"/a valid request reaches the backend", func(t *testing.T) {
			rc := dialRawTLS(t, tr.addr, tr.tls)
			path := "/" + tr.name + "/valid"
			resp, body, err := rc.send("POST "+path+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 5*time.Second)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%v %v %q", err, resp, body)
			}
			if n := rec.saw(path); n != 1 {
				t.Errorf("the backend saw %d requests, want 1", n)
			}
		})
	}

	// Late arrivals: nothing of the rejected requests reached the backend
	// after their case ended either.
	time.Sleep(200 * time.Millisecond)
	for _, tr := range transports {
		for _, tc := range cases {
			path := "/" + tr.name + tc.path
			if n, m := rec.saw(path), rec.saw(path+"/smuggled"); n+m != 0 {
				t.Errorf("%s %s: in the end the backend saw the request %d times and the smuggled one %d times", tr.name, tc.desc, n, m)
			}
		}
	}
}

// TestConnectionLimits checks max_header_count (431), max_connections (a
// 503 refusal, a slot freed when a connection closes) and read_body_timeout
// (408 for a stalled body).
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	be := startLocal(t, okBackend(), localOpts{})
	d := newDataplane(t)
	headers, conns, body := freeAddr(t), freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		serverTOML("headers", headers, "all") + "max_header_count = 10\nenabled_h2 = true\n\n" +
		serverTOML("conns", conns, "all") + "max_connections = 2\n\n" +
		serverTOML("body", body, "all") + "read_body_timeout = \"500ms\"\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addr))
	d.start()

	t.Run("max_header_count", func(t *testing.T) {
		for _, h2 := range []bool{false, true} {
			for _, tc := range []struct{ n, want int }{{3, http.StatusOK}, {20, http.StatusRequestHeaderFieldsTooLarge}} {
				h := http.Header{}
				for i := range tc.n {
					h.Set("X-H"+strings.Repeat("x", i), "v")
				}
				c := newClient()
				if h2 {
					c = h2cClient()
				}
				res := mustSend(t, c, req{url: "http://" + headers + "/", header: h})
				c.CloseIdleConnections()
				if res.Code != tc.want {
					t.Errorf("h2c=%v, %d extra headers: %d %q, want %d", h2, tc.n, res.Code, res.Body, tc.want)
				}
			}
		}
	})

	t.Run("max_connections", func(t *testing.T) {
		const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		held := []*rawConn{dialRaw(t, conns), dialRaw(t, conns)}
		for i, rc := range held {
			if resp, _, err := rc.send(get, 5*time.Second); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("connection %d under the limit: %v %v", i, err, resp)
			}
		}
		over := dialRaw(t, conns)
		resp, msg, err := over.read(5 * time.Second)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("connection over the limit: %v %v, want a 503 refusal", err, resp)
		} else {
			t.Logf("refusal: %d %q", resp.StatusCode, msg)
		}
		if closed, rest := over.closedAfter(5 * time.Second); !closed || rest != "" {
			t.Errorf("after the refusal the connection stayed open (%v) or sent bytes past the response's Content-Length: %q", !closed, rest)
		}
		// The held connections still work.
		if resp, _, err := held[1].send(get, 5*time.Second); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("held connection after the refusal: %v %v", err, resp)
		}
		// Closing one frees its slot.
		_ = held[0].c.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			rc := dialRaw(t, conns)
			resp, _, err := rc.send(get, 5*time.Second)
			_ = rc.c.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no connection served 5s after one of the two closed: %v %v", err, resp)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("read_body_timeout", func(t *testing.T) {
		rc := dialRaw(t, body)
		start := time.Now()
		resp, msg, err := rc.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 10*time.Second)
		if err != nil {
			t.Fatalf("stalled body: no response after %s: %v", time.Since(start), err)
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("stalled body: %d %q, want 408", resp.StatusCode, msg)
		}
		t.Logf("stalled body answered %d after %s", resp.StatusCode, time.Since(start))
		// A body sent in time is fine.
		rc = dialRaw(t, body)
		if resp, msg, err := rc.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 5*time.Second); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("body in time: %v %v %q", err, resp, msg)
		}
	})
}
