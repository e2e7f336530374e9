package store

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Stats counts versions per cluster and node records with and without a
// liveness key, from keys and counts alone.
func TestStats(t *testing.T) {
	t.Parallel()
	s := newStore(t, withRetention(2))
	ctx := t.Context()
	for p := 1; p <= 3; p++ {
		if _, _, err := s.Apply(ctx, "a/b", snap(p), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	sess := newSession(t, s, 10*time.Second)
	for _, id := range []string{"n1", "n2", "n3"} {
		if err := sess.PutNode(ctx, nodeStatus("a/b", id, "cp", 3, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.NodeGone(ctx, "a/b", "n2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ClusterStats{"a/b": {Versions: 2, Nodes: 3, Live: 2}, "c": {Versions: 1}}
	if len(got) != len(want) {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("Stats[%q] = %+v, want %+v", c, got[c], w)
		}
	}
}

// Every kind of etcd request the Store makes is timed under its
// operation, and a second Store cannot register the same metric.
func TestRequestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := newStore(t, func(c *Config) { c.Registerer = reg })
	ctx := t.Context()
	if _, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	ch := s.Watch(ctx, "c")
	<-ch
	sess := newSession(t, s, 10*time.Second)
	if err := sess.Announce(ctx, "cp"); err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	// The watch confirmed by etcd is observed asynchronously: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for sampleCount(t, reg, opWatchStart) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, op := range []string{opGet, opPut, opTxn, opLeaseGrant, opLeaseRevoke, opWatchStart} {
		if n := sampleCount(t, reg, op); n == 0 {
			t.Errorf("operation %q: no request observed", op)
		}
	}
	if _, err := Open(ctx, Config{Client: shared.Client(), Prefix: testPrefix(t), Registerer: reg}); err == nil {
		t.Error("a second Store registered the same metric")
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// sampleCount is the histogram's count for one operation.
func sampleCount(t *testing.T, reg *prometheus.Registry, op string) uint64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() == op {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// Replicas lists the announced replicas while their sessions live.
func TestReplicas(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	a, b := newSession(t, s, 10*time.Second), newSession(t, s, 10*time.Second)
	if err := b.Announce(ctx, "cp-b/1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(ctx, "cp-a"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Replicas(ctx)
	if err != nil || !slices.Equal(got, []string{"cp-a", "cp-b/1"}) {
		t.Fatalf("Replicas = %q, %v; want cp-a, cp-b/1", got, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Replicas(ctx); err != nil || !slices.Equal(got, []string{"cp-b/1"}) {
		t.Fatalf("after cp-a's session closed, Replicas = %q, %v; want cp-b/1", got, err)
	}
}
