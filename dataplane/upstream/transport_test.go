package upstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testbin"
)

// backend is a loopback HTTP server that counts its connections.
type backend struct {
	*httptest.Server
	opened, closed atomic.Int64
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{Server: httptest.NewUnstartedServer(h)}
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.closed.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

// roundTrip sends GET path to the upstream's first target like the proxy
// does, and reads the whole response.
func roundTrip(u *Upstream, path string, body io.Reader) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+u.Targets()[0].Addr()+path, body)
	if err != nil {
		return "", err
	}
	resp, err := u.Transport().RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func newUpstream(t *testing.T, cfg *pb.Upstream) *Upstream {
	t.Helper()
	u, err := New("api", cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

func TestTransportKeepAliveAndClose(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+r.URL.Path)
	})
	u := newUpstream(t, &pb.Upstream{Addrs: []string{b.addr()}})
	for range 100 {
		got, err := roundTrip(u, "/x", nil)
		if err != nil || got != "ok /x" {
			t.Fatalf("round trip = %q, %v", got, err)
		}
	}
	if n := b.opened.Load(); n != 1 {
		t.Errorf("100 sequential requests opened %d connections, want 1", n)
	}
	u.Close()
	eventually(t, "the idle connection to close", func() bool { return b.closed.Load() == 1 })
}

func TestTransportCloseLetsInFlightFinish(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "late")
	})
	u := newUpstream(t, &pb.Upstream{Addrs: []string{b.addr()}})
	res := make(chan string)
	go func() {
		got, err := roundTrip(u, "/", nil)
		if err != nil {
			got = err.Error()
		}
		res <- got
	}()
	eventually(t, "the request to arrive", func() bool { return b.opened.Load() == 1 })
	u.Close()
	close(release)
	if got := <-res; got != "late" {
		t.Errorf("in-flight request got %q, want it to finish", got)
	}
	eventually(t, "its connection to close once idle", func() bool { return b.closed.Load() == 1 })
}

func TestTransportReadTimeout(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	u := newUpstream(t, &pb.Upstream{Addrs: []string{b.addr()}, ReadTimeout: durationpb.New(100 * time.Millisecond)})
	start := time.Now()
	_, err := roundTrip(u, "/slow", nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a net.Error with Timeout() true", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v, want about 100ms", d)
	}
}

func TestTransportConnectionRefused(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, &pb.Upstream{Addrs: []string{testbin.DeadAddr(t)}})
	_, err := roundTrip(u, "/", nil)
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("err = %v, want a dial *net.OpError", err)
	}
}

func TestTransportWriteTimeout(t *testing.T) {
	t.Parallel()
	// A target that accepts and never reads.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; c.Close() }()
		}
	}()
	u := newUpstream(t, &pb.Upstream{Addrs: []string{l.Addr().String()}, WriteTimeout: durationpb.New(200 * time.Millisecond)})
	start := time.Now()
	_, err = roundTrip(u, "/upload", io.LimitReader(zeros{}, 1<<30))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a net.Error with Timeout() true", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("write timed out after %v", d)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWriteDeadlineConn(t *testing.T) {
	t.Parallel()
	c1, c2 := net.Pipe()
	defer c2.Close()
	c := &writeDeadlineConn{Conn: c1, timeout: 50 * time.Millisecond}
	go io.CopyN(io.Discard, c2, 5)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatalf("write with a reader: %v", err)
	}
	time.Sleep(80 * time.Millisecond) // longer than the timeout: each write gets its own deadline
	go io.CopyN(io.Discard, c2, 5)
	if _, err := c.Write([]byte("again")); err != nil {
		t.Fatalf("second write with a reader: %v", err)
	}
	_, err := c.Write([]byte(strings.Repeat("x", 10)))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write without a reader: err = %v, want a timeout", err)
	}
}

// max_connections caps the connections to a target, for HTTP/1.1 and
// HTTP/2 (h2c) transports alike: concurrent requests beyond it wait for one
// and are all served.
func TestTransportMaxConnections(t *testing.T) {
	t.Parallel()
	for _, alpn := range []string{"", "h2c"} {
		t.Run("alpn="+alpn, func(t *testing.T) {
			t.Parallel()
			var busy, peak atomic.Int64
			release := make(chan struct{})
			b := &backend{Server: httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-release
				io.WriteString(w, "ok")
			}))}
			b.Config.Protocols = new(http.Protocols)
			b.Config.Protocols.SetHTTP1(true)
			b.Config.Protocols.SetUnencryptedHTTP2(true)
			b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					b.opened.Add(1)
					if n := busy.Add(1); n > peak.Load() {
						peak.Store(n)
					}
				case http.StateClosed, http.StateHijacked:
					busy.Add(-1)
				}
			}
			b.Start()
			t.Cleanup(b.Close)
			u := newUpstream(t, &pb.Upstream{Addrs: []string{b.addr()}, Alpn: alpn, MaxConnections: 2})
			const n = 6
			errs := make(chan error, n)
			for range n {
				go func() {
					got, err := roundTrip(u, "/", nil)
					if err == nil && got != "ok" {
						err = errors.New("body " + got)
					}
					errs <- err
				}()
			}
			eventually(t, "the first requests to arrive", func() bool { return b.opened.Load() >= 1 })
			close(release)
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if got := b.opened.Load(); got > 2 {
				t.Fatalf("%d connections opened to the target, want at most 2 (peak %d)", got, peak.Load())
			}
		})
	}
}
