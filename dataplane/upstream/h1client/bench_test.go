package h1client

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// smallBody is the 13-byte body of DESIGN.md's measurements.
const smallBody = "Hello, World!"

func smallServer(tb testing.TB) string {
	srv := newHTTPServer(tb, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "13")
		io.WriteString(w, smallBody)
	})
	return srv.URL
}

// cannedServer answers every request with the same small response,
// allocating nothing per request, so that allocation counts are the
// client's own. It ignores request bodies: use it for GETs only.
func cannedServer(tb testing.TB) string {
	s := newScripted(tb, func(c net.Conn, br *bufio.Reader) {
		resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 13\r\n\r\n" + smallBody)
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 { // end of the request head
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	})
	return "http://" + s.addr()
}

func roundTrip(tb testing.TB, rt http.RoundTripper, req *http.Request, buf []byte) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	n, _ := io.ReadFull(resp.Body, buf[:13])
	if _, err := resp.Body.Read(buf); err != io.EOF || n != 13 {
		tb.Fatalf("read %d, then %v", n, err)
	}
	resp.Body.Close()
}

// TestAllocs pins the allocations of a GET with a small known-length
// response: at most 10 per round trip, the request's own excluded.
func TestAllocs(t *testing.T) {
	url := cannedServer(t)
	c := New(Options{})
	buf := make([]byte, 64)
	for _, tc := range []struct {
		desc string
		ctx  context.Context
		max  float64
	}{
		{"background context", context.Background(), 7},
		{"cancelable context", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			return ctx
		}(), 10},
	} {
		req := newRequestCtx(t, tc.ctx, "GET", url+"/path?q=1", nil)
		req.Header.Set("Accept", "*/*")
		roundTrip(t, c, req, buf)
		allocs := testing.AllocsPerRun(200, func() { roundTrip(t, c, req, buf) })
		t.Logf("%s: %.1f allocs per round trip", tc.desc, allocs)
		if allocs > tc.max {
			t.Errorf("%s: %.1f allocs per round trip, want at most %v", tc.desc, allocs, tc.max)
		}
	}
}

func newStdTransport() *http.Transport {
	return &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true}
}

// BenchmarkRoundTrip compares the client with http.Transport against the
// same loopback servers, sequential and parallel: a net/http server, and
// the canned server whose own cost is near zero, so that the client's
// difference shows.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("server=net/http", func(b *testing.B) { benchRoundTrip(b, smallServer(b)) })
	b.Run("server=canned", func(b *testing.B) { benchRoundTrip(b, cannedServer(b)) })
}

func benchRoundTrip(b *testing.B, url string) {
	for _, impl := range []struct {
		name string
		rt   func() http.RoundTripper
	}{
		{"h1client", func() http.RoundTripper { return New(Options{}) }},
		{"http.Transport", func() http.RoundTripper { return newStdTransport() }},
	} {
		b.Run(impl.name+"/seq", func(b *testing.B) {
			rt := impl.rt()
			req := newRequest(b, "GET", url+"/", nil)
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(b, rt, req, buf)
			}
		})
		b.Run(impl.name+"/parallel", func(b *testing.B) {
			rt := impl.rt()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := newRequest(b, "GET", url+"/", nil)
				buf := make([]byte, 64)
				for pb.Next() {
					roundTrip(b, rt, req, buf)
				}
			})
		})
	}
}

// BenchmarkRoundTripPost sends a 1 KiB body (fits the write buffer) and a
// 64 KiB one (streamed from the body writer goroutine).
func BenchmarkRoundTripPost(b *testing.B) {
	srv := newHTTPServer(b, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "13")
		io.WriteString(w, smallBody)
	})
	for _, size := range []int{1 << 10, 64 << 10} {
		payload := bytes.Repeat([]byte("p"), size)
		for _, impl := range []struct {
			name string
			rt   http.RoundTripper
		}{{"h1client", New(Options{})}, {"http.Transport", newStdTransport()}} {
			b.Run(impl.name+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				buf := make([]byte, 64)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					req := newRequest(b, "POST", srv.URL+"/", bytes.NewReader(payload))
					roundTrip(b, impl.rt, req, buf)
				}
			})
		}
	}
}

const sampleHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nServer: nginx\r\nCache-Control: no-cache\r\nContent-Length: 13\r\n\r\nHello, World!"

// BenchmarkParse compares the client's response head parser with
// http.ReadResponse on the same bytes; DESIGN.md asked to measure both.
func BenchmarkParse(b *testing.B) {
	b.Run("own", func(b *testing.B) {
		br := bufio.NewReaderSize(nil, readBufSize)
		r := strings.NewReader(sampleHead)
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(sampleHead)
			br.Reset(r)
			block, _, err := readHeadBlock(br)
			if err != nil {
				b.Fatal(err)
			}
			resp, _, err := parseHead(block, "GET")
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err)
			}
			br.Discard(len(block))
		}
	})
	b.Run("http.ReadResponse", func(b *testing.B) {
		br := bufio.NewReaderSize(nil, readBufSize)
		r := strings.NewReader(sampleHead)
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(sampleHead)
			br.Reset(r)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err)
			}
		}
	})
}
