package fleet

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics reads and parses the Prometheus text at url.
func scrapeMetrics(c *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// gaugeOrCounter is the value of family name's sample with the given
// labels (name, value, ...); -1 when there is none.
func gaugeOrCounter(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
next:
	for _, m := range fams[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return -1
}

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

	var fams map[string]*dto.MetricFamily
	waitFor(t, syncTimeout, "the node SYNCED in the metrics", func() string {
		var err error
		if fams, err = scrapeMetrics(cp.client, "http://"+metrics+"/metrics"); err != nil {
			return err.Error()
		}
		if v := gaugeOrCounter(fams, "pingap_controlplane_nodes", "cluster", cluster, "status", "SYNCED"); v != 1 {
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
		if got := gaugeOrCounter(fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	list := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		list = append(list, f)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
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
