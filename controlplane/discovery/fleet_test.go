package discovery_test

// These scenarios drive the server with the real data-plane agent. The
// import of dataplane/agent is test-only: the discovery package itself does
// not depend on the data plane.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/controlplane/discovery"
	"github.com/pingap-go/pingap/dataplane/agent"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

var (
	fleetNodes     = flag.Int("fleet-nodes", 200, "number of agents in TestFleetConvergence")
	fleetLocations = flag.Int("fleet-locations", 200, "locations in TestFleetConvergence's snapshots")
	fleetNoCodec   = flag.Bool("fleet-no-codec", false, "TestFleetConvergence without CodecOption: one marshal per stream")
)

// recApplier records the snapshots it applies by settings.name.
type recApplier struct {
	mu       sync.Mutex
	applied  []string
	attempts []string
	fail     map[string]string // name -> error
	delay    time.Duration
}

func (r *recApplier) Apply(s *pb.Snapshot) error {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	name := s.GetSettings().GetName()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, name)
	if e, ok := r.fail[name]; ok {
		return errors.New(e)
	}
	r.applied = append(r.applied, name)
	return nil
}

// Current reports nothing: the agent knows what it applied.
func (r *recApplier) Current() (uint64, string) { return 0, "" }

func (r *recApplier) snapshot() (applied, attempts []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied), slices.Clone(r.attempts)
}

func (r *recApplier) last() string {
	a, _ := r.snapshot()
	if len(a) == 0 {
		return ""
	}
	return a[len(a)-1]
}

// runAgent runs an agent until the test ends or the returned stop is
// called; stop waits for Run to return.
func runAgent(t testing.TB, a *agent.Agent) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func agentOpts(addr, id, cluster string) agent.Options {
	var log *slog.Logger
	if os.Getenv("DISCOVERY_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("agent", id)
	}
	return agent.Options{
		Logger:  log,
		Addr:    addr,
		Node:    &pb.Node{Id: id, Cluster: cluster},
		Backoff: agent.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

func TestAgentPushOnConnectThenNoRedundantPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	info := h.src.publish("default", snapshot("v1"))
	dir := t.TempDir()

	app := &recApplier{}
	opts := agentOpts(h.addr, "n1", "")
	opts.CacheDir = dir
	a := agent.New(app, opts)
	stop := runAgent(t, a)
	eventually(t, "v1 applied", func() bool { return app.last() == "v1" })
	eventually(t, "ack recorded", func() bool {
		return h.fleet.node("default", "n1").GetState() == pb.NodeState_NODE_STATE_SYNCED
	})
	if st := a.Status(); !st.Connected || st.ServerID != "cp-test" || st.RunningVersion != 1 || st.RunningHash != info.Hash {
		t.Fatalf("status %+v", st)
	}
	stop()

	// A restarted data plane boots from its cache, says so in Hello, and
	// gets no push of what it runs.
	app2 := &recApplier{}
	a2 := agent.New(app2, opts)
	if loaded, err := a2.Boot(); !loaded || err != nil {
		t.Fatalf("Boot: %v, %v", loaded, err)
	}
	runAgent(t, a2)
	eventually(t, "reconnected", func() bool { return a2.Status().Connected })
	time.Sleep(100 * time.Millisecond)
	if applied, _ := app2.snapshot(); !slices.Equal(applied, []string{"v1"}) {
		t.Fatalf("applies after restart %v, want only the boot's", applied)
	}
	if st := h.fleet.node("default", "n1"); st.GetRunningVersion() != 1 || st.GetPushedVersion() != 0 || st.GetState() != pb.NodeState_NODE_STATE_SYNCED {
		t.Fatalf("record %v", st)
	}
}

func TestAgentNackNotRepushedAfterReconnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	const why = "locations.api.path: invalid regex \"(\": missing closing )\nupstreams.api.targets: empty"
	app := &recApplier{fail: map[string]string{"v2": why}}
	a := agent.New(app, agentOpts(h.addr, "n1", ""))
	stop := runAgent(t, a)
	eventually(t, "v1", func() bool { return app.last() == "v1" })
	h.src.publish("default", snapshot("v2"))
	eventually(t, "nack recorded", func() bool {
		return h.fleet.node("default", "n1").GetLastNack().GetError() == why
	})
	if st := a.Status(); st.RunningVersion != 1 || st.LastApplyError != why {
		t.Fatalf("status %+v", st)
	}
	stop()
	runAgent(t, a)
	eventually(t, "reconnected", func() bool { return a.Status().Connected })
	time.Sleep(100 * time.Millisecond)
	if _, attempts := app.snapshot(); !slices.Equal(attempts, []string{"v1", "v2"}) {
		t.Fatalf("attempts %v: v2 pushed again", attempts)
	}
	h.src.publish("default", snapshot("v3"))
	eventually(t, "v3", func() bool { return app.last() == "v3" })
	eventually(t, "synced", func() bool {
		st := h.fleet.node("default", "n1")
		return st.GetRunningVersion() == 3 && st.GetState() == pb.NodeState_NODE_STATE_SYNCED
	})
}

func TestAgentCoalescing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	app := &recApplier{delay: 30 * time.Millisecond}
	runAgent(t, agent.New(app, agentOpts(h.addr, "n1", "")))
	eventually(t, "v1", func() bool { return app.last() == "v1" })
	for i := 2; i <= 6; i++ {
		h.src.publish("default", snapshot(fmt.Sprintf("v%d", i)))
	}
	eventually(t, "v6", func() bool { return app.last() == "v6" })
	applied, _ := app.snapshot()
	prev := 0
	for _, name := range applied {
		n, _ := strconv.Atoi(strings.TrimPrefix(name, "v"))
		if n <= prev {
			t.Fatalf("applied %v: an older version after a newer one", applied)
		}
		prev = n
	}
	if len(applied) >= 6 {
		t.Logf("no coalescing happened: %v", applied)
	}
}

func TestAgentsInTwoClusters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("a", snapshot("a1"))
	h.src.publish("b", snapshot("b1"))
	apps := map[string]*recApplier{}
	for _, cl := range []string{"a", "b"} {
		for i := range 3 {
			app := &recApplier{}
			apps[cl+strconv.Itoa(i)] = app
			runAgent(t, agent.New(app, agentOpts(h.addr, "n"+strconv.Itoa(i), cl)))
		}
	}
	h.src.publish("a", snapshot("a2"))
	for k, app := range apps {
		want := "b1"
		if k[0] == 'a' {
			want = "a2"
		}
		eventually(t, k+" on "+want, func() bool { return app.last() == want })
	}
	time.Sleep(50 * time.Millisecond)
	for k, app := range apps {
		applied, _ := app.snapshot()
		if k[0] == 'b' && !slices.Equal(applied, []string{"b1"}) {
			t.Fatalf("%s applied %v", k, applied)
		}
	}
}

func TestAgentHealthReachesFleet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{opts: discovery.Options{HealthInterval: 20 * time.Millisecond}})
	h.src.publish("default", snapshot("v1"))
	opts := agentOpts(h.addr, "n1", "")
	opts.Health = func() *pb.HealthReport { return &pb.HealthReport{Requests: 42} }
	runAgent(t, agent.New(&recApplier{}, opts))
	eventually(t, "health", func() bool {
		hr := h.fleet.node("default", "n1").GetLastHealth()
		return hr.GetRequests() == 42 && hr.GetRunningVersion() == 1 && hr.GetUptime() != nil && hr.GetTime() != nil
	})
}

// TestFleetConvergence runs many agents against one server and measures,
// for a few new versions, the time from the version's arrival in the Source
// to each node's ACK (as recorded in the Fleet). -fleet-nodes sets the
// number of agents.
func TestFleetConvergence(t *testing.T) {
	n := *fleetNodes
	if testing.Short() {
		n = min(n, 50)
	}
	var mu sync.Mutex
	acked := map[uint64]map[string]time.Time{}  // version -> node -> first record running it
	pushed := map[uint64]map[string]time.Time{} // version -> node -> first record of its push
	first := func(m map[uint64]map[string]time.Time, v uint64, id string, at time.Time) {
		if v == 0 {
			return
		}
		if m[v] == nil {
			m[v] = map[string]time.Time{}
		}
		if _, ok := m[v][id]; !ok {
			m[v][id] = at
		}
	}
	ff := newFakeFleet()
	ff.onPut = func(st *pb.NodeStatus) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		first(acked, st.GetRunningVersion(), st.GetNode().GetId(), now)
		first(pushed, st.GetPushedVersion(), st.GetNode().GetId(), now)
	}
	count := func(v uint64) int { mu.Lock(); defer mu.Unlock(); return len(acked[v]) }
	h := newHarness(t, harnessOpts{ff: ff, noCodec: *fleetNoCodec, opts: discovery.Options{HealthInterval: time.Hour}})
	// A snapshot of some size, so that encoding counts.
	big := func(name string) *pb.Snapshot {
		s := snapshot(name)
		s.Locations = map[string]*pb.Location{}
		for i := range *fleetLocations {
			s.Locations[fmt.Sprintf("loc%05d", i)] = &pb.Location{Path: fmt.Sprintf("/api/v%d/", i), Upstream: "up"}
		}
		return s
	}
	h.src.publish("default", big("v1"))

	start := time.Now()
	for i := range n {
		opts := agentOpts(h.addr, fmt.Sprintf("node-%04d", i), "")
		opts.Backoff = agent.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
		runAgent(t, agent.New(&recApplier{}, opts))
	}
	waitAll := func(v uint64) {
		deadline := time.Now().Add(60 * time.Second)
		for count(v) < n {
			if time.Now().After(deadline) {
				t.Fatalf("version %d: %d of %d nodes acknowledged within 60s", v, count(v), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitAll(1)
	t.Logf("%d agents connected and running v1 (%d bytes) in %v", n, proto.Size(big("v1")), time.Since(start).Round(time.Millisecond))

	for v := uint64(2); v <= 4; v++ {
		t0 := time.Now()
		h.src.publish("default", big(fmt.Sprintf("v%d", v)))
		waitAll(v)
		mu.Lock()
		ack, push := percentiles(acked[v], t0), percentiles(pushed[v], t0)
		mu.Unlock()
		t.Logf("v%d to %d nodes: pushes recorded p50 %v, p99 %v, last %v; ACKs p50 %v, p99 %v, last %v",
			v, n, push[0], push[1], push[2], ack[0], ack[1], ack[2])
	}
}

// percentiles returns the p50, p99 and maximum of the times since t0.
func percentiles(at map[string]time.Time, t0 time.Time) [3]time.Duration {
	lat := make([]time.Duration, 0, len(at))
	for _, a := range at {
		lat = append(lat, a.Sub(t0))
	}
	if len(lat) == 0 {
		return [3]time.Duration{}
	}
	slices.Sort(lat)
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	return [3]time.Duration{r(lat[len(lat)/2]), r(lat[len(lat)*99/100]), r(lat[len(lat)-1])}
}
