package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/controlplane/discovery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func code(err error) codes.Code { return status.Code(err) }

func TestHelloRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	tests := []struct {
		desc string
		req  *pb.StreamRequest
		want codes.Code
	}{
		{"ack before hello", &pb.StreamRequest{Message: &pb.StreamRequest_Ack{Ack: &pb.Ack{Version: 1}}}, codes.InvalidArgument},
		{"empty message before hello", &pb.StreamRequest{}, codes.InvalidArgument},
		{"hello without node", &pb.StreamRequest{Message: &pb.StreamRequest_Hello{Hello: &pb.Hello{}}}, codes.InvalidArgument},
		{"hello without node id", helloMsg("", "c1", 0, "", ""), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := dial(t, h.addr)
			c.send(tt.req)
			if got := code(c.ended()); got != tt.want {
				t.Fatalf("code %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("second hello", func(t *testing.T) {
		t.Parallel()
		c := dial(t, h.addr)
		c.hello("n2", "c2", 0, "")
		c.welcome()
		c.hello("n2", "c2", 0, "")
		if got := code(c.ended()); got != codes.InvalidArgument {
			t.Fatalf("code %v, want InvalidArgument", got)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{opts: discovery.Options{
		Authenticate: func(_ context.Context, hello *pb.Hello) error {
			switch {
			case hello.GetToken() == "good":
				return nil
			case hello.GetToken() == "other-cluster":
				return fmt.Errorf("token of another cluster: %w", discovery.ErrPermissionDenied)
			case hello.GetToken() == "status":
				return status.Error(codes.ResourceExhausted, "slow down")
			}
			return errors.New("bad token")
		},
	}})
	h.src.publish("default", snapshot("v1"))
	tests := []struct {
		token string
		want  codes.Code
	}{
		{"bad", codes.Unauthenticated},
		{"", codes.Unauthenticated},
		{"other-cluster", codes.PermissionDenied},
		{"status", codes.ResourceExhausted},
	}
	for _, tt := range tests {
		c := dial(t, h.addr)
		c.send(helloMsg("n1", "", 0, "", tt.token))
		if got := code(c.ended()); got != tt.want {
			t.Errorf("token %q: code %v, want %v", tt.token, got, tt.want)
		}
	}
	if got := len(h.fleet.goneList()); got != 0 || h.fleet.node("default", "n1") != nil {
		t.Fatal("a refused node was recorded")
	}
	c := dial(t, h.addr)
	c.send(helloMsg("n1", "", 0, "", "good"))
	c.welcome()
	if p := c.push(); p.Version != 1 {
		t.Fatalf("pushed version %d, want 1", p.Version)
	}
}

func TestWelcomeThenPush(t *testing.T) {
	t.Parallel()
	for _, noCodec := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCodec=%v", noCodec), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{noCodec: noCodec, opts: discovery.Options{HealthInterval: 3 * time.Second}})
			snap := snapshot("v1")
			snap.Locations = map[string]*pb.Location{"api": {Path: "/api/", Upstream: "up"}}
			info := h.src.publish("default", snap)

			c := dial(t, h.addr)
			c.hello("n1", "", 0, "")
			w := c.welcome()
			if w.GetHealthInterval().AsDuration() != 3*time.Second || w.CurrentVersion != 1 || w.ServerId != "cp-test" {
				t.Fatalf("welcome %v", w)
			}
			p := c.push()
			if p.Version != 1 || p.Hash != info.Hash || !strings.HasPrefix(p.Nonce, "cp-test-") || !proto.Equal(p.Snapshot, snap) {
				t.Fatalf("push %v", p)
			}
			var st *pb.NodeStatus
			eventually(t, "record of the push", func() bool {
				st = h.fleet.node("default", "n1")
				return st.GetPushedVersion() == 1
			})
			if !st.Connected || st.ServerId != "cp-test" || st.ConnectedAt == nil || st.State != pb.NodeState_NODE_STATE_PENDING {
				t.Fatalf("record %v", st)
			}
		})
	}
}

func TestEmptyClusterWelcomesThenPushesFirstVersion(t *testing.T) {
	t.Parallel()
	errStore := errors.New("store: key not found")
	h := newHarness(t, harnessOpts{opts: discovery.Options{IsNotFound: func(err error) bool { return errors.Is(err, errStore) }}})
	h.src.failNext = errStore
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	if w := c.welcome(); w.CurrentVersion != 0 {
		t.Fatalf("current version %d, want 0", w.CurrentVersion)
	}
	c.quiet(50 * time.Millisecond)
	h.src.publish("default", snapshot("v1"))
	if p := c.push(); p.Version != 1 {
		t.Fatalf("pushed %d", p.Version)
	}
}

func TestNoPushWhenRunningCurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	info := h.src.publish("default", snapshot("v1"))
	tests := []struct {
		desc    string
		version uint64
		hash    string
	}{
		{"same version and hash", 1, info.Hash},
		{"same version, hash unknown", 1, ""},
		{"same content under another number", 7, info.Hash},
	}
	for i, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			id := fmt.Sprintf("n%d", i)
			c := dial(t, h.addr)
			c.hello(id, "", tt.version, tt.hash)
			c.welcome()
			c.quiet(100 * time.Millisecond)
			eventually(t, "synced record", func() bool {
				return h.fleet.node("default", id).GetState() == pb.NodeState_NODE_STATE_SYNCED
			})
		})
	}
	t.Run("same number, other content", func(t *testing.T) {
		c := dial(t, h.addr)
		c.hello("stale", "", 1, "sha256:other")
		c.welcome()
		if p := c.push(); p.Version != 1 {
			t.Fatalf("pushed %d", p.Version)
		}
	})
}

func TestAckUpdatesRecord(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := newHarness(t, harnessOpts{opts: discovery.Options{Now: func() time.Time { return now }}})
	info := h.src.publish("c1", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "c1", 0, "")
	c.welcome()
	c.ack(c.push())
	eventually(t, "ack recorded", func() bool {
		st := h.fleet.node("c1", "n1")
		return st.GetRunningVersion() == 1 && st.GetRunningHash() == info.Hash &&
			st.GetState() == pb.NodeState_NODE_STATE_SYNCED && st.GetLastAckAt().AsTime().Equal(now)
	})
}

func TestStaleNonceIgnoredAndOnePushInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	p1 := c.push()

	// Answers with a wrong nonce change nothing.
	c.ack(&pb.Push{Version: 1, Nonce: p1.Nonce + "-stale"})
	c.nack(&pb.Push{Version: 1, Nonce: "unknown"}, 0, "boom")
	// A newer version waits for the in-flight push's answer.
	h.src.publish("default", snapshot("v2"))
	c.quiet(100 * time.Millisecond)
	st := h.fleet.node("default", "n1")
	if st.GetRunningVersion() != 0 || st.GetLastNack() != nil {
		t.Fatalf("stale answers changed the record: %v", st)
	}
	c.ack(p1)
	p2 := c.push()
	if p2.Version != 2 || p2.Nonce == p1.Nonce {
		t.Fatalf("second push %v", p2)
	}
	// The old nonce is stale now.
	c.ack(p1)
	c.quiet(50 * time.Millisecond)
	c.ack(p2)
	eventually(t, "running 2", func() bool { return h.fleet.node("default", "n1").GetRunningVersion() == 2 })
}

func TestNackRecordedAndNeverRepushed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	p1 := c.push()
	c.ack(p1)
	h.src.publish("default", snapshot("v2"))
	p2 := c.push()
	c.nack(p2, 1, "locations.api.path: invalid regex \"(\"\nupstreams.x: no targets")
	eventually(t, "nack recorded", func() bool {
		st := h.fleet.node("default", "n1")
		return st.GetLastNack().GetVersion() == 2 && st.GetState() == pb.NodeState_NODE_STATE_NACKED
	})
	st := h.fleet.node("default", "n1")
	if !strings.Contains(st.GetLastNack().GetError(), "upstreams.x: no targets") || st.GetLastNack().GetTime() == nil || st.RunningVersion != 1 {
		t.Fatalf("record %v", st)
	}
	c.quiet(100 * time.Millisecond)

	// Reconnect: still not pushed, and the NACK stays in the record.
	c.close()
	c = dial(t, h.addr)
	c.hello("n1", "", 1, p1.Hash)
	c.welcome()
	c.quiet(100 * time.Millisecond)
	eventually(t, "record after reconnect", func() bool {
		st := h.fleet.node("default", "n1")
		return st.GetConnected() && st.GetLastNack().GetVersion() == 2 && st.GetState() == pb.NodeState_NODE_STATE_NACKED
	})

	// A newer version is pushed.
	h.src.publish("default", snapshot("v3"))
	if p := c.push(); p.Version != 3 {
		t.Fatalf("pushed %d, want 3", p.Version)
	}
}

func TestNackRememberedAcrossReplicas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		lookup bool // the Fleet implements NodeLookup
		nodes  bool // Options.Nodes is set
	}{
		{"Options.Nodes", false, true},
		{"Fleet implements NodeLookup", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			src, ff := newFakeSource(), newFakeFleet()
			ff.lookup = tt.lookup
			opts := func(id string) discovery.Options {
				o := discovery.Options{ServerID: id}
				if tt.nodes {
					o.Nodes = lookupOnly{ff}
				}
				return o
			}
			a := newHarness(t, harnessOpts{src: src, ff: ff, opts: opts("a")})
			src.publish("default", snapshot("v1"))
			c := dial(t, a.addr)
			c.hello("n1", "", 0, "")
			c.welcome()
			c.nack(c.push(), 0, "bad")
			eventually(t, "nack recorded", func() bool { return ff.node("default", "n1").GetLastNack().GetVersion() == 1 })
			c.close()
			eventually(t, "gone", func() bool { return len(ff.goneList()) == 1 })

			b := newHarness(t, harnessOpts{src: src, ff: ff, opts: opts("b")})
			c = dial(t, b.addr)
			c.hello("n1", "", 0, "")
			c.welcome()
			c.quiet(100 * time.Millisecond)
			eventually(t, "record on b", func() bool {
				st := ff.node("default", "n1")
				return st.GetServerId() == "b" && st.GetLastNack().GetError() == "bad"
			})
		})
	}
}

// lookupOnly reads a fakeFleet's records whatever its lookup flag says.
type lookupOnly struct{ f *fakeFleet }

func (l lookupOnly) GetNode(_ context.Context, cluster, id string) (*pb.NodeStatus, error) {
	return l.f.node(cluster, id), nil
}

func TestCoalescing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	p1 := c.push()
	for i := 2; i <= 4; i++ {
		h.src.publish("default", snapshot(fmt.Sprintf("v%d", i)))
	}
	// Let the server see every version before the answer.
	time.Sleep(50 * time.Millisecond)
	c.ack(p1)
	if p := c.push(); p.Version != 4 {
		t.Fatalf("pushed %d after a burst, want 4", p.Version)
	}
}

func TestOneWatcherPerCluster(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("a", snapshot("a1"))
	h.src.publish("b", snapshot("b1"))
	var cs []*client
	for i := range 30 {
		cluster := "a"
		if i%3 == 0 {
			cluster = "b"
		}
		c := dial(t, h.addr)
		c.hello(fmt.Sprintf("n%d", i), cluster, 0, "")
		c.welcome()
		c.ack(c.push())
		cs = append(cs, c)
	}
	h.src.publish("a", snapshot("a2"))
	for i, c := range cs {
		if i%3 == 0 {
			c.quiet(0)
			continue
		}
		if p := c.push(); p.Version != 2 || p.Snapshot.GetSettings().GetName() != "a2" {
			t.Fatalf("node %d got %v", i, p)
		}
	}
	for _, cluster := range []string{"a", "b"} {
		watches, currents := h.src.counts(cluster)
		if watches != 1 || currents > 2 {
			t.Errorf("cluster %s: %d watches, %d Current calls for 30 streams", cluster, watches, currents)
		}
	}
}

func TestClustersIsolated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("a", snapshot("a1"))
	ca, cb := dial(t, h.addr), dial(t, h.addr)
	ca.hello("n1", "a", 0, "")
	cb.hello("n1", "b", 0, "") // same id, other cluster: another node
	if w := ca.welcome(); w.CurrentVersion != 1 {
		t.Fatal(w)
	}
	if w := cb.welcome(); w.CurrentVersion != 0 {
		t.Fatal(w)
	}
	ca.ack(ca.push())
	h.src.publish("b", snapshot("b1"))
	pb1 := cb.push()
	if pb1.Snapshot.GetSettings().GetName() != "b1" {
		t.Fatal(pb1)
	}
	ca.quiet(50 * time.Millisecond)
	h.src.publish("a", snapshot("a2"))
	if p := ca.push(); p.Snapshot.GetSettings().GetName() != "a2" {
		t.Fatal(p)
	}
	cb.quiet(50 * time.Millisecond)
}

func TestHealthReportsReachFleet(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHarness(t, harnessOpts{opts: discovery.Options{Now: clock}})
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	for i := 1; i <= 3; i++ {
		mu.Lock()
		now = now.Add(10 * time.Second)
		mu.Unlock()
		rep := &pb.HealthReport{Requests: uint64(i), Errors: 1, Time: timestamppb.New(clock()), Upstreams: []*pb.UpstreamHealth{
			{Name: "api", Targets: []*pb.TargetHealth{{Addr: "10.0.0.1:80", Healthy: true}}},
		}}
		c.send(&pb.StreamRequest{Message: &pb.StreamRequest_Health{Health: rep}})
		want := clock()
		eventually(t, "health recorded", func() bool {
			st := h.fleet.node("default", "n1")
			return proto.Equal(st.GetLastHealth(), rep) && st.GetLastSeen().AsTime().Equal(want)
		})
	}
}

func TestNodeGoneOnDisconnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	p := c.push()
	c.nack(p, 0, "no")
	_ = c.s.CloseSend() // right after the NACK: its record must still land before NodeGone
	eventually(t, "node gone", func() bool { return len(h.fleet.goneList()) == 1 })
	st := h.fleet.node("default", "n1")
	if st.GetLastNack().GetVersion() != 1 || st.GetState() != pb.NodeState_NODE_STATE_DISCONNECTED {
		t.Fatalf("record %v", st)
	}
}

func TestNewStreamOfNodeReplacesOld(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	old := dial(t, h.addr)
	old.hello("n1", "", 0, "")
	old.welcome()
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	if got := code(old.ended()); got != codes.Aborted {
		t.Fatalf("old stream ended with %v, want Aborted", got)
	}
	time.Sleep(50 * time.Millisecond)
	if g := h.fleet.goneList(); len(g) != 0 {
		t.Fatalf("the replaced stream reported the node gone: %v", g)
	}
	if !h.fleet.node("default", "n1").GetConnected() {
		t.Fatal("node not connected")
	}
	c.close()
	eventually(t, "gone", func() bool { return len(h.fleet.goneList()) == 1 })
}

func TestWatchRestarts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.src.publish("default", snapshot("v1"))
	c := dial(t, h.addr)
	c.hello("n1", "", 0, "")
	c.welcome()
	c.ack(c.push())
	h.src.breakWatches("default")
	h.src.publish("default", snapshot("v2")) // while no watch is open
	p2 := c.push()
	if p2.Version != 2 {
		t.Fatalf("pushed %d", p2.Version)
	}
	c.ack(p2)
	eventually(t, "re-watch", func() bool { w, _ := h.src.counts("default"); return w == 2 })
	h.src.publish("default", snapshot("v3"))
	if p := c.push(); p.Version != 3 {
		t.Fatalf("pushed %d", p.Version)
	}
}

func TestCloseEndsStreamsWithoutLeaks(t *testing.T) {
	// Not parallel: it counts goroutines.
	before := runtime.NumGoroutine()
	h := newHarness(t, harnessOpts{})
	h.src.publish("a", snapshot("a1"))
	var cs []*client
	for i := range 20 {
		c := dial(t, h.addr)
		c.hello(fmt.Sprintf("n%d", i), []string{"a", "b"}[i%2], 0, "")
		c.welcome()
		cs = append(cs, c)
	}
	stalled := dial(t, h.addr) // never says hello
	h.srv.Close()
	for _, c := range cs {
		if got := code(c.ended()); got != codes.Unavailable {
			t.Fatalf("stream ended with %v, want Unavailable", got)
		}
	}
	if got := code(stalled.ended()); got != codes.Unavailable {
		t.Fatalf("stream without hello ended with %v", got)
	}
	eventually(t, "every node gone", func() bool { return len(h.fleet.goneList()) == 20 })
	// New streams are refused.
	c := dial(t, h.addr)
	c.hello("late", "a", 0, "")
	if got := code(c.ended()); got != codes.Unavailable {
		t.Fatalf("stream after close: %v", got)
	}
	h.g.Stop()
	for _, c := range append(cs, stalled, c) {
		c.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
