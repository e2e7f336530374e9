package upstream

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
	"github.com/pingap-go/pingap/internal/testbin"
)

func TestParseHealthCheckUpstream(t *testing.T) {
	t.Parallel()
	hc, err := ParseHealthCheck("grpc://api:9000?service=s&failure=3")
	if err != nil {
		t.Fatal(err)
	}
	if hc.Scheme != "grpc" || hc.Host != "api:9000" || hc.Port != 9000 || hc.Service != "s" || hc.Failure != 3 || hc.Success != 1 ||
		hc.CheckFrequency != 10*time.Second || hc.newChecker == nil {
		t.Errorf("ParseHealthCheck = %+v", hc)
	}
	for _, s := range []string{"tcp://a", "http://a/", "https://a/", "grpc://a"} {
		if hc, err := ParseHealthCheck(s); err != nil || hc.newChecker == nil {
			t.Errorf("ParseHealthCheck(%q) = %+v, %v; want a checker for every scheme config accepts", s, hc, err)
		}
	}
	if hc, err := ParseHealthCheck(""); hc != nil || err != nil {
		t.Errorf(`ParseHealthCheck("") = %v, %v; want nil, nil`, hc, err)
	}
}

func TestNewHealthErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		cfg  *pb.Upstream
		want string
	}{
		{desc: "bad scheme", cfg: &pb.Upstream{HealthCheck: "ftp://api"},
			want: `upstreams.api.health_check: invalid health check "ftp://api": unknown scheme "ftp"`},
		{desc: "bad parameter", cfg: &pb.Upstream{HealthCheck: "http://api/?success=0"},
			want: `upstreams.api.health_check: invalid health check "http://api/?success=0": parameter success: want an integer 1..1000, got "0"`},
		{desc: "ca_cert file", cfg: &pb.Upstream{HealthCheck: "https://api/", CaCert: "/nonexistent/ca.pem"},
			want: "upstreams.api.ca_cert: cannot read \"/nonexistent/ca.pem\""},
		{desc: "ca_cert no pem", cfg: &pb.Upstream{HealthCheck: "grpc://api", Tls: true, CaCert: "-----BEGIN nothing"},
			want: "upstreams.api.ca_cert: no CA certificate found"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Addrs = []string{"127.0.0.1:9"}
			_, err := New("api", tc.cfg, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
	// Without a TLS check the CA is not read here.
	if _, err := New("api", &pb.Upstream{Addrs: []string{"127.0.0.1:9"}, HealthCheck: "grpc://api", CaCert: "/nonexistent"}, Options{}); err != nil {
		t.Errorf("plain grpc check with a ca_cert: %v", err)
	}
}

func TestTCPChecker(t *testing.T) {
	t.Parallel()
	up := newTCPServer(t)
	tests := []struct {
		desc, check, addr string
		ok                bool
	}{
		{desc: "listening", check: "tcp://api", addr: up.addr, ok: true},
		{desc: "refused", check: "tcp://api", addr: testbin.DeadAddr(t)},
		{desc: "port override", check: "tcp://api:" + strings.Split(up.addr, ":")[1], addr: testbin.DeadAddr(t), ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, &pb.Upstream{Addrs: []string{tc.addr}, HealthCheck: tc.check + "?connection_timeout=2s"})
			if err := checkOnce(u, 0); (err == nil) != tc.ok {
				t.Errorf("check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestHTTPChecker(t *testing.T) {
	t.Parallel()
	type seen struct{ host, uri, ua, sni string }
	var mu sync.Mutex
	var last seen
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{host: r.Host, uri: r.RequestURI, ua: r.UserAgent()}
		if r.TLS != nil {
			last.sni = r.TLS.ServerName
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	cert, certPEM := testCert(t)
	secure := httptest.NewUnstartedServer(handler)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshakes are expected
	secure.StartTLS()
	t.Cleanup(secure.Close)
	plainAddr, secureAddr := plain.Listener.Addr().String(), secure.Listener.Addr().String()
	verify := proto.Bool(true)

	tests := []struct {
		desc  string
		cfg   *pb.Upstream
		ok    bool
		err   string // part of the error when not ok
		want  seen   // what the server saw (when ok)
		check bool   // compare want
	}{
		{desc: "2xx", cfg: &pb.Upstream{Addrs: []string{plainAddr}, HealthCheck: "http://api.test/ok?x=1&check_frequency=1s"}, ok: true,
			want: seen{host: "api.test", uri: "/ok?x=1", ua: "pingap-health-check"}, check: true},
		{desc: "3xx not followed", cfg: &pb.Upstream{Addrs: []string{plainAddr}, HealthCheck: "http://api/redirect"}, ok: true,
			want: seen{host: "api", uri: "/redirect", ua: "pingap-health-check"}, check: true},
		{desc: "4xx", cfg: &pb.Upstream{Addrs: []string{plainAddr}, HealthCheck: "http://api/missing"}, err: "status 404"},
		{desc: "5xx", cfg: &pb.Upstream{Addrs: []string{plainAddr}, HealthCheck: "http://api/fail"}, err: "status 503"},
		{desc: "refused", cfg: &pb.Upstream{Addrs: []string{testbin.DeadAddr(t)}, HealthCheck: "http://api/ok"}, err: "connection refused"},
		{desc: "http to tls port", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "http://api/ok"}, err: "status 400"},
		{desc: "https skips verification", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/ok"}, ok: true,
			want: seen{host: "api", uri: "/ok", ua: "pingap-health-check"}, check: true},
		{desc: "https verify without ca", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/ok", VerifyCert: verify},
			err: "certificate signed by unknown authority"},
		{desc: "https verify with ca", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/ok", VerifyCert: verify, CaCert: certPEM}, ok: true},
		{desc: "https sni", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/ok", VerifyCert: verify, CaCert: certPEM, Sni: "example.test"}, ok: true,
			want: seen{host: "api", uri: "/ok", ua: "pingap-health-check", sni: "example.test"}, check: true},
		{desc: "https wrong sni", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/ok", VerifyCert: verify, CaCert: certPEM, Sni: "other.test"},
			err: "certificate is valid for example.test, not other.test"},
		{desc: "https 5xx", cfg: &pb.Upstream{Addrs: []string{secureAddr}, HealthCheck: "https://api/fail"}, err: "status 503"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			// Not parallel: the subtests share the server's record of the
			// last request.
			u := newUpstream(t, tc.cfg)
			err := checkOnce(u, 0)
			if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("check = %v; want ok %v, error containing %q", err, tc.ok, tc.err)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if tc.check && got != tc.want {
				t.Errorf("server saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHTTPCheckerReuse(t *testing.T) {
	t.Parallel()
	for _, reuse := range []bool{false, true} {
		b := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { w.Write(bytes.Repeat([]byte("x"), 1000)) })
		check := "http://api/?reuse=false"
		if reuse {
			check = "http://api/?reuse=true"
		}
		u := newUpstream(t, &pb.Upstream{Addrs: []string{b.addr()}, HealthCheck: check})
		for range 5 {
			if err := checkOnce(u, 0); err != nil {
				t.Fatal(err)
			}
		}
		want := int64(5)
		if reuse {
			want = 1
		}
		if got := b.opened.Load(); got != want {
			t.Errorf("reuse=%v: %d connections for 5 probes, want %d", reuse, got, want)
		}
	}
}

func TestGRPCChecker(t *testing.T) {
	t.Parallel()
	plain := newGRPCHealthServer(t, nil)
	cert, certPEM := testCert(t)
	secure := newGRPCHealthServer(t, &cert)
	tests := []struct {
		desc string
		cfg  *pb.Upstream
		err  string // "" means pass
	}{
		{desc: "server serving", cfg: &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api"}},
		{desc: "service serving", cfg: &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api?service=svc"}},
		{desc: "service reused", cfg: &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api?service=svc&reuse=true"}},
		{desc: "not serving", cfg: &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api?service=down"}, err: "status NOT_SERVING"},
		{desc: "unknown service", cfg: &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api?service=nope"}, err: "NotFound"},
		{desc: "refused", cfg: &pb.Upstream{Addrs: []string{testbin.DeadAddr(t)}, HealthCheck: "grpc://api?connection_timeout=1s"}, err: "Unavailable"},
		{desc: "h2c to tls server", cfg: &pb.Upstream{Addrs: []string{secure.addr}, HealthCheck: "grpc://api?read_timeout=500ms"}, err: "Unavailable"},
		{desc: "tls", cfg: &pb.Upstream{Addrs: []string{secure.addr}, HealthCheck: "grpc://api?service=svc", Tls: true}},
		{desc: "tls verified", cfg: &pb.Upstream{Addrs: []string{secure.addr}, HealthCheck: "grpc://api", Sni: "example.test", VerifyCert: proto.Bool(true), CaCert: certPEM}},
		{desc: "tls unverified ca", cfg: &pb.Upstream{Addrs: []string{secure.addr}, HealthCheck: "grpc://api", Alpn: "h2", VerifyCert: proto.Bool(true)},
			err: "certificate signed by unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, tc.cfg)
			for range 2 { // the second probe reuses the connection when asked to
				err := checkOnce(u, 0)
				if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("check = %v, want error containing %q", err, tc.err)
				}
			}
		})
	}
	// A service going down is seen by the next probe of a reused connection.
	u := newUpstream(t, &pb.Upstream{Addrs: []string{plain.addr}, HealthCheck: "grpc://api?service=flip&reuse=true"})
	plain.health.SetServingStatus("flip", healthpb.HealthCheckResponse_SERVING)
	if err := checkOnce(u, 0); err != nil {
		t.Fatal(err)
	}
	plain.health.SetServingStatus("flip", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := checkOnce(u, 0); err == nil {
		t.Error("check passed after the service stopped serving")
	}
}

// TestThresholds steps the probes of one target with an injected After and
// checks that health flips after exactly `failure` failures and `success`
// passes.
func TestThresholds(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	b := newBackend(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) })
	after := newFakeAfter()
	var logs syncbuf.Buffer
	u, err := New("api", &pb.Upstream{Addrs: []string{b.addr()}, HealthCheck: "http://api/?success=2&failure=3&check_frequency=1s"},
		Options{After: after.After, Rand: func() uint64 { return 1 << 63 }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tg := u.Targets()[0]
	u.Start()
	u.Start() // idempotent: still one prober
	steps := []struct {
		status  int
		healthy bool
	}{
		{200, true},                            // the first probe runs at once
		{500, true}, {500, true}, {500, false}, // failure=3
		{200, false}, {500, false}, {200, false}, {200, true}, // success=2, counted in a row
		{503, true}, {200, true}, {503, true}, {503, true}, {503, false},
	}
	for i, s := range steps {
		if i > 0 {
			status.Store(int32(s.status))
			after.tick()
		}
		if d := after.wait(t); d != time.Second {
			t.Fatalf("step %d: waited %v, want 1s (rand at the middle of the jitter)", i, d)
		}
		if tg.Healthy() != s.healthy {
			t.Fatalf("step %d (status %d): healthy = %v, want %v", i, s.status, tg.Healthy(), s.healthy)
		}
	}
	if st := u.Status().Targets[0]; st.LastCheckError != "status 503" || st.ActiveHealth != ActiveUnhealthy {
		t.Errorf("status = %+v", st)
	}
	select {
	case d := <-after.waits:
		t.Fatalf("a second prober waited %v", d)
	default:
	}
	out := logs.String()
	for _, want := range []string{
		`msg="upstream target health changed" upstream=api target=` + b.addr() + ` healthy=false reason="health check failed 3 times: status 500"`,
		`healthy=true reason="health check passed 2 times"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rand uint64
		want time.Duration
	}{
		{0, 9 * time.Second},
		{1 << 63, 10 * time.Second},
		{^uint64(0), 11*time.Second - 1},
	}
	for _, tc := range tests {
		h := &activeHealth{hc: &HealthCheck{}, rand: func() uint64 { return tc.rand }}
		h.hc.CheckFrequency = 10 * time.Second
		if got := h.interval(); got != tc.want {
			t.Errorf("rand %#x: interval %v, want %v", tc.rand, got, tc.want)
		}
	}
}

// TestTargetRestarted closes a target's listener and opens it again on the
// same port: the target goes unhealthy, then healthy again.
func TestTargetRestarted(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{"tcp", "http"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			var srv interface{ addr() string }
			var stop, start func()
			if scheme == "tcp" {
				s := newTCPServer(t)
				srv, stop, start = tcpAddr{s}, s.stop, func() { s.start(t) }
			} else {
				s := newRestartableHTTP(t)
				srv, stop, start = s, s.stop, func() { s.start(t) }
			}
			other := newBackend(t, func(http.ResponseWriter, *http.Request) {})
			u, err := New("api", &pb.Upstream{Addrs: []string{srv.addr(), other.addr()}, HealthCheck: scheme + "://api/?check_frequency=10ms&failure=2&success=1&connection_timeout=1s"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			u.Start()
			tg := u.Targets()[0]
			eventually(t, "a probe", func() bool { return u.Status().Targets[0].ActiveHealth == ActiveHealthy && tg.checkPassCount() > 0 })
			stop()
			eventually(t, "unhealthy after the listener closed", func() bool { return !tg.Healthy() })
			for range 50 {
				if p := mustPick(t, u); p != u.Targets()[1] {
					t.Fatalf("picked %s while it is down", p.Addr())
				}
			}
			start()
			eventually(t, "healthy after the listener reopened", func() bool { return tg.Healthy() })
			if st := u.Status().Targets[0]; st.LastCheckError != "" || st.ActiveHealth != ActiveHealthy {
				t.Errorf("status after recovery = %+v", st)
			}
		})
	}
}

func (t *Target) checkPassCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checkPasses
}

type tcpAddr struct{ s *tcpServer }

func (a tcpAddr) addr() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.s.addr
}

// restartableHTTP is an HTTP server on a fixed port that can stop and start.
type restartableHTTP struct {
	mu  sync.Mutex
	srv *httptest.Server
	a   string
}

func newRestartableHTTP(t *testing.T) *restartableHTTP {
	r := &restartableHTTP{a: "127.0.0.1:0"}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *restartableHTTP) addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a
}

func (r *restartableHTTP) start(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s.Listener.Close()
	ln, err := listenAgain(r.addr())
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = ln
	s.Start()
	r.mu.Lock()
	r.srv, r.a = s, ln.Addr().String()
	r.mu.Unlock()
}

func (r *restartableHTTP) stop() {
	r.mu.Lock()
	s := r.srv
	r.srv = nil
	r.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// TestStartCloseGoroutines checks that Close stops every goroutine Start
// began, with checkers of each scheme and reused connections. Not parallel:
// it counts the process's goroutines.
func TestStartCloseGoroutines(t *testing.T) {
	tcpSrv := newTCPServer(t)
	httpSrv := newBackend(t, func(http.ResponseWriter, *http.Request) {})
	grpcSrv := newGRPCHealthServer(t, nil)
	cfgs := []*pb.Upstream{
		{Addrs: []string{tcpSrv.addr, testbin.DeadAddr(t)}, HealthCheck: "tcp://api?check_frequency=5ms"},
		{Addrs: []string{httpSrv.addr(), testbin.DeadAddr(t)}, HealthCheck: "http://api/?check_frequency=5ms&reuse=true"},
		{Addrs: []string{grpcSrv.addr, testbin.DeadAddr(t)}, HealthCheck: "grpc://api?check_frequency=5ms&reuse=true&connection_timeout=100ms"},
		{Addrs: []string{grpcSrv.addr}, HealthCheck: "grpc://api?check_frequency=5ms"},
	}
	time.Sleep(50 * time.Millisecond) // let the servers settle
	before := runtime.NumGoroutine()
	var ups []*Upstream
	for _, cfg := range cfgs {
		u, err := New("api", cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		u.Start()
		ups = append(ups, u)
	}
	for _, u := range ups {
		eventually(t, "two probes of each target", func() bool {
			for _, tg := range u.Targets() {
				tg.mu.Lock()
				n := tg.checkPasses + tg.checkFailures
				tg.mu.Unlock()
				if n < 2 {
					return false
				}
			}
			return true
		})
	}
	if n := runtime.NumGoroutine(); n <= before {
		t.Fatalf("%d goroutines while checking, %d before: the checks run no goroutines?", n, before)
	}
	for _, u := range ups {
		u.Close()
		u.Close() // idempotent
		u.Start() // no effect after Close
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
