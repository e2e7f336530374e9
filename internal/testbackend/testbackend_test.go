package testbackend

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New("t1"))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func TestEchoRequest(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	backend := "t1@" + srv.Listener.Addr().String()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/some/path%2Fx?a=1&b=2", strings.NewReader("hello"))
	req.Host = "api.example.com"
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get(HeaderBackend); got != backend {
		t.Errorf("X-Backend = %q, want %q", got, backend)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var e Echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	want := Echo{Backend: backend, Method: "POST", Path: "/some/path%2Fx", RawQuery: "a=1&b=2", Host: "api.example.com", BodyBytes: 5}
	if e.Backend != want.Backend || e.Method != want.Method || e.Path != want.Path || e.RawQuery != want.RawQuery || e.Host != want.Host || e.BodyBytes != want.BodyBytes {
		t.Errorf("echo = %+v, want %+v", e, want)
	}
	if got := e.Headers["X-Multi"]; got != "one, two" {
		t.Errorf("headers[X-Multi] = %q, want %q", got, "one, two")
	}
	if !strings.HasPrefix(e.RemoteAddr, "127.0.0.1:") {
		t.Errorf("remote_addr = %q", e.RemoteAddr)
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		desc     string
		method   string
		path     string
		body     string
		ctype    string
		wantCode int
		wantBody string // exact body when not empty
		wantLen  int    // body length when >= 0
		minTime  time.Duration
	}{
		{desc: "delay", method: "GET", path: "/delay/80ms", wantCode: 200, wantLen: -1, minTime: 80 * time.Millisecond},
		{desc: "bad delay", method: "GET", path: "/delay/forever", wantCode: 400, wantLen: -1},
		{desc: "status 418", method: "DELETE", path: "/status/418", wantCode: 418, wantLen: -1},
		{desc: "status 204 has no body", method: "GET", path: "/status/204", wantCode: 204, wantLen: 0},
		{desc: "bad status", method: "GET", path: "/status/99", wantCode: 400, wantLen: -1},
		{desc: "bytes", method: "GET", path: "/bytes/100000", wantCode: 200, wantLen: 100000},
		{desc: "zero bytes", method: "GET", path: "/bytes/0", wantCode: 200, wantLen: 0},
		{desc: "bad bytes", method: "GET", path: "/bytes/-1", wantCode: 400, wantLen: -1},
		{desc: "echo", method: "PUT", path: "/echo", body: `{"k":1}`, ctype: "application/json", wantCode: 200, wantBody: `{"k":1}`, wantLen: 7},
		{desc: "stream", method: "GET", path: "/stream?n=3&interval=1ms", wantCode: 200, wantBody: "chunk 0\nchunk 1\nchunk 2\n", wantLen: -1},
		{desc: "bad stream", method: "GET", path: "/stream?n=x", wantCode: 400, wantLen: -1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			start := time.Now()
			resp, body := do(t, req)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantCode, body)
			}
			if resp.Header.Get(HeaderBackend) == "" {
				t.Error("no X-Backend header")
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			if tc.wantLen >= 0 && len(body) != tc.wantLen {
				t.Errorf("body length %d, want %d", len(body), tc.wantLen)
			}
			if el := time.Since(start); el < tc.minTime {
				t.Errorf("answered after %s, want at least %s", el, tc.minTime)
			}
			if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
		})
	}
}

// TestBytesPattern checks every byte of a /bytes answer longer than one
// pattern block.
func TestBytesPattern(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	_, body := do(t, mustRequest(t, srv.URL+"/bytes/100003"))
	if len(body) != 100003 {
		t.Fatalf("%d bytes, want 100003", len(body))
	}
	for i, c := range body {
		if c != 'a'+byte(i%26) {
			t.Fatalf("byte %d is %q, want %q", i, c, 'a'+byte(i%26))
		}
	}
}

// TestStreamFlushes checks that each chunk reaches the client on its own,
// before the next one is written.
func TestStreamFlushes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	start := time.Now()
	resp, err := http.Get(srv.URL + "/stream?n=3&interval=150ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "chunk 0\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if el := time.Since(start); el > 120*time.Millisecond {
		t.Errorf("first chunk after %s, want before the second is due", el)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "chunk 1\nchunk 2\n" {
		t.Errorf("rest %q", rest)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("stream done after %s, want >= 300ms", el)
	}
}

// syncWriter is a goroutine-safe writer that reports each write.
type syncWriter struct {
	mu    sync.Mutex
	b     strings.Builder
	lines chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.lines <- struct{}{}
	return len(p), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncWriter{lines: make(chan struct{}, 2)}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "multi", []string{"127.0.0.1:0", "127.0.0.1:0"}, out) }()
	for range 2 {
		select {
		case <-out.lines:
		case err := <-done:
			t.Fatalf("Serve returned early: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no listening line")
		}
	}
	var addrs []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		a, ok := strings.CutPrefix(l, "listening on ")
		if !ok || strings.HasSuffix(a, ":0") {
			t.Fatalf("bad line %q", l)
		}
		addrs = append(addrs, a)
	}
	if addrs[0] == addrs[1] {
		t.Fatalf("both listeners on %s", addrs[0])
	}
	for _, a := range addrs {
		resp, body := do(t, mustRequest(t, "http://"+a+"/x"))
		if got, want := resp.Header.Get(HeaderBackend), "multi@"+a; got != want {
			t.Errorf("X-Backend = %q, want %q", got, want)
		}
		var e Echo
		if err := json.Unmarshal(body, &e); err != nil || e.Backend != "multi@"+a {
			t.Errorf("echo backend %q (%v), want multi@%s", e.Backend, err, a)
		}
	}
	// A request in flight when the context ends still completes.
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addrs[0] + "/delay/300ms")
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if code := <-inflight; code != http.StatusOK {
		t.Errorf("in-flight request got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + addrs[1] + "/"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeBindError(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	out := &syncWriter{lines: make(chan struct{}, 4)}
	err := Serve(context.Background(), "x", []string{"127.0.0.1:0", srv.Listener.Addr().String()}, out)
	if err == nil || !strings.Contains(err.Error(), srv.Listener.Addr().String()) {
		t.Fatalf("err = %v, want a bind error naming the address", err)
	}
	if out.String() != "" {
		t.Errorf("printed %q before failing", out.String())
	}
}

func TestParseAddrs(t *testing.T) {
	t.Parallel()
	got, err := ParseAddrs("127.0.0.1:1, 127.0.0.1:2,")
	if err != nil || len(got) != 2 || got[1] != "127.0.0.1:2" {
		t.Errorf("ParseAddrs = %v, %v", got, err)
	}
	for _, bad := range []string{"", " , ", "nohostport"} {
		if _, err := ParseAddrs(bad); err == nil {
			t.Errorf("ParseAddrs(%q) succeeded", bad)
		}
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
