package h1client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeepAliveReuse(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})
	c := New(Options{})
	for i := range 100 {
		resp, body := do(t, c, newRequest(t, "GET", srv.URL+"/x", nil))
		if resp.StatusCode != 200 || body != "hello /x" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	st := c.Stats()
	if st.Dials != 1 || st.Reuses != 99 || st.Idle != 1 {
		t.Fatalf("stats = %+v, want 1 dial, 99 reuses, 1 idle", st)
	}
}

// echo answers with the request's method, target, Host, body length and
// body hash, and echoes the request trailers as response trailers.
func echo(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for k := range r.Trailer {
		w.Header().Add("Trailer", "Echo-"+k)
	}
	w.Header().Set("X-Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
	fmt.Fprintf(w, "%s %s %s %d %x", r.Method, r.RequestURI, r.Host, n, h.Sum(nil))
	for k, v := range r.Trailer {
		w.Header().Set("Echo-"+k, strings.Join(v, ","))
	}
}

func echoLine(method, uri, host string, body []byte) string {
	return fmt.Sprintf("%s %s %s %d %x", method, uri, host, len(body), sha256.Sum256(body))
}

// onlyReader hides everything but Read, so that the body length is unknown.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestBodies(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, echo)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	tests := []struct {
		desc      string
		body      func() io.Reader
		length    int64
		wantCL    string
		wantTE    string
		wantBytes []byte
	}{
		{desc: "none", body: func() io.Reader { return nil }, wantCL: "0"},
		{desc: "small known", body: func() io.Reader { return strings.NewReader("hello") }, length: 5, wantCL: "5", wantBytes: []byte("hello")},
		{desc: "known just under the buffer", body: func() io.Reader { return bytes.NewReader(big[:3000]) }, length: 3000, wantCL: "3000", wantBytes: big[:3000]},
		{desc: "large known", body: func() io.Reader { return bytes.NewReader(big) }, length: int64(len(big)), wantCL: strconv.Itoa(len(big)), wantBytes: big},
		{desc: "small unknown", body: func() io.Reader { return onlyReader{strings.NewReader("hello")} }, length: -1, wantCL: "-1", wantTE: "chunked", wantBytes: []byte("hello")},
		{desc: "large unknown", body: func() io.Reader { return onlyReader{bytes.NewReader(big)} }, length: -1, wantCL: "-1", wantTE: "chunked", wantBytes: big},
		{desc: "empty unknown", body: func() io.Reader { return onlyReader{strings.NewReader("")} }, length: -1, wantCL: "-1", wantTE: "chunked"},
	}
	c := New(Options{})
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, "POST", srv.URL+"/up?q=1", tt.body())
			req.ContentLength = tt.length
			resp, got := do(t, c, req)
			want := echoLine("POST", "/up?q=1", hostOf(srv), tt.wantBytes)
			if resp.StatusCode != 200 || got != want {
				t.Fatalf("got %d %q, want %q", resp.StatusCode, got, want)
			}
			if cl := resp.Header.Get("X-Content-Length"); cl != tt.wantCL {
				t.Errorf("server saw Content-Length %s, want %s", cl, tt.wantCL)
			}
			if te := resp.Header.Get("X-Transfer-Encoding"); te != tt.wantTE {
				t.Errorf("server saw Transfer-Encoding %q, want %q", te, tt.wantTE)
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, echo)
	c := New(Options{MaxIdlePerTarget: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				body := bytes.Repeat([]byte{byte('a' + g)}, (g*977+i*131)%9000)
				req := newRequest(t, "PUT", fmt.Sprintf("%s/g%d/%d", srv.URL, g, i), bytes.NewReader(body))
				resp, err := c.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := echoLine("PUT", fmt.Sprintf("/g%d/%d", g, i), hostOf(srv), body)
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("got %q %v, want %q", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 8 goroutines share a pool of 4 idle connections: connections beyond
	// it are closed on return and redialled later, so the dial count is not
	// exact, but pooling must serve most of the 320 round trips.
	if st := c.Stats(); st.Dials > 80 || st.Idle > 4 || st.Dials+st.Reuses < 320 {
		t.Errorf("stats = %+v, want at most 80 dials, 4 idle and 320 round trips", st)
	}
}

func TestServerConnectionClose(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	c := New(Options{})
	for range 3 {
		resp, body := do(t, c, newRequest(t, "GET", srv.URL, nil))
		if body != "bye" || !resp.Close {
			t.Fatalf("got %q close=%v", body, resp.Close)
		}
	}
	if st := c.Stats(); st.Dials != 3 || st.Idle != 0 {
		t.Fatalf("stats = %+v, want 3 dials and none idle", st)
	}
}

// closeAfterOne answers one request per connection, keeping the connection
// alive in the headers, then closes it after a moment.
func closeAfterOne(served *atomic.Int64) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		n := served.Add(1)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d", n%10)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerClosesIdleConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		dialer     func(context.Context, string, string) (net.Conn, error)
		idle       time.Duration
		wantReuses int64
	}{
		// Idle longer than peekAfter: the peek before reuse sees the EOF.
		{desc: "peek detects", idle: peekAfter + 60*time.Millisecond, wantReuses: 0},
		// Idle briefly: no peek; the closed connection fails before a byte
		// of the GET is sent, which is retried on a new connection.
		{desc: "fresh connection not peeked", idle: 60 * time.Millisecond, wantReuses: 2},
		// No peek possible: the request is written, the target's EOF comes
		// back before any response byte, and a GET is retried on a new
		// connection.
		{desc: "retried without peek", dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			return struct{ net.Conn }{c}, err
		}, idle: peekAfter + 60*time.Millisecond, wantReuses: 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var served atomic.Int64
			s := newScripted(t, closeAfterOne(&served))
			c := New(Options{Dialer: tt.dialer})
			url := "http://" + s.addr() + "/"
			for i := 1; i <= 3; i++ {
				_, body := do(t, c, newRequest(t, "GET", url, nil))
				if body != strconv.Itoa(i) {
					t.Fatalf("request %d: body %q", i, body)
				}
				time.Sleep(tt.idle) // the target closes
			}
			if n := served.Load(); n != 3 {
				t.Fatalf("target served %d requests, want 3", n)
			}
			if st := c.Stats(); st.Dials != 3 || st.Reuses != tt.wantReuses {
				t.Fatalf("stats = %+v, want 3 dials and %d reuses", st, tt.wantReuses)
			}
		})
	}
}

func TestChunkedResponseAndTrailersBothWays(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, echo)
	c := New(Options{})
	body := bytes.Repeat([]byte("x"), 10000)
	req := newRequest(t, "POST", srv.URL+"/t", onlyReader{bytes.NewReader(body)})
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Checksum": nil}
	// Trailer values may be set while the body is read, as net/http allows.
	req.Trailer.Set("X-Checksum", "abc")
	resp, got := do(t, c, req)
	if want := echoLine("POST", "/t", hostOf(srv), body); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 {
		t.Errorf("TransferEncoding %q ContentLength %d, want chunked -1", resp.TransferEncoding, resp.ContentLength)
	}
	if v := resp.Trailer.Get("Echo-X-Checksum"); v != "abc" {
		t.Errorf("response trailer = %q, want abc (trailers %v)", v, resp.Trailer)
	}
	if _, ok := resp.Header["Trailer"]; ok {
		t.Errorf("Trailer header left in resp.Header")
	}
}

func TestRawResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc        string
		method      string
		raw         string
		wantStatus  int
		wantBody    string
		wantCL      int64
		wantTrailer http.Header
		wantErr     error // from RoundTrip
		wantBodyErr error // from reading the body
	}{
		{desc: "1xx skipped", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", wantStatus: 200, wantBody: "ok", wantCL: 2},
		{desc: "204 has no body", raw: "HTTP/1.1 204 No Content\r\n\r\n", wantStatus: 204},
		{desc: "304 ignores Content-Length", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", wantStatus: 304},
		{desc: "HEAD keeps Content-Length", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", wantStatus: 200, wantCL: 10},
		{desc: "chunked with extensions and trailers", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-a\r\n\r\n3;ext=1\r\nabc\r\n2 \r\nde\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", wantStatus: 200, wantBody: "abcde", wantCL: -1, wantTrailer: http.Header{"X-A": {"1"}, "X-B": {"2"}}},
		{desc: "bare LF line endings", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", wantStatus: 200, wantBody: "ok", wantCL: 2},
		{desc: "body until close", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", wantStatus: 200, wantBody: "all of it", wantCL: -1},
		{desc: "HTTP/1.0", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", wantStatus: 200, wantBody: "ok", wantCL: 2},
		{desc: "non-standard reason", raw: "HTTP/1.1 299 Fine Thanks\r\nContent-Length: 0\r\n\r\n", wantStatus: 299},
		{desc: "bad status line", raw: "HTTP/1.1 OK\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "bad header line", raw: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "space before colon", raw: "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "obs-fold", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "bad Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "conflicting Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", wantErr: ErrMalformedResponse},
		{desc: "unsupported coding", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", wantErr: ErrMalformedResponse},
		{desc: "truncated head", raw: "HTTP/1.1 200 OK\r\nContent-", wantErr: io.ErrUnexpectedEOF},
		{desc: "bad chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", wantStatus: 200, wantBodyErr: ErrMalformedResponse},
		{desc: "chunk size overflow", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", wantStatus: 200, wantBodyErr: ErrMalformedResponse},
		{desc: "missing CRLF after chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", wantStatus: 200, wantBodyErr: ErrMalformedResponse},
		{desc: "truncated chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", wantStatus: 200, wantBodyErr: io.ErrUnexpectedEOF},
		{desc: "short body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", wantStatus: 200, wantBodyErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, tt.raw) // then close: bodies until close end here
			})
			c := New(Options{})
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, err := c.RoundTrip(newRequest(t, method, "http://"+s.addr()+"/", nil))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var e *Error
				if !errors.As(err, &e) || !e.Sent || IsRetryable(err) {
					t.Fatalf("err = %#v, want a sent, non-retryable *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if tt.wantBodyErr != nil {
				if !errors.Is(err, tt.wantBodyErr) {
					t.Fatalf("body err = %v, want %v", err, tt.wantBodyErr)
				}
				if _, err2 := resp.Body.Read(make([]byte, 1)); !errors.Is(err2, tt.wantBodyErr) {
					t.Fatalf("second read err = %v, want the same error", err2)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody || resp.ContentLength != tt.wantCL {
				t.Fatalf("got %d %q CL=%d, want %d %q CL=%d", resp.StatusCode, got, resp.ContentLength, tt.wantStatus, tt.wantBody, tt.wantCL)
			}
			if tt.wantTrailer != nil && fmt.Sprint(resp.Trailer) != fmt.Sprint(tt.wantTrailer) {
				t.Fatalf("trailer = %v, want %v", resp.Trailer, tt.wantTrailer)
			}
		})
	}
}

func TestNoBodyResponsesKeepConnection(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "0123456789")
		}
	})
	c := New(Options{})
	for _, tc := range []struct{ method, path string }{{"HEAD", "/"}, {"GET", "/204"}, {"GET", "/304"}, {"GET", "/"}} {
		resp, body := do(t, c, newRequest(t, tc.method, srv.URL+tc.path, nil))
		if body != "" && tc.method != "GET" || resp.Body != http.NoBody && tc.path != "/" {
			t.Fatalf("%s %s: body %q (%T)", tc.method, tc.path, body, resp.Body)
		}
	}
	if st := c.Stats(); st.Dials != 1 {
		t.Fatalf("stats = %+v, want 1 dial", st)
	}
}

func TestEarlyResponseDuringUpload(t *testing.T) {
	t.Parallel()
	for _, closeConn := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeConn), func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.CopyN(io.Discard, br, 1000) // part of the body, then no more
				io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big!")
				if !closeConn {
					time.Sleep(3 * time.Second) // stop reading but keep the connection
				}
			})
			c := New(Options{})
			body := &countingReader{r: io.LimitReader(zeros{}, 256<<20)}
			req := newRequest(t, "POST", "http://"+s.addr()+"/upload", body)
			req.ContentLength = 256 << 20
			start := time.Now()
			resp, got := do(t, c, req)
			if resp.StatusCode != 413 || got != "too big!" {
				t.Fatalf("got %d %q", resp.StatusCode, got)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
			if body.n.Load() >= 256<<20 {
				t.Fatalf("the whole body was read")
			}
			if st := c.Stats(); st.Idle != 0 {
				t.Fatalf("stats = %+v: connection pooled after an interrupted upload", st)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "echo" {
			return
		}
		// The greeting comes in the same packet as the head.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello")
		io.Copy(c, br)
	})
	c := New(Options{})
	req := newRequest(t, "GET", "http://"+s.addr()+"/ws", nil)
	req.Header.Set("Upgrade", "echo")
	req.Header.Set("Connection", "Upgrade")
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("body %T is not an io.ReadWriteCloser", resp.Body)
	}
	defer rw.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(rw, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("greeting %q %v", buf, err)
	}
	for _, msg := range []string{"ping", strings.Repeat("z", 100000)} {
		go io.WriteString(rw, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(rw, got); err != nil || string(got) != msg {
			t.Fatalf("echo of %d bytes: %v", len(msg), err)
		}
	}
	if st := c.Stats(); st.Idle != 0 {
		t.Fatalf("stats = %+v: upgraded connection pooled", st)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	s := newScripted(t, hang)
	c := New(Options{ResponseHeaderTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.RoundTrip(newRequest(t, "GET", "http://"+s.addr()+"/", nil))
	var e *Error
	if !errors.As(err, &e) || !e.Timeout() || e.Op != OpReadHeader || !e.Sent || IsRetryable(err) {
		t.Fatalf("err = %v, want a sent read-header timeout", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > time.Second {
		t.Fatalf("timed out after %v", d)
	}
	if st := c.Stats(); st.Idle != 0 {
		t.Fatalf("stats = %+v: timed-out connection pooled", st)
	}
}

func TestContextCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	s := newScripted(t, hang)
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.RoundTrip(newRequestCtx(t, ctx, "GET", "http://"+s.addr()+"/", nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("returned after %v", d)
	}
	if st := c.Stats(); st.Idle != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestContextCancelDuringBody(t *testing.T) {
	t.Parallel()
	s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
		io.Copy(io.Discard, br)
	})
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := c.RoundTrip(newRequestCtx(t, ctx, "GET", "http://"+s.addr()+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("body err = %v, want context.Canceled", err)
	}
	resp.Body.Close()
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := New(Options{})
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req := newRequest(t, "POST", "http://"+addr+"/", body)
	_, err = c.RoundTrip(req)
	var e *Error
	if !errors.As(err, &e) || e.Op != OpDial || e.Sent || !IsRetryable(err) || e.Addr != addr {
		t.Fatalf("err = %#v, want a retryable dial error", err)
	}
	if !body.closed {
		t.Fatal("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestInvalidRequestsAreNotWritten(t *testing.T) {
	t.Parallel()
	s := newScripted(t, hang)
	c := New(Options{})
	base := "http://" + s.addr()
	tests := []struct {
		desc   string
		modify func(*http.Request)
	}{
		{"CRLF in header value", func(r *http.Request) { r.Header.Set("X-A", "1\r\nX-Injected: 1") }},
		{"LF in header value", func(r *http.Request) { r.Header["X-A"] = []string{"1\nX"} }},
		{"NUL in header value", func(r *http.Request) { r.Header["X-A"] = []string{"a\x00b"} }},
		{"CRLF in header name", func(r *http.Request) { r.Header["X-A\r\nX-B"] = []string{"1"} }},
		{"space in header name", func(r *http.Request) { r.Header["X A"] = []string{"1"} }},
		{"empty header name", func(r *http.Request) { r.Header[""] = []string{"1"} }},
		{"CRLF in Host", func(r *http.Request) { r.Host = "a\r\nX-B: 1" }},
		{"space in method", func(r *http.Request) { r.Method = "GET /x" }},
		{"CRLF in query", func(r *http.Request) { r.URL.RawQuery = "a=1 HTTP/1.1\r\nX: y" }},
		{"bad trailer name", func(r *http.Request) { r.Trailer = http.Header{"X:Y": nil} }},
		{"length without body", func(r *http.Request) { r.ContentLength = 5 }},
	}
	for _, tt := range tests {
		req := newRequest(t, "GET", base+"/", nil)
		tt.modify(req)
		_, err := c.RoundTrip(req)
		if !errors.Is(err, ErrInvalidRequest) || IsRetryable(err) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", tt.desc, err)
		}
	}
	if n := s.accepted.Load(); n != 0 {
		t.Fatalf("%d connections made for invalid requests", n)
	}
}

func TestRequestBodyLengthMismatch(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, echo)
	tests := []struct {
		desc   string
		body   string
		length int64
	}{
		{"short small", "abc", 5},
		{"long small", "abcdef", 5},
		{"short large", strings.Repeat("a", 100000), 200000},
		{"long large", strings.Repeat("a", 200000), 100000},
	}
	c := New(Options{})
	for _, tt := range tests {
		req := newRequest(t, "POST", srv.URL, onlyReader{strings.NewReader(tt.body)})
		req.ContentLength = tt.length
		resp, err := c.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrBodyLength) || IsRetryable(err) {
			t.Errorf("%s: err = %v, want ErrBodyLength", tt.desc, err)
		}
	}
	// The client is still usable.
	if _, body := do(t, c, newRequest(t, "GET", srv.URL+"/ok", nil)); !strings.HasPrefix(body, "GET /ok") {
		t.Fatalf("body %q", body)
	}
}

func TestRequestTarget(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI+" "+r.Host+" "+r.Header.Get("User-Agent"))
	})
	c := New(Options{})
	tests := []struct{ url, host, want string }{
		{srv.URL + "/a%2Fb/c?x=%20y", "", "/a%2Fb/c?x=%20y " + hostOf(srv) + " "},
		{srv.URL, "example.com", "/ example.com "},
		{srv.URL + "/caf%C3%A9?", "", "/caf%C3%A9? " + hostOf(srv) + " "},
		{srv.URL + "/with space", "", "/with%20space " + hostOf(srv) + " "},
	}
	for _, tt := range tests {
		req := newRequest(t, "GET", tt.url, nil)
		req.Host = tt.host
		if _, body := do(t, c, req); body != tt.want {
			t.Errorf("%s: got %q, want %q", tt.url, body, tt.want)
		}
	}
}

func TestMaxConnsPerTarget(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		io.WriteString(w, "ok")
	})
	c := New(Options{MaxConnsPerTarget: 2})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.RoundTrip(newRequest(t, "GET", srv.URL, nil))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d requests in flight, want at most 2", p)
	}
	if st := c.Stats(); st.Dials > 2 {
		t.Fatalf("stats = %+v, want at most 2 dials", st)
	}

	// A waiter gives up with its context.
	hold, err := c.RoundTrip(newRequest(t, "GET", srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	hold2, err := c.RoundTrip(newRequest(t, "GET", srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.RoundTrip(newRequestCtx(t, ctx, "GET", srv.URL, nil))
	var e *Error
	if !errors.As(err, &e) || e.Op != OpWait || !errors.Is(err, context.DeadlineExceeded) || e.Sent {
		t.Fatalf("err = %v, want a wait deadline", err)
	}
	hold.Body.Close() // not read: drained and pooled
	hold2.Body.Close()
	if _, body := do(t, c, newRequest(t, "GET", srv.URL, nil)); body != "ok" {
		t.Fatalf("body %q", body)
	}
}

func TestIdleTimeoutAndCloseIdle(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := New(Options{IdleTimeout: 50 * time.Millisecond})
	do(t, c, newRequest(t, "GET", srv.URL, nil))
	if st := c.Stats(); st.Idle != 1 {
		t.Fatalf("stats = %+v, want 1 idle", st)
	}
	waitFor(t, "the idle sweep", func() bool { return c.Stats().Idle == 0 })
	do(t, c, newRequest(t, "GET", srv.URL, nil))
	if st := c.Stats(); st.Dials != 2 || st.Reuses != 0 {
		t.Fatalf("stats = %+v, want 2 dials and no reuse of an expired connection", st)
	}

	c2 := New(Options{})
	do(t, c2, newRequest(t, "GET", srv.URL, nil))
	do(t, c2, newRequest(t, "GET", srv.URL+"/", nil))
	c2.CloseIdleConnections()
	if st := c2.Stats(); st.Idle != 0 {
		t.Fatalf("stats = %+v after CloseIdleConnections", st)
	}
	do(t, c2, newRequest(t, "GET", srv.URL, nil))
	if st := c2.Stats(); st.Dials != 2 {
		t.Fatalf("stats = %+v, want a new dial after CloseIdleConnections", st)
	}
}

func TestBodyCloseBeforeEOF(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Has("chunked") {
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(bytes.Repeat([]byte("b"), n))
	})
	tests := []struct {
		desc      string
		query     string
		wantDials int64
	}{
		{"small fixed is drained", "n=100000", 1},
		{"small chunked is drained", "n=100000&chunked", 1},
		{"large fixed is not", "n=4000000", 2},
		{"large chunked is not", "n=4000000&chunked", 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := New(Options{})
			resp, err := c.RoundTrip(newRequest(t, "GET", srv.URL+"/?"+tt.query, nil))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Read(make([]byte, 10))
			resp.Body.Close()
			if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrBodyClosed) {
				t.Fatalf("read after close: %v", err)
			}
			do(t, c, newRequest(t, "GET", srv.URL+"/?n=1", nil))
			if st := c.Stats(); st.Dials != tt.wantDials {
				t.Fatalf("stats = %+v, want %d dials", st, tt.wantDials)
			}
		})
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	t.Parallel()
	s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
		io.Copy(io.Discard, br)
	})
	c := New(Options{})
	resp, err := c.RoundTrip(newRequest(t, "GET", "http://"+s.addr()+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := resp.Body.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	resp.Body.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read succeeded")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	s := newScripted(t, func(c net.Conn, br *bufio.Reader) {
		time.Sleep(3 * time.Second) // never reads
	})
	c := New(Options{WriteTimeout: 100 * time.Millisecond, ResponseHeaderTimeout: 200 * time.Millisecond})
	req := newRequest(t, "POST", "http://"+s.addr()+"/", io.LimitReader(zeros{}, 64<<20))
	req.ContentLength = 64 << 20
	start := time.Now()
	_, err := c.RoundTrip(req)
	var e *Error
	if !errors.As(err, &e) || !e.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}
