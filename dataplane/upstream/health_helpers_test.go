package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pingap-go/pingap/internal/testcert"
)

// fakeClock is an injected clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeAfter is an injected Options.After: each call reports its duration on
// waits and returns a channel the test fires with tick.
type fakeAfter struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newFakeAfter() *fakeAfter {
	return &fakeAfter{waits: make(chan time.Duration, 100), fire: make(chan time.Time)}
}

func (f *fakeAfter) After(d time.Duration) <-chan time.Time {
	f.waits <- d
	return f.fire
}

// wait blocks until a probe finished and its goroutine waits for the next
// one; it returns the wait's duration.
func (f *fakeAfter) wait(tb testing.TB) time.Duration {
	tb.Helper()
	select {
	case d := <-f.waits:
		return d
	case <-time.After(10 * time.Second):
		tb.Fatal("no probe finished within 10s")
		return 0
	}
}

// tick starts the next probe.
func (f *fakeAfter) tick() { f.fire <- time.Time{} }

// tcpServer is a raw loopback listener that accepts and closes connections.
type tcpServer struct {
	mu   sync.Mutex
	addr string
	ln   net.Listener
	wg   sync.WaitGroup
}

func newTCPServer(tb testing.TB) *tcpServer {
	tb.Helper()
	s := &tcpServer{addr: "127.0.0.1:0"}
	s.start(tb)
	tb.Cleanup(s.stop)
	return s
}

// start listens on s.addr (the same port again after stop).
func (s *tcpServer) start(tb testing.TB) {
	tb.Helper()
	ln, err := listenAgain(s.addr)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	})
}

func (s *tcpServer) stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	s.wg.Wait()
}

// listenAgain listens on addr, retrying for a while: another test's
// outgoing connection may hold a port that was just released.
func listenAgain(addr string) (net.Listener, error) {
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, err
}

// testCert is a self-signed certificate for 127.0.0.1 and example.test.
func testCert(tb testing.TB) (tls.Certificate, string) {
	tb.Helper()
	l := testcert.SelfSigned(tb, "pingap test", "example.test", "127.0.0.1")
	return l.TLS, l.CertPEM
}

// grpcHealthServer is a real gRPC server with the standard health service:
// "" and "svc" are SERVING, "down" NOT_SERVING.
type grpcHealthServer struct {
	addr   string
	health *health.Server
}

func newGRPCHealthServer(tb testing.TB, cert *tls.Certificate) *grpcHealthServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return &grpcHealthServer{addr: ln.Addr().String(), health: hs}
}

// checkOnce runs one probe of the upstream's i-th target.
func checkOnce(u *Upstream, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return u.health.checkers[i].check(ctx)
}

// eventually polls cond every 5ms for up to 10s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
