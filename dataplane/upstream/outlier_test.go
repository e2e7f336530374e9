package upstream

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// newOutlierTest builds upstream "api" over addrs on a fake clock.
func newOutlierTest(tb testing.TB, cfg *pb.Upstream, addrs ...string) (*Upstream, *fakeClock) {
	tb.Helper()
	clk := newFakeClock()
	cfg.Addrs = addrs
	rng := rand.New(rand.NewPCG(3, 4))
	var mu sync.Mutex
	u, err := New("api", cfg, Options{Now: clk.Now, Rand: func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return rng.Uint64()
	}})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(u.Close)
	return u, clk
}

// od returns an OutlierDetection with the given consecutive failures, base
// and max ejection time and percent.
func od(failures uint32, base, maxTime time.Duration, pct uint32) *pb.OutlierDetection {
	return &pb.OutlierDetection{
		ConsecutiveFailures: failures,
		BaseEjectionTime:    durationpb.New(base),
		MaxEjectionTime:     durationpb.New(maxTime),
		MaxEjectionPercent:  pct,
	}
}

func observeN(t *Target, o Outcome, n int) {
	for range n {
		t.Observe(o)
	}
}

func TestEjectionDoublingAndCap(t *testing.T) {
	t.Parallel()
	u, clk := newOutlierTest(t, &pb.Upstream{OutlierDetection: od(3, 10*time.Second, 35*time.Second, 50)}, addrsN(4)...)
	tg := u.targets[0]
	observeN(tg, ServerError, 2)
	tg.Observe(Success) // breaks the streak
	observeN(tg, Timeout, 2)
	if !tg.Healthy() || u.Status().Targets[0].ConsecutiveFailures != 2 {
		t.Fatalf("ejected before 3 consecutive failures: %+v", u.Status().Targets[0])
	}
	tg.Observe(ConnectFailure)
	st := u.Status().Targets[0]
	if tg.Healthy() || !st.Ejected || st.Ejections != 1 || !st.EjectedUntil.Equal(clk.Now().Add(10*time.Second)) || st.ConsecutiveFailures != 0 {
		t.Fatalf("after 3 failures: healthy %v, status %+v", tg.Healthy(), st)
	}
	// Each failed half-open probe doubles the time, up to the cap.
	for i, want := range []time.Duration{20 * time.Second, 35 * time.Second, 35 * time.Second} {
		prev := u.Status().Targets[0].EjectedUntil
		clk.Advance(prev.Sub(clk.Now()) - time.Nanosecond)
		if tg.Healthy() || tg.claim() {
			t.Fatalf("ejection %d: usable before its time is over", i+1)
		}
		clk.Advance(time.Nanosecond)
		if !tg.Healthy() {
			t.Fatalf("ejection %d: not half-open after its time", i+1)
		}
		if !tg.claim() || tg.claim() || tg.Healthy() {
			t.Fatalf("ejection %d: half-open admits other than exactly one probe", i+1)
		}
		tg.Observe(ServerError)
		st := u.Status().Targets[0]
		if got := st.EjectedUntil.Sub(clk.Now()); got != want || st.Ejections != i+2 || tg.Healthy() {
			t.Fatalf("after failed probe %d: ejected for %v (ejections %d), want %v (%d)", i+1, got, st.Ejections, want, i+2)
		}
	}
	clk.Advance(35 * time.Second)
	if !tg.claim() {
		t.Fatal("no probe after the capped ejection")
	}
	tg.Observe(Success)
	st = u.Status().Targets[0]
	if !tg.Healthy() || st.Ejected || !st.EjectedUntil.IsZero() || st.Ejections != 4 || u.pool.ejected.Load() != 0 {
		t.Fatalf("after a successful probe: healthy %v, status %+v", tg.Healthy(), st)
	}
	// The count decays after a streak of successes: the next ejection is
	// the base time again.
	observeN(tg, Success, EjectionResetStreak-1)
	if got := u.Status().Targets[0].Ejections; got != 4 {
		t.Fatalf("ejections reset after %d successes: %d", EjectionResetStreak-1, got)
	}
	tg.Observe(Success)
	if got := u.Status().Targets[0].Ejections; got != 0 {
		t.Fatalf("ejections after %d successes: %d, want 0", EjectionResetStreak, got)
	}
	observeN(tg, ServerError, 3)
	if got := u.Status().Targets[0].EjectedUntil.Sub(clk.Now()); got != 10*time.Second {
		t.Errorf("ejection after the reset lasts %v, want 10s", got)
	}
}

func TestEjectionIgnoresOutcomesDuringIt(t *testing.T) {
	t.Parallel()
	u, clk := newOutlierTest(t, &pb.Upstream{}, addrsN(3)...)
	tg := u.targets[1]
	observeN(tg, ServerError, DefaultConsecutiveFailures)
	before := u.Status().Targets[1]
	if !before.Ejected || !before.EjectedUntil.Equal(clk.Now().Add(DefaultBaseEjectionTime)) {
		t.Fatalf("default config: not ejected for 10s after 5 failures: %+v", before)
	}
	clk.Advance(5 * time.Second)
	observeN(tg, Success, 3) // requests begun before the ejection
	observeN(tg, ServerError, 10)
	if after := u.Status().Targets[1]; after != before {
		t.Errorf("outcomes during the ejection changed the state:\n%+v\n%+v", before, after)
	}
}

func TestMaxEjectionPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, pct, want int
	}{
		{n: 1, pct: 50, want: 0},
		{n: 2, pct: 50, want: 1},
		{n: 4, pct: 50, want: 2},
		{n: 5, pct: 50, want: 2},
		{n: 4, pct: 0, want: 2}, // default 50
		{n: 3, pct: 100, want: 2},
		{n: 10, pct: 10, want: 1},
		{n: 10, pct: 5, want: 0},
	}
	for _, tc := range tests {
		u, _ := newOutlierTest(t, &pb.Upstream{OutlierDetection: od(2, time.Second, time.Minute, uint32(tc.pct))}, addrsN(tc.n)...)
		for _, tg := range u.targets {
			observeN(tg, ServerError, 2)
		}
		ejected, healthy := 0, 0
		for _, st := range u.Status().Targets {
			if st.Ejected {
				ejected++
			}
			if st.Healthy {
				healthy++
			}
		}
		if ejected != tc.want || healthy != tc.n-tc.want || int(u.pool.ejected.Load()) != tc.want {
			t.Errorf("%d targets, %d%%: %d ejected, %d healthy; want %d ejected", tc.n, tc.pct, ejected, healthy, tc.want)
		}
		// Failures keep counting on the targets left in; one ejects as soon
		// as the budget allows.
		if tc.want > 0 {
			var in, out *Target
			for _, tg := range u.targets {
				if tg.Healthy() {
					in = tg
				} else {
					out = tg
				}
			}
			if in == nil || out == nil {
				t.Fatalf("%d targets: in %v, out %v", tc.n, in, out)
			}
			out.mu.Lock()
			out.restore()
			out.updateTracking()
			out.mu.Unlock()
			in.Observe(ServerError)
			if in.Healthy() {
				t.Errorf("%d targets, %d%%: a target over the threshold was not ejected when the budget freed", tc.n, tc.pct)
			}
		}
	}
}

func TestHalfOpenAdmitsOneProbe(t *testing.T) {
	t.Parallel()
	for _, algo := range allAlgos {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			u, clk := newOutlierTest(t, &pb.Upstream{Algo: algo, OutlierDetection: od(1, 10*time.Second, time.Minute, 100)}, addrsN(2)...)
			probe, other := u.targets[0], u.targets[1]
			probe.Observe(ServerError)
			other.SetHealthy(false)
			r, ip := variedRequest(7)
			if tg, err := u.Pick(r, ip); !errors.Is(err, ErrNoTarget) {
				t.Fatalf("during the ejection: Pick = %v, %v", tg, err)
			}
			clk.Advance(10 * time.Second)
			concurrentPicks := func() int {
				var wg sync.WaitGroup
				var mu sync.Mutex
				got := 0
				start := make(chan struct{})
				for g := range 32 {
					wg.Go(func() {
						r, ip := variedRequest(g)
						<-start
						tg, err := u.Pick(r, ip)
						if err == nil {
							mu.Lock()
							got++
							mu.Unlock()
							if tg != probe {
								t.Errorf("picked %s", tg.Addr())
							}
						}
					})
				}
				close(start)
				wg.Wait()
				return got
			}
			if n := concurrentPicks(); n != 1 {
				t.Fatalf("half-open: %d of 32 concurrent picks got the target, want exactly 1", n)
			}
			if n := concurrentPicks(); n != 0 {
				t.Fatalf("probe in flight: %d picks got the target", n)
			}
			// A probe whose outcome never comes frees the slot after the
			// connection and read timeouts.
			clk.Advance(DefaultConnectionTimeout + DefaultReadTimeout)
			if n := concurrentPicks(); n != 1 {
				t.Fatalf("after the probe timed out: %d picks got the target, want 1", n)
			}
			probe.Observe(Success)
			if n := concurrentPicks(); n != 32 {
				t.Fatalf("restored: %d of 32 picks got the target", n)
			}
		})
	}
}

func TestEjectedSkippedByBalancers(t *testing.T) {
	t.Parallel()
	for _, algo := range allAlgos {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			u, _ := newOutlierTest(t, &pb.Upstream{Algo: algo}, addrsN(4, 3, 1, 2, 1)...)
			observeN(u.targets[0], ConnectFailure, 5)
			observeN(u.targets[2], Timeout, 5)
			if u.pool.healthyWeight.Load() != 2 {
				t.Fatalf("healthy weight %d, want 2", u.pool.healthyWeight.Load())
			}
			seen := map[*Target]int{}
			for i := range 2000 {
				r, ip := variedRequest(i)
				tg, err := u.Pick(r, ip)
				if err != nil {
					t.Fatal(err)
				}
				seen[tg]++
			}
			if len(seen) != 2 || seen[u.targets[0]] > 0 || seen[u.targets[2]] > 0 {
				t.Errorf("picks %v include ejected targets", seen)
			}
		})
	}
}

func TestOutlierDisabled(t *testing.T) {
	t.Parallel()
	u, _ := newOutlierTest(t, &pb.Upstream{OutlierDetection: &pb.OutlierDetection{Disabled: true}}, addrsN(2)...)
	observeN(u.targets[0], ServerError, 100)
	if st := u.Status().Targets[0]; !st.Healthy || st.Ejected || st.ConsecutiveFailures != 0 {
		t.Errorf("disabled detection changed the target: %+v", st)
	}
}

func TestOutlierConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		od   *pb.OutlierDetection
		want string
	}{
		{desc: "max below base", od: od(5, time.Minute, time.Second, 50),
			want: "upstreams.api.outlier_detection.max_ejection_time: 1s is shorter than base_ejection_time 1m0s"},
		{desc: "percent", od: od(5, 0, 0, 101), want: "upstreams.api.outlier_detection.max_ejection_percent: 101 is over 100"},
		{desc: "negative", od: &pb.OutlierDetection{BaseEjectionTime: durationpb.New(-time.Second)},
			want: "upstreams.api.outlier_detection.base_ejection_time: invalid duration -1s: negative"},
	}
	for _, tc := range tests {
		_, err := New("api", &pb.Upstream{Addrs: addrsN(2), OutlierDetection: tc.od}, Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.desc, err, tc.want)
		}
	}
}

func TestFailOpen(t *testing.T) {
	t.Parallel()
	for _, algo := range allAlgos {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			closed, _ := newOutlierTest(t, &pb.Upstream{Algo: algo}, addrsN(3)...)
			open, _ := newOutlierTest(t, &pb.Upstream{Algo: algo, FailOpen: true}, addrsN(3)...)
			for _, u := range []*Upstream{closed, open} {
				u.targets[0].SetHealthy(false)
				u.targets[1].SetHealthy(false)
				observeN(u.targets[2], ServerError, 5) // ejected too
				u.targets[2].SetHealthy(false)
			}
			seen := map[*Target]int{}
			for i := range 3000 {
				r, ip := variedRequest(i)
				if tg, err := closed.Pick(r, ip); !errors.Is(err, ErrNoTarget) {
					t.Fatalf("without fail_open: Pick = %v, %v", tg, err)
				}
				tg, err := open.Pick(r, ip)
				if err != nil {
					t.Fatalf("fail_open: %v", err)
				}
				seen[tg]++
			}
			if len(seen) != 3 {
				t.Errorf("fail_open picked %d distinct targets, want all 3: %v", len(seen), seen)
			}
			// Fail open only when nothing is usable.
			open.targets[1].SetHealthy(true)
			for i := range 200 {
				r, ip := variedRequest(i)
				if tg, err := open.Pick(r, ip); err != nil || tg != open.targets[1] {
					t.Fatalf("one usable target: Pick = %v, %v", tg, err)
				}
			}
		})
	}
}

func TestPreviousCarriesState(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	opts := Options{Now: clk.Now}
	prev, err := New("api", &pb.Upstream{Addrs: []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.9:80"}, HealthCheck: "tcp://api",
		OutlierDetection: od(3, 10*time.Second, time.Minute, 50)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer prev.Close()
	a, b, c := prev.targets[0], prev.targets[1], prev.targets[2]
	a.recordCheck(prev.health.hc, errors.New("connection refused"))
	a.recordCheck(prev.health.hc, errors.New("connection refused"))
	observeN(b, ServerError, 3)
	observeN(b, ServerError, 3) // ignored: ejected
	clk.Advance(2 * time.Second)
	observeN(c, Timeout, 2)
	prevStatus := prev.Status()

	build := func(cfg *pb.Upstream) *Upstream {
		cfg.Addrs = []string{"10.0.0.4:80", "10.0.0.3:80", "10.0.0.2:80 5", "10.0.0.1:80"}
		o := opts
		o.Previous = prev
		u, err := New("api", cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(u.Close)
		return u
	}
	u := build(&pb.Upstream{HealthCheck: "tcp://api?failure=5", OutlierDetection: od(3, 10*time.Second, time.Minute, 50)})
	got := u.Status().Targets
	if got[0].Addr != "10.0.0.4:80" || !got[0].Healthy || got[0].ActiveHealth != ActiveHealthy || got[0].Ejections != 0 {
		t.Errorf("new target: %+v, want fresh and healthy", got[0])
	}
	if got[1].ConsecutiveFailures != 2 || !got[1].Healthy {
		t.Errorf("c: %+v, want 2 consecutive failures carried", got[1])
	}
	if !got[2].Ejected || !got[2].EjectedUntil.Equal(prevStatus.Targets[1].EjectedUntil) || got[2].Ejections != 1 || got[2].Healthy || got[2].Weight != 5 {
		t.Errorf("b: %+v, want the ejection carried (was %+v)", got[2], prevStatus.Targets[1])
	}
	if got[3].ActiveHealth != ActiveUnhealthy || got[3].Healthy || got[3].LastCheckError != "connection refused" {
		t.Errorf("a: %+v, want unhealthy carried", got[3])
	}
	if u.pool.ejected.Load() != 1 || u.pool.healthyWeight.Load() != 2 {
		t.Errorf("pool: %d ejected, healthy weight %d; want 1, 2", u.pool.ejected.Load(), u.pool.healthyWeight.Load())
	}
	observeN(u.targets[1], Timeout, 1)
	if u.targets[1].Healthy() {
		t.Error("c: the carried failures did not count toward the ejection")
	}
	// The carried state goes on: b's ejection ends at the same time.
	clk.Advance(8 * time.Second)
	if !u.targets[2].claim() {
		t.Error("b: not half-open when its carried ejection ended")
	}

	// Without a health check (nothing would clear it) active health is not
	// carried; without outlier detection, ejections are not.
	u = build(&pb.Upstream{OutlierDetection: &pb.OutlierDetection{Disabled: true}})
	for _, st := range u.Status().Targets {
		if !st.Healthy || st.Ejected || st.ActiveHealth != ActiveUnchecked || st.ConsecutiveFailures != 0 {
			t.Errorf("nothing to carry into: %+v", st)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	u, clk := newOutlierTest(t, &pb.Upstream{HealthCheck: "http://api/ping", FailOpen: true}, "10.0.0.1:80 2", "10.0.0.2:80", "10.0.0.3:80")
	u.targets[0].recordCheck(u.health.hc, errors.New("status 503"))
	u.targets[0].recordCheck(u.health.hc, errors.New("status 503"))
	observeN(u.targets[1], ServerError, 5)
	u.targets[2].Observe(Timeout)
	done := u.targets[2].Begin()
	defer done()
	clk.Advance(time.Second)
	b, err := json.MarshalIndent(u.Status(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "api",
  "health_check": "http://api/ping",
  "fail_open": true,
  "targets": [
    {
      "addr": "10.0.0.1:80",
      "weight": 2,
      "healthy": false,
      "active_health": "unhealthy",
      "ejected": false,
      "ejections": 0,
      "consecutive_failures": 0,
      "active": 0,
      "last_check_error": "status 503"
    },
    {
      "addr": "10.0.0.2:80",
      "weight": 1,
      "healthy": false,
      "active_health": "healthy",
      "ejected": true,
      "ejected_until": "2026-01-02T03:04:15Z",
      "ejections": 1,
      "consecutive_failures": 0,
      "active": 0
    },
    {
      "addr": "10.0.0.3:80",
      "weight": 1,
      "healthy": true,
      "active_health": "healthy",
      "ejected": false,
      "ejections": 0,
      "consecutive_failures": 1,
      "active": 1
    }
  ]
}`
	if string(b) != want {
		t.Errorf("status JSON:\n%s\nwant\n%s", b, want)
	}
	if got := strings.Count(string(b), "unchecked"); got != 0 {
		t.Errorf("unchecked with a health check")
	}
	plain, _ := newOutlierTest(t, &pb.Upstream{}, "10.0.0.1:80")
	if st := plain.Status(); st.Targets[0].ActiveHealth != ActiveUnchecked || st.HealthCheck != "" {
		t.Errorf("without health check: %+v", st)
	}
}

// TestObserveNoAllocations is not parallel: AllocsPerRun forbids it.
func TestObserveNoAllocations(t *testing.T) {
	u := newTest(t, "round_robin", addrsN(3)...)
	tg := u.targets[0]
	if allocs := testing.AllocsPerRun(1000, func() { tg.Observe(Success) }); allocs != 0 {
		t.Errorf("Observe(Success) allocates %v times", allocs)
	}
}

// Ejections are counted in pingap_upstream_ejections_total.
func TestEjectionsCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := observe.NewMetrics(reg)
	u, err := New("api", &pb.Upstream{Addrs: addrsN(4), OutlierDetection: od(2, 10*time.Second, time.Minute, 50)},
		Options{Metrics: m.Upstream("api")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	observeN(u.targets[0], ServerError, 2)
	observeN(u.targets[1], ServerError, 1) // not yet ejected
	want := `# HELP pingap_upstream_ejections_total Targets ejected by outlier detection (a failed half-open probe ejects again), by upstream.
# TYPE pingap_upstream_ejections_total counter
pingap_upstream_ejections_total{upstream="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pingap_upstream_ejections_total"); err != nil {
		t.Fatal(err)
	}
}
