package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/upstream/h1client"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		cfg  *pb.Upstream
		want string // error prefix
	}{
		{desc: "nil config", cfg: nil, want: "upstreams.api: missing config"},
		{desc: "no addrs", cfg: &pb.Upstream{}, want: "upstreams.api.addrs: at least one target is required"},
		{desc: "bad addr", cfg: &pb.Upstream{Addrs: []string{"127.0.0.1:80", "nope"}}, want: `upstreams.api.addrs[1]: invalid address "nope"`},
		{desc: "bad port", cfg: &pb.Upstream{Addrs: []string{"127.0.0.1:0"}}, want: `upstreams.api.addrs[0]: invalid address "127.0.0.1:0": port`},
		{desc: "bad weight", cfg: &pb.Upstream{Addrs: []string{"a:1", "b:1 0"}}, want: `upstreams.api.addrs[1]: invalid address "b:1 0": weight`},
		{desc: "duplicate", cfg: &pb.Upstream{Addrs: []string{"a:1", "b:1", "a:1 3"}}, want: `upstreams.api.addrs[2]: duplicate target "a:1" (also addrs[0])`},
		{desc: "unknown algo", cfg: &pb.Upstream{Addrs: []string{"a:1"}, Algo: "fastest"}, want: `upstreams.api.algo: unknown algo "fastest"`},
		{desc: "hash without name", cfg: &pb.Upstream{Addrs: []string{"a:1"}, Algo: "hash:header:"}, want: "upstreams.api.algo: invalid algo"},
		{desc: "negative timeout", cfg: &pb.Upstream{Addrs: []string{"a:1"}, ReadTimeout: durationpb.New(-time.Second)}, want: "upstreams.api.read_timeout: invalid duration -1s: negative"},
		{desc: "invalid duration", cfg: &pb.Upstream{Addrs: []string{"a:1"}, ConnectionTimeout: &durationpb.Duration{Seconds: 1, Nanos: -5}}, want: "upstreams.api.connection_timeout: invalid duration"},
		{desc: "write timeout", cfg: &pb.Upstream{Addrs: []string{"a:1"}, WriteTimeout: durationpb.New(-1)}, want: "upstreams.api.write_timeout:"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := New("api", tc.cfg, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestNewTransportSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		cfg      *pb.Upstream
		opts     Options
		read     time.Duration
		idle     time.Duration
		poolSize int
	}{
		{desc: "defaults", cfg: &pb.Upstream{}, read: 60 * time.Second, idle: 90 * time.Second, poolSize: DefaultPoolSize},
		{desc: "settings pool size", cfg: &pb.Upstream{}, opts: Options{DefaultPoolSize: 16}, read: 60 * time.Second, idle: 90 * time.Second, poolSize: 16},
		{desc: "explicit", cfg: &pb.Upstream{
			ReadTimeout: durationpb.New(5 * time.Second), IdleTimeout: durationpb.New(time.Second), KeepalivePoolSize: 4,
		}, opts: Options{DefaultPoolSize: 16}, read: 5 * time.Second, idle: time.Second, poolSize: 4},
		{desc: "zero means default", cfg: &pb.Upstream{ReadTimeout: durationpb.New(0)}, read: 60 * time.Second, idle: 90 * time.Second, poolSize: DefaultPoolSize},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Addrs = []string{"127.0.0.1:9"}
			u, err := New("api", tc.cfg, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := u.Transport().(*h1client.Client); !ok {
				t.Fatalf("HTTP/1.1 upstream uses %T, want the synchronous *h1client.Client", u.Transport())
			}
			got, err := parseTransportConfig("upstreams.api", tc.cfg, tc.opts.DefaultPoolSize)
			if err != nil {
				t.Fatal(err)
			}
			if got.read != tc.read || got.idle != tc.idle || got.poolSize != tc.poolSize {
				t.Errorf("read %v idle %v pool %d; want %v %v %d", got.read, got.idle, got.poolSize, tc.read, tc.idle, tc.poolSize)
			}
			// The same settings on an HTTP/2 upstream reach net/http's transport.
			h2cfg := proto.Clone(tc.cfg).(*pb.Upstream)
			h2cfg.Alpn = "h2c"
			u2, err := New("api", h2cfg, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tr := u2.Transport().(*http.Transport)
			if tr.ResponseHeaderTimeout != tc.read || tr.IdleConnTimeout != tc.idle || tr.MaxIdleConnsPerHost != tc.poolSize {
				t.Errorf("h2c: read %v idle %v pool %d; want %v %v %d", tr.ResponseHeaderTimeout, tr.IdleConnTimeout, tr.MaxIdleConnsPerHost, tc.read, tc.idle, tc.poolSize)
			}
			if tr.Proxy != nil || !tr.DisableCompression || tr.MaxIdleConns != 0 || tr.ExpectContinueTimeout != time.Second {
				t.Errorf("transport settings differ: %+v", tr)
			}
			if tr.Protocols == nil || !tr.Protocols.UnencryptedHTTP2() || tr.Protocols.HTTP1() {
				t.Errorf("protocols = %v, want h2c only", tr.Protocols)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	cfg := &pb.Upstream{Addrs: []string{"127.0.0.1:8001 3", "[::1]:8002"}, Algo: "least_conn"}
	u, err := New("api", cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name() != "api" {
		t.Errorf("Name = %q", u.Name())
	}
	if !proto.Equal(u.Config(), cfg) {
		t.Errorf("Config = %v, want %v", u.Config(), cfg)
	}
	cfg.Algo = "random"
	if u.Config().GetAlgo() != "least_conn" {
		t.Error("Config changed with the caller's message; want a copy")
	}
	ts := u.Targets()
	if len(ts) != 2 || ts[0].Addr() != "127.0.0.1:8001" || ts[0].Weight() != 3 || ts[1].Addr() != "[::1]:8002" || ts[1].Weight() != 1 {
		t.Fatalf("Targets = %v", ts)
	}
	ts[0] = nil
	if u.Targets()[0] == nil {
		t.Error("Targets returned the internal slice")
	}
	tg := u.Targets()[0]
	done1, done2 := tg.Begin(), tg.Begin()
	if tg.Active() != 2 || u.pool.inflight.Load() != 2 {
		t.Errorf("Active = %d, in flight %d; want 2, 2", tg.Active(), u.pool.inflight.Load())
	}
	done1()
	done2()
	if tg.Active() != 0 || u.pool.inflight.Load() != 0 {
		t.Errorf("after done: Active = %d, in flight %d", tg.Active(), u.pool.inflight.Load())
	}
}

// TestNoAllocations is not parallel: AllocsPerRun forbids it.
func TestNoAllocations(t *testing.T) {
	for _, algo := range allAlgos {
		u := newTest(t, algo, addrsN(5, 1, 2, 3, 4, 5)...)
		r, ip := variedRequest(42)
		if allocs := testing.AllocsPerRun(200, func() {
			tg, _ := u.Pick(r, ip)
			tg.Begin()()
		}); allocs != 0 {
			t.Errorf("%s: Pick and Begin allocate %v times", algo, allocs)
		}
	}
}

func TestHealthLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	u, err := New("api", &pb.Upstream{Addrs: addrsN(2, 2, 3)}, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tg := u.Targets()[1]
	tg.SetHealthy(false)
	tg.SetHealthy(false) // no change, no log
	if tg.Healthy() || u.pool.healthyWeight.Load() != 2 {
		t.Errorf("Healthy = %v, healthy weight %d; want false, 2", tg.Healthy(), u.pool.healthyWeight.Load())
	}
	tg.SetHealthy(true)
	if !tg.Healthy() || u.pool.healthyWeight.Load() != 5 {
		t.Errorf("Healthy = %v, healthy weight %d; want true, 5", tg.Healthy(), u.pool.healthyWeight.Load())
	}
	if n := strings.Count(buf.String(), "health changed"); n != 2 {
		t.Errorf("logged %d health changes, want 2:\n%s", n, buf.String())
	}
}

var allAlgos = []string{"round_robin", "least_conn", "random", "hash:ip", "hash:url", "hash:header:X-Key", "hash:cookie:k", "hash:query:k"}

// variedRequest returns the i-th of a set of requests with different keys for
// every hash algorithm.
func variedRequest(i int) (*http.Request, netip.Addr) {
	r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/p/%d?k=%d", i, i), nil)
	r.Header.Set("X-Key", fmt.Sprint(i))
	r.Header.Set("Cookie", fmt.Sprintf("k=%d", i))
	return r, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func TestUnhealthyNeverPicked(t *testing.T) {
	t.Parallel()
	for _, algo := range allAlgos {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, algo, addrsN(4, 3, 1, 2, 1)...)
			u.targets[0].SetHealthy(false)
			u.targets[2].SetHealthy(false)
			seen := map[*Target]int{}
			for i := range 2000 {
				r, ip := variedRequest(i)
				tg, err := u.Pick(r, ip)
				if err != nil {
					t.Fatal(err)
				}
				if !tg.Healthy() {
					t.Fatalf("picked unhealthy %s", tg.Addr())
				}
				seen[tg]++
			}
			if len(seen) != 2 {
				t.Errorf("picked %d distinct targets, want the 2 healthy ones", len(seen))
			}
			for _, tg := range u.targets {
				tg.SetHealthy(false)
			}
			r, ip := variedRequest(1)
			if tg, err := u.Pick(r, ip); !errors.Is(err, ErrNoTarget) || tg != nil {
				t.Errorf("all unhealthy: Pick = %v, %v; want nil, ErrNoTarget", tg, err)
			}
			u.targets[3].SetHealthy(true)
			if tg, err := u.Pick(r, ip); err != nil || tg != u.targets[3] {
				t.Errorf("one healthy again: Pick = %v, %v; want %s", tg, err, u.targets[3].Addr())
			}
		})
	}
}

func TestConcurrentPicks(t *testing.T) {
	t.Parallel()
	for _, algo := range allAlgos {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			u, err := New("api", &pb.Upstream{Addrs: addrsN(4, 3, 1, 2, 1), Algo: algo}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 8)
			for g := range 8 {
				go func() {
					for i := range 500 {
						r, ip := variedRequest(g*1000 + i)
						tg, err := u.Pick(r, ip)
						if err != nil {
							errs <- err
							return
						}
						done := tg.Begin()
						if i%50 == 0 {
							u.targets[i%4].SetHealthy(i%100 != 0)
						}
						done()
					}
					errs <- nil
				}()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if n := u.pool.inflight.Load(); n != 0 {
				t.Errorf("in flight after all done: %d", n)
			}
		})
	}
}
