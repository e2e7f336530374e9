package h1server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// helloBody is the benchmark response body: 13 bytes.
var helloBody = []byte("Hello, World!")

// hello13 is the benchmark handler.
var hello13 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write(helloBody)
})

// startStd serves h with net/http's server on loopback.
func startStd(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(func() { _ = s.Close() })
	return ln.Addr().String()
}

// rawClient sends one fixed request per call on a kept-alive connection and
// reads a response of a known size, allocating nothing itself, so the
// allocations measured around it are the server's.
type rawClient struct {
	c    net.Conn
	req  []byte
	buf  []byte
	size int
}

func newRawClient(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	rc := &rawClient{c: c, req: []byte("GET /hello HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept-Encoding: gzip\r\n\r\n"),
		buf: make([]byte, 4096)}
	// Learn the response size (the Date field has a fixed width).
	if _, err := c.Write(rc.req); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for {
		m, err := c.Read(rc.buf[n:])
		if err != nil {
			tb.Fatal(err)
		}
		n += m
		if i := bytes.Index(rc.buf[:n], []byte("\r\n\r\n")); i >= 0 && n >= i+4+13 {
			rc.size = i + 4 + 13
			break
		}
	}
	return rc
}

func (rc *rawClient) do(tb testing.TB) {
	if _, err := rc.c.Write(rc.req); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(rc.c, rc.buf[:rc.size]); err != nil {
		tb.Fatal(err)
	}
}

func TestAllocsPerRequest(t *testing.T) {
	_, addr := startServer(t, Config{Handler: hello13})
	rc := newRawClient(t, addr)
	for i := 0; i < 100; i++ {
		rc.do(t)
	}
	allocs := testing.AllocsPerRun(2000, func() { rc.do(t) })
	t.Logf("allocations per keep-alive GET (server side): %.2f", allocs)
	if allocs > 6 {
		t.Errorf("%.2f allocations per request, want at most 6", allocs)
	}
}

func BenchmarkServe(b *testing.B) {
	servers := []struct {
		name  string
		start func(testing.TB) string
	}{
		{"h1server", func(tb testing.TB) string { _, a := startServer(tb, Config{Handler: hello13}); return a }},
		{"net-http", func(tb testing.TB) string { return startStd(tb, hello13) }},
	}
	for _, srv := range servers {
		b.Run("stdclient/"+srv.name, func(b *testing.B) {
			addr := srv.start(b)
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := "http://" + addr + "/hello"
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
		b.Run("rawclient/"+srv.name, func(b *testing.B) {
			rc := newRawClient(b, srv.start(b))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				rc.do(b)
			}
			// CPU of the whole process (client and server) per request.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
