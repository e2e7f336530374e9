package h1server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/syncbuf"
)

func TestH2PriorKnowledgeHandOff(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	var states []http.ConnState
	var mu sync.Mutex
	_, addr := startServer(t, Config{
		Handler: http.NotFoundHandler(),
		H2: func(c net.Conn, buffered []byte) {
			rest := make([]byte, 5)
			_, _ = io.ReadFull(c, rest)
			got <- string(buffered) + string(rest)
			_, _ = io.WriteString(c, "h2 ok")
			c.Close()
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
		},
	})
	c, br := dialRaw(t, addr)
	// The preface in two writes, then frames the server must pass on.
	_, _ = io.WriteString(c, h2Preface[:10])
	time.Sleep(10 * time.Millisecond)
	_, _ = io.WriteString(c, h2Preface[10:]+"frame")
	time.Sleep(10 * time.Millisecond)
	_, _ = io.WriteString(c, "tail!")
	// H2 sees every byte in order: those the server buffered (the preface,
	// maybe "frame") and then 5 read from the connection.
	const sent = h2Preface + "frametail!"
	if s := <-got; len(s) < len(h2Preface)+5 || len(s) > len(sent) || s != sent[:len(s)] {
		t.Fatalf("H2 got %q, want a prefix of %q past the preface and 5 more bytes", s, sent)
	}
	b, _ := io.ReadAll(br)
	if string(b) != "h2 ok" {
		t.Fatalf("client read %q", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(states) != fmt.Sprint([]http.ConnState{http.StateNew, http.StateHijacked}) {
		t.Errorf("conn states %v", states)
	}
}

func TestSlowlorisCutAtReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	const rht = 500 * time.Millisecond
	_, addr := startServer(t, Config{Handler: &strictHandler{}, ReadHeaderTimeout: rht})
	slow, sbr := dialRaw(t, addr)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		msg := "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + strings.Repeat("a", 1000)
		for i := 0; i < len(msg); i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{msg[i]}); err != nil {
				return
			}
		}
	}()
	// Another client is served normally meanwhile.
	for i := 0; i < 3; i++ {
		res, body := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if res == nil || res.StatusCode != 200 || body != "ok:" {
			t.Fatalf("fast client: %v %q", res, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err := sbr.ReadByte()
	elapsed := time.Since(start)
	if err == nil {
		t.Fatalf("slow client got a response byte")
	}
	if elapsed < rht-50*time.Millisecond || elapsed > rht+time.Second {
		t.Fatalf("slow client cut after %v, want about %v", elapsed, rht)
	}
}

func TestKeepAliveAndPipelining(t *testing.T) {
	t.Parallel()
	newCount := 0
	var mu sync.Mutex
	_, addr := startServer(t, Config{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.URL.Path)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				newCount++
				mu.Unlock()
			}
		},
	})
	c, br := dialRaw(t, addr)
	// Sequential keep-alive requests.
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /seq%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		res, body := readResponse(t, br, "GET")
		if body != fmt.Sprintf("/seq%d", i) || res.Close {
			t.Fatalf("request %d: %q close=%v", i, body, res.Close)
		}
	}
	// Pipelined: three requests in one write, answered in order; the last
	// asks to close.
	_, _ = io.WriteString(c, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"+
		"GET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	for i, want := range []string{"/p1", "/p2", "/p3"} {
		res, body := readResponse(t, br, "GET")
		if body != want {
			t.Fatalf("pipelined %d: %q, want %q", i, body, want)
		}
		if res.Close != (i == 2) {
			t.Fatalf("pipelined %d: close=%v", i, res.Close)
		}
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after Connection: close: %v, want EOF", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if newCount != 1 {
		t.Fatalf("%d connections, want 1", newCount)
	}
}

func TestHTTP10(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 10000))
			return
		}
		_, _ = io.WriteString(w, r.Proto)
	})})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	res, body := readResponse(t, br, "GET")
	if body != "HTTP/1.0" || res.Close || res.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("1.0 keep-alive: %q close=%v %v", body, res.Close, res.Header)
	}
	// Unknown length for 1.0: no chunking, the body ends with the connection.
	_, _ = io.WriteString(c, "GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	res, body = readResponse(t, br, "GET")
	if len(body) != 10000 || len(res.TransferEncoding) != 0 || !res.Close {
		t.Fatalf("1.0 big: %d bytes, te=%v close=%v", len(body), res.TransferEncoding, res.Close)
	}
	// Without keep-alive, 1.0 closes.
	res, _ = rawExchange(t, addr, "GET / HTTP/1.0\r\n\r\n")
	if !res.Close {
		t.Fatalf("1.0 without keep-alive is not closed")
	}
}

func TestChunkedRequestWithTrailers(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		declared := fmt.Sprint(r.Trailer)
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "cl=%d te=%v body=%q err=%v declared=%s trailer=%v", r.ContentLength, r.TransferEncoding, b, err, declared, r.Trailer)
	})})
	res, body := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"+
		"5\r\nhello\r\n7;name=val\r\n, world\r\n0\r\nX-Sum: 42\r\nx-other: 1\r\n\r\n")
	want := `cl=-1 te=[chunked] body="hello, world" err=<nil> declared=map[X-Sum:[]] trailer=map[X-Other:[1] X-Sum:[42]]`
	if res == nil || body != want {
		t.Fatalf("got %q\nwant %q", body, want)
	}
	// The standard client sending a streamed body with trailers.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/", pr)
	req.Trailer = http.Header{"X-Sum": nil}
	go func() {
		_, _ = io.WriteString(pw, "streamed")
		req.Trailer.Set("X-Sum", "7")
		pw.Close()
	}()
	cres, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(cres.Body)
	cres.Body.Close()
	if want := `cl=-1 te=[chunked] body="streamed" err=<nil> declared=map[X-Sum:[]] trailer=map[X-Sum:[7]]`; string(b) != want {
		t.Fatalf("client: got %q\nwant %q", b, want)
	}
}

func TestExpectContinue(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/noread" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim: %q %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("interim end: %q", l)
	}
	_, _ = io.WriteString(c, "body")
	res, body := readResponse(t, br, "POST")
	if res.StatusCode != 200 || body != "body" || res.Close {
		t.Fatalf("final: %d %q close=%v", res.StatusCode, body, res.Close)
	}
	// A handler that never reads: no 100, and the connection closes.
	_, _ = io.WriteString(c, "POST /noread HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	res, _ = readResponse(t, br, "POST")
	if res.StatusCode != 403 || !res.Close {
		t.Fatalf("noread: %d close=%v", res.StatusCode, res.Close)
	}
	// The standard client waits for 100 Continue.
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("client body"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	cres, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(cres.Body)
	cres.Body.Close()
	if string(b) != "client body" || time.Since(start) > 3*time.Second {
		t.Fatalf("client: %q after %v", b, time.Since(start))
	}
}

func TestBodilessResponses(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(http.StatusNotModified)
			if _, err := w.Write([]byte("no")); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("write on 304 allowed")
			}
			return
		}
		_, _ = io.WriteString(w, "hello")
	})})
	c, br := dialRaw(t, addr)
	for _, tc := range []struct{ method, path, cl string }{
		{"HEAD", "/", "5"},
		{"GET", "/204", ""},
		{"GET", "/304", ""},
		{"GET", "/", "5"},
	} {
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: a\r\n\r\n", tc.method, tc.path)
		res, body := readResponse(t, br, tc.method)
		if body != "" && tc.method == "HEAD" || res.Header.Get("Content-Length") != tc.cl || res.Close ||
			len(res.TransferEncoding) > 0 {
			t.Fatalf("%s %s: %d %q cl=%q te=%v close=%v", tc.method, tc.path, res.StatusCode, body,
				res.Header.Get("Content-Length"), res.TransferEncoding, res.Close)
		}
	}
}

func TestInformational(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "final")
	})})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	early, _ := readResponse(t, br, "GET")
	if early.StatusCode != 103 || early.Header.Get("Link") == "" {
		t.Fatalf("early: %d %v", early.StatusCode, early.Header)
	}
	res, body := readResponse(t, br, "GET")
	if res.StatusCode != 200 || body != "final" || res.Header.Get("Link") != "" {
		t.Fatalf("final: %d %q %v", res.StatusCode, body, res.Header)
	}
}

func TestFlushStreams(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first")
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		<-release
		_, _ = io.WriteString(w, "second")
	})})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", res.TransferEncoding)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first chunk: %q %v", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(res.Body)
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

func TestResponseTrailers(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"x-prefixed", "p")
	})})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "body" || res.Trailer.Get("X-Declared") != "d" || res.Trailer.Get("X-Prefixed") != "p" {
		t.Fatalf("body %q trailer %v", b, res.Trailer)
	}
}

func TestHijackEcho(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Upgrade", "echo")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
			panic("write after hijack")
		}
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = rw.WriteString("echo " + line)
			_ = rw.Flush()
		}
	})})
	c, br := dialRaw(t, addr)
	// The first line arrives with the request: it is in the buffered reader.
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	for _, msg := range []string{"early\n", "hello\n", "world\n"} {
		if msg != "early\n" {
			_, _ = io.WriteString(c, msg)
		}
		line, err := br.ReadString('\n')
		if err != nil || line != "echo "+msg {
			t.Fatalf("echo: %q %v", line, err)
		}
	}
	c.Close()
	<-done
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	idle, ibr := dialRaw(t, addr)
	_, _ = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readResponse(t, ibr, "GET")

	active, abr := dialRaw(t, addr)
	_, _ = io.WriteString(active, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// The idle connection is closed.
	if _, err := ibr.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle conn: %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request active", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	res, body := readResponse(t, abr, "GET")
	if body != "done" || !res.Close {
		t.Fatalf("active: %q close=%v", body, res.Close)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestPanics(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	_, addr := startServer(t, Config{
		ErrorLog: slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/panic":
				panic("boom")
			case "/abort":
				_, _ = io.WriteString(w, "partial")
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
			_, _ = io.WriteString(w, "fine")
		}),
	})
	res, _ := rawExchange(t, addr, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	if res == nil || res.StatusCode != 500 || !res.Close {
		t.Fatalf("panic: %v", res)
	}
	if l := logs.String(); !strings.Contains(l, "boom") || !strings.Contains(l, "behavior_test.go") {
		t.Fatalf("panic log lacks value or stack: %s", l)
	}
	before := logs.String()
	// Abort: the client sees a truncated chunked body, nothing is logged.
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	ares, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(ares.Body); err == nil {
		t.Fatalf("aborted body read without error")
	}
	if logs.String() != before {
		t.Fatalf("ErrAbortHandler logged: %s", logs.String()[len(before):])
	}
	// The server still serves.
	if res, body := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); res == nil || body != "fine" {
		t.Fatalf("after panics: %v %q", res, body)
	}
}

func TestRequestFields(t *testing.T) {
	t.Parallel()
	type seen struct {
		r     *http.Request
		local any
		ctx   context.Context
	}
	got := make(chan seen, 1)
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r: r, local: r.Context().Value(http.LocalAddrContextKey), ctx: r.Context()}
	})})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET /a%2Fb/c?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nx-lower: 1\r\nX-Multi: a\r\nx-multi: b\r\nConnection: keep-alive\r\n\r\n")
	readResponse(t, br, "GET")
	s := <-got
	r := s.r
	checks := []struct{ name, got, want string }{
		{"Method", r.Method, "GET"},
		{"Path", r.URL.Path, "/a/b/c"},
		{"RawPath", r.URL.RawPath, "/a%2Fb/c"},
		{"RawQuery", r.URL.RawQuery, "q=1"},
		{"RequestURI", r.RequestURI, "/a%2Fb/c?q=1"},
		{"Host", r.Host, "example.com:8080"},
		{"Proto", fmt.Sprintf("%s %d %d", r.Proto, r.ProtoMajor, r.ProtoMinor), "HTTP/1.1 1 1"},
		{"RemoteAddr", r.RemoteAddr, c.LocalAddr().String()},
		{"LocalAddr", fmt.Sprint(s.local), c.RemoteAddr().String()},
		{"X-Lower", r.Header.Get("X-Lower"), "1"},
		{"X-Multi", fmt.Sprint(r.Header["X-Multi"]), "[a b]"},
		{"Host header", fmt.Sprint(r.Header["Host"]), "[]"},
		{"Body", fmt.Sprint(r.Body == http.NoBody), "true"},
		{"ContentLength", fmt.Sprint(r.ContentLength), "0"},
		{"Close", fmt.Sprint(r.Close), "false"},
		{"TLS", fmt.Sprint(r.TLS == nil), "true"},
		{"ctx done after return", fmt.Sprint(s.ctx.Err()), "context canceled"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestRequestContextCancellation(t *testing.T) {
	t.Parallel()
	derived := make(chan context.Context, 1)
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Hour)
		_ = cancel
		derived <- ctx
		context.AfterFunc(r.Context(), func() {})
	})})
	rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ctx := <-derived
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("derived context not cancelled when the handler returned")
	}
}

func TestUnreadBody(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ignored body")
	})})
	c, br := dialRaw(t, addr)
	// A small unread body is discarded and the connection reused.
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("x", 1000))
	res, _ := readResponse(t, br, "POST")
	if res.Close {
		t.Fatalf("small unread body closed the connection")
	}
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n%s\r\n0\r\n\r\n", strings.Repeat("x", 1000))
	if res, _ = readResponse(t, br, "POST"); res.Close {
		t.Fatalf("small unread chunked body closed the connection")
	}
	// A large one closes it (announced in the response).
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", 1<<20)
	if res, _ = readResponse(t, br, "POST"); !res.Close {
		t.Fatalf("large unread body kept the connection")
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: &strictHandler{}, IdleTimeout: 200 * time.Millisecond})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readResponse(t, br, "GET")
	start := time.Now()
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("idle close after %v", d)
	}
}

func TestReadTimeoutOnBody(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: &strictHandler{}, ReadTimeout: 300 * time.Millisecond})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
	res, err := http.ReadResponse(bufio.NewReader(br), nil)
	if err != nil || res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %v %v", res, err)
	}
}
