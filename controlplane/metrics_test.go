package controlplane_test

// This scenario runs a real replica (embedded etcd) with two real
// data-plane agents and reads its /metrics over HTTP. The import of
// dataplane/agent is test-only: the control plane does not depend on the
// data plane.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/controlplane"
	"github.com/pingap-go/pingap/dataplane/agent"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testprom"
)

// failingApplier applies every snapshot but the one whose settings.name
// is fail.
type failingApplier struct {
	fail string

	mu      sync.Mutex
	applied []string
}

func (a *failingApplier) Apply(s *pb.Snapshot) error {
	name := s.GetSettings().GetName()
	if name == a.fail {
		return fmt.Errorf("settings.name: %q is refused on this node", name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = append(a.applied, name)
	return nil
}

func (a *failingApplier) Current() (uint64, string) { return 0, "" }

// runAgent runs node id of cluster against addr until the returned stop.
func runAgent(t *testing.T, addr, cluster, id string, app agent.Applier) (stop func()) {
	t.Helper()
	a := agent.New(app, agent.Options{
		Addr: addr, Node: &pb.Node{Id: id, Cluster: cluster},
		Backoff: agent.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("agent %s: Run returned %v", id, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type families = testprom.Families

// scrape reads and parses the replica's /metrics.
func scrape(t *testing.T, addr string) families {
	return testprom.MustScrape(t, "http://"+addr+"/metrics")
}

// expect is a sample's expected value.
type expect struct {
	name   string
	labels []string
	want   float64
}

func (e expect) String() string { return fmt.Sprintf("%s%v", e.name, e.labels) }

// mismatch describes the first expectation f does not meet ("" when all
// hold).
func mismatch(f families, exps []expect) string {
	for _, e := range exps {
		if got := f.Value(e.name, e.labels...); got != e.want {
			return fmt.Sprintf("%s = %v, want %v", e, got, e.want)
		}
	}
	return ""
}

// waitMetrics scrapes until every expectation holds; it fails the test
// with the last mismatch after 20s.
func waitMetrics(t *testing.T, addr, what string, exps ...expect) families {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams := scrape(t, addr)
		last := mismatch(fams, exps)
		if last == "" {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends a TOML config to the admin API and returns the status code.
func post(t *testing.T, admin, path, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+admin+path, "application/toml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func config(name string) string {
	return fmt.Sprintf(`[settings]
name = %q

[upstreams.u]
addrs = ["127.0.0.1:9001"]

[locations.l]
upstream = "u"

[servers.s]
addr = "127.0.0.1:8080"
locations = ["l"]
`, name)
}

// A replica's /metrics follows its fleet: streams, pushes, ACKs and a NACK,
// node states, convergence, versions, applies, admin requests by route and
// etcd request times; and its metric names pass promlint.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	cp, err := controlplane.Start(t.Context(), controlplane.Options{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		MetricsAddr: "127.0.0.1:0", Pprof: true, ServerID: "cp-test", Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Close)
	if cp.Registry() != reg {
		t.Fatal("Registry() is not Options.Registry")
	}
	m, admin := cp.MetricsAddr(), cp.AdminAddr()
	const cluster = "edge"
	stop1 := runAgent(t, cp.GRPCAddr(), cluster, "n1", &failingApplier{})
	runAgent(t, cp.GRPCAddr(), cluster, "n2", &failingApplier{fail: "second"})
	waitMetrics(t, m, "two agents connected",
		expect{"pingap_controlplane_streams_active", nil, 2},
		expect{"pingap_controlplane_nodes", []string{"cluster", cluster, "status", "SYNCED"}, 2})

	c := []string{"cluster", cluster}
	nodes := func(status string, want float64) expect {
		return expect{"pingap_controlplane_nodes", []string{"cluster", cluster, "status", status}, want}
	}
	const configPath = "/api/v1/clusters/" + cluster + "/config"
	if code := post(t, admin, configPath, config("first")); code != http.StatusCreated {
		t.Fatalf("apply first: %d", code)
	}
	fams := waitMetrics(t, m, "first version converged", nodes("SYNCED", 2),
		expect{"pingap_controlplane_convergence_seconds", c, 1})
	if msg := mismatch(fams, []expect{
		{"pingap_controlplane_pushes_total", c, 2},
		{"pingap_controlplane_acks_total", c, 2},
		{"pingap_controlplane_nacks_total", c, 0},
		nodes("PENDING", 0), nodes("NACKED", 0), nodes("DISCONNECTED", 0),
		{"pingap_controlplane_config_versions", c, 1},
		{"pingap_controlplane_config_applies_total", []string{"result", "created"}, 1},
		{"pingap_controlplane_admin_requests_total", []string{"method", "post", "route", "/api/v1/clusters/{cluster}/config", "code", "201"}, 1},
		{"pingap_controlplane_admin_request_duration_seconds", []string{"route", "/api/v1/clusters/{cluster}/config"}, 1},
	}); msg != "" {
		t.Error("after the first apply: " + msg)
	}
	for _, op := range []string{"get", "put", "txn", "lease_grant", "watch_start"} {
		if n := fams.Value("pingap_controlplane_etcd_request_duration_seconds", "operation", op); n < 1 {
			t.Errorf("etcd operation %q: %v requests timed, want some", op, n)
		}
	}

	// n2 rejects the second version; n1 runs it.
	if code := post(t, admin, configPath, config("second")); code != http.StatusCreated {
		t.Fatalf("apply second: %d", code)
	}
	waitMetrics(t, m, "second version ACKed by n1, NACKed by n2",
		nodes("SYNCED", 1), nodes("NACKED", 1), nodes("PENDING", 0),
		expect{"pingap_controlplane_pushes_total", c, 4},
		expect{"pingap_controlplane_acks_total", c, 3},
		expect{"pingap_controlplane_nacks_total", c, 1},
		expect{"pingap_controlplane_convergence_seconds", c, 2},
		expect{"pingap_controlplane_config_versions", c, 2})

	// An invalid config and reads by route, never by raw path.
	if code := post(t, admin, configPath, "[servers.s]\naddr = 1\n"); code != http.StatusBadRequest {
		t.Fatalf("apply of an invalid config: %d", code)
	}
	for _, v := range []string{"1", "2"} {
		if code := get(t, "http://"+admin+"/api/v1/clusters/"+cluster+"/versions/"+v); code != http.StatusOK {
			t.Fatalf("GET version %s: %d", v, code)
		}
	}
	if code := get(t, "http://"+m+"/debug/pprof/"); code != http.StatusOK {
		t.Errorf("/debug/pprof/ with Pprof: %d", code)
	}

	// n1 goes away: DISCONNECTED (from etcd), one stream left.
	stop1()
	fams = waitMetrics(t, m, "n1 disconnected",
		expect{"pingap_controlplane_streams_active", nil, 1},
		nodes("DISCONNECTED", 1), nodes("SYNCED", 0), nodes("NACKED", 1),
		expect{"pingap_controlplane_config_applies_total", []string{"result", "created"}, 2},
		expect{"pingap_controlplane_config_applies_total", []string{"result", "invalid"}, 1},
		expect{"pingap_controlplane_admin_requests_total",
			[]string{"method", "get", "route", "/api/v1/clusters/{cluster}/versions/{version}", "code", "200"}, 2})
	for name, f := range fams {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "route" && strings.Contains(l.GetValue(), "/"+cluster+"/") {
					t.Errorf("%s has a raw path as route: %q", name, l.GetValue())
				}
			}
		}
	}

	fams.Lint(t)
}

// With two replicas on one etcd, node gauges add up over replicas: each
// connected node counts on the replica holding its stream, and the
// DISCONNECTED nodes on one replica only (the first announced, cp-a).
func TestNodesGaugeAddsUpOverReplicas(t *testing.T) {
	t.Parallel()
	a, err := controlplane.Start(t.Context(), controlplane.Options{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ServerID: "cp-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	b, err := controlplane.Start(t.Context(), controlplane.Options{
		EtcdEndpoints: a.EtcdEndpoints(), GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ServerID: "cp-b",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if code := post(t, a.AdminAddr(), "/api/v1/clusters/c/config", config("first")); code != http.StatusCreated {
		t.Fatalf("apply: %d", code)
	}
	stop := runAgent(t, b.GRPCAddr(), "c", "n1", &failingApplier{})
	runAgent(t, a.GRPCAddr(), "c", "n2", &failingApplier{})
	nodes := func(status string, want float64) expect {
		return expect{"pingap_controlplane_nodes", []string{"cluster", "c", "status", status}, want}
	}
	waitMetrics(t, b.MetricsAddr(), "n1 synced on B", nodes("SYNCED", 1), nodes("DISCONNECTED", 0))
	waitMetrics(t, a.MetricsAddr(), "n2 synced on A", nodes("SYNCED", 1), nodes("DISCONNECTED", 0))
	stop()
	waitMetrics(t, a.MetricsAddr(), "n1 disconnected, reported by A", nodes("SYNCED", 1), nodes("DISCONNECTED", 1))
	waitMetrics(t, b.MetricsAddr(), "n1 gone from B, which leaves DISCONNECTED to A", nodes("SYNCED", 0), nodes("DISCONNECTED", 0),
		expect{"pingap_controlplane_config_versions", []string{"cluster", "c"}, 1})
}
