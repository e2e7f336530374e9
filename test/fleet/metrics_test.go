package fleet

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/pingap-go/pingap/internal/testprom"
)

// `pingap controlplane --metrics-addr --pprof` serves its metrics, with the
// Go and process collectors, and pprof's profiles on that listener, and a
// real data plane syncing shows in them.
func TestControlPlaneMetricsListener(t *testing.T) {
	t.Parallel()
	metrics := freeAddr(t)
	cp := newControlPlane(t, "cp-metrics", t.TempDir(), "", "--metrics-addr", metrics, "--pprof")
	cp.start()
	cp.proc.waitLog(startTimeout, "control plane metrics", metrics)
	be := startBackend(t, "blue")
	const cluster = "metrics"
	v1 := cp.mustApply(cluster, fleetConfig{
		name: "m1", upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"},
	}.String(), "first")
	dp := newDataPlane(t, "m1", cluster, cp.grpc, "")
	dp.start()
	cp.waitSynced(cluster, v1, dp.id)

	var fams testprom.Families
	waitFor(t, syncTimeout, "the node SYNCED in the metrics", func() string {
		var err error
		if fams, err = testprom.Scrape(cp.client, "http://"+metrics+"/metrics"); err != nil {
			return err.Error()
		}
		if v := fams.Value("pingap_controlplane_nodes", "cluster", cluster, "status", "SYNCED"); v != 1 {
			return fmt.Sprintf("pingap_controlplane_nodes{SYNCED} = %v", v)
		}
		return ""
	})
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"pingap_controlplane_acks_total", []string{"cluster", cluster}, 1},
		{"pingap_controlplane_streams_active", nil, 1},
		{"pingap_controlplane_config_versions", []string{"cluster", cluster}, 1},
		{"pingap_controlplane_admin_requests_total", []string{"method", "post", "route", "/api/v1/clusters/{cluster}/config", "code", "201"}, 1},
	} {
		if got := fams.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	fams.Lint(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline"} {
		resp, err := cp.client.Get("http://" + metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with --pprof: %d", path, resp.StatusCode)
		}
	}
}
