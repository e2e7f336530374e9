package discovery_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/pingap-go/pingap/controlplane/discovery"
)

// sample returns the sample of family name with label cluster; nil when
// there is none.
func sample(t *testing.T, reg *prometheus.Registry, name, cluster string) *dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == cluster {
				return m
			}
		}
	}
	return nil
}

// histogram returns the count and sum of the histogram of family name
// with label cluster.
func histogram(t *testing.T, reg *prometheus.Registry, name, cluster string) (uint64, float64) {
	t.Helper()
	h := sample(t, reg, name, cluster).GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

func counter(t *testing.T, reg *prometheus.Registry, name, cluster string) float64 {
	t.Helper()
	return sample(t, reg, name, cluster).GetCounter().GetValue()
}

// The server counts pushes and answers, and observes each version's
// convergence once: from its creation to the last ACK, when no node of
// this server still has to run it. NACKs and ended streams stop the wait
// for their node; a version replaced before converging, and one older
// than the cluster's watcher, are not observed.
func TestConvergenceAndCounters(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var clock atomic.Int64
	set := func(d time.Duration) { clock.Store(t0.Add(d).UnixNano()) }
	set(0)
	reg := prometheus.NewRegistry()
	h := newHarness(t, harnessOpts{opts: discovery.Options{
		Now:        func() time.Time { return time.Unix(0, clock.Load()) },
		Registerer: reg,
	}})
	h.src.publishAt("c", snapshot("v1"), t0.Add(-time.Hour))
	c1, c2 := dial(t, h.addr), dial(t, h.addr)
	c1.hello("n1", "c", 0, "")
	c2.hello("n2", "c", 0, "")
	c1.welcome()
	c2.welcome()
	c1.ack(c1.push())
	c2.ack(c2.push())
	count := func() uint64 { n, _ := histogram(t, reg, "pingap_controlplane_convergence_seconds", "c"); return n }
	eventually(t, "both ACKs of v1 counted", func() bool { return counter(t, reg, "pingap_controlplane_acks_total", "c") == 2 })
	if n := count(); n != 0 {
		t.Fatalf("v1, older than the cluster's watcher, observed %d times", n)
	}
	eventually(t, "both nodes synced", func() bool { return h.srv.Census().Nodes["c"] == discovery.NodeCounts{Synced: 2} })

	// v2: both ACK; converged at the second ACK, 4s after its creation.
	set(10 * time.Second)
	h.src.publishAt("c", snapshot("v2"), t0.Add(5*time.Second))
	p1, p2 := c1.push(), c2.push()
	eventually(t, "both nodes pending", func() bool { return h.srv.Census().Nodes["c"] == discovery.NodeCounts{Pending: 2} })
	set(7 * time.Second)
	c1.ack(p1)
	eventually(t, "n1's ACK of v2 handled", func() bool { return counter(t, reg, "pingap_controlplane_acks_total", "c") == 3 })
	eventually(t, "n1 synced", func() bool { return h.srv.Census().Nodes["c"] == discovery.NodeCounts{Synced: 1, Pending: 1} })
	if n := count(); n != 0 {
		t.Fatalf("v2 observed with n2 still pending")
	}
	set(9 * time.Second)
	c2.ack(p2)
	eventually(t, "v2 converged", func() bool { return count() == 1 })
	if _, sum := histogram(t, reg, "pingap_controlplane_convergence_seconds", "c"); sum != 4 {
		t.Errorf("v2 converged in %vs, want 4s (creation to the last ACK)", sum)
	}

	// v3: n1 ACKs, n2 NACKs later: converged at n1's ACK.
	h.src.publishAt("c", snapshot("v3"), t0.Add(20*time.Second))
	p1, p2 = c1.push(), c2.push()
	set(21 * time.Second)
	c1.ack(p1)
	eventually(t, "n1's ACK of v3 handled", func() bool { return counter(t, reg, "pingap_controlplane_acks_total", "c") == 5 })
	set(30 * time.Second)
	c2.nack(p2, 2, "refused")
	eventually(t, "v3 converged", func() bool { return count() == 2 })
	if _, sum := histogram(t, reg, "pingap_controlplane_convergence_seconds", "c"); sum != 5 {
		t.Errorf("v3 converged in %vs, want 1s (creation to n1's ACK)", sum-4)
	}
	eventually(t, "n2 nacked", func() bool { return h.srv.Census().Nodes["c"] == discovery.NodeCounts{Synced: 1, Nacked: 1} })

	// v4 and v5 in a row: n1 gets v4, ACKs it, then v5. v4 is not
	// observed; v5 converges when n2, which never answers, goes away.
	h.src.publishAt("c", snapshot("v4"), t0.Add(40*time.Second))
	p1 = c1.push()
	c2.push()
	h.src.publishAt("c", snapshot("v5"), t0.Add(41*time.Second))
	set(42 * time.Second)
	c1.ack(p1)
	p1 = c1.push() // the ACK was handled before this push
	if p1.GetVersion() != 5 {
		t.Fatalf("n1 pushed v%d, want v5", p1.GetVersion())
	}
	set(44 * time.Second)
	c1.ack(p1)
	eventually(t, "n1 synced on v5", func() bool { return h.srv.Census().Nodes["c"].Synced == 1 })
	if n := count(); n != 2 {
		t.Fatalf("convergences %d with n2 still owing v5, want 2", n)
	}
	c2.close()
	eventually(t, "v5 converged once n2 left", func() bool { return count() == 3 })
	if _, sum := histogram(t, reg, "pingap_controlplane_convergence_seconds", "c"); sum != 8 {
		t.Errorf("v5 converged in %vs, want 3s (creation to n1's ACK)", sum-5)
	}
	eventually(t, "one stream left", func() bool { return h.srv.Census().Streams == 1 })

	for name, want := range map[string]float64{
		"pingap_controlplane_pushes_total": 2 + 2 + 2 + 3,
		"pingap_controlplane_acks_total":   2 + 2 + 1 + 2,
		"pingap_controlplane_nacks_total":  1,
	} {
		if got := counter(t, reg, name, "c"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
