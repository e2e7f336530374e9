package dataplane

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
)

// scrape reads the status port's /metrics and parses it.
func scrape(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want, and
// returns its counter, gauge or histogram-count value (-1 if absent).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// The status port's /metrics moves with real traffic and config pushes,
// and passes the Prometheus client library's lint.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr, admin, dead := freePort(t), freePort(t), freePort(t)
	reg := prometheus.NewRegistry()
	dp := New(Options{Registry: reg})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dp.Shutdown(ctx)
	})
	cfg := fmt.Sprintf("[settings]\nname = \"first\"\nadmin_addr = %q\n", admin) + oneServer(addr, be, "/ok") + fmt.Sprintf(`
[upstreams.dead]
addrs = [%q, %q]
max_retries = 1
[locations.dead]
path = "/dead"
upstream = "dead"
`, dead, freePort(t))
	cfg = strings.Replace(cfg, `locations = ["l"]`, `locations = ["l", "dead"]`, 1)
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/ok", "/ok", "/ok", "/gone", "/dead"} {
		get(t, "http://"+addr+p)
	}
	fams := scrape(t, admin)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pingap_http_requests_total", map[string]string{"server": "s", "location": "l", "upstream": "b", "status_class": "2xx"}, 3},
		{"pingap_http_requests_total", map[string]string{"server": "s", "location": "", "status_class": "4xx"}, 1},
		{"pingap_http_requests_total", map[string]string{"server": "s", "location": "dead", "upstream": "dead", "status_class": "5xx"}, 1},
		{"pingap_http_request_duration_seconds", map[string]string{"server": "s", "location": "l"}, 3},
		{"pingap_upstream_response_duration_seconds", map[string]string{"upstream": "b"}, 3},
		{"pingap_upstream_response_duration_seconds", map[string]string{"upstream": "dead"}, 2},
		{"pingap_upstream_retries_total", map[string]string{"upstream": "dead"}, 1},
		{"pingap_config_applies_total", map[string]string{"result": "success"}, 1},
		{"pingap_config_info", map[string]string{"name": "first", "hash": dp.Current().Hash()}, 1},
		{"pingap_upstream_target_healthy", map[string]string{"upstream": "b", "target": be}, 1},
		{"pingap_http_requests_in_flight", nil, 0},
	} {
		if got := value(fams, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := value(fams, "pingap_http_response_body_bytes_total", map[string]string{"server": "s"}); got < float64(3*len("one /ok")) {
		t.Errorf("response bytes %v, want at least the three bodies", got)
	}
	if got := value(fams, "pingap_connections_active", map[string]string{"listener": addr}); got < 0 {
		t.Error("no pingap_connections_active for the listener")
	}

	// A push: a bad config counts a failure, a good one a success and
	// changes the info gauge's labels.
	if err := dp.Apply(snapshot(t, strings.Replace(cfg, `upstream = "b"`, `upstream = "nope"`, 1))); err == nil {
		t.Fatal("a config with a dangling upstream applied")
	}
	if err := dp.Apply(snapshot(t, strings.Replace(cfg, `name = "first"`, `name = "second"`, 1))); err != nil {
		t.Fatal(err)
	}
	get(t, "http://"+addr+"/ok")
	fams = scrape(t, admin)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pingap_config_applies_total", map[string]string{"result": "success"}, 2},
		{"pingap_config_applies_total", map[string]string{"result": "failure"}, 1},
		{"pingap_config_info", map[string]string{"name": "second"}, 1},
		{"pingap_config_info", map[string]string{"name": "first"}, -1},
		{"pingap_http_requests_total", map[string]string{"location": "l", "status_class": "2xx"}, 4},
	} {
		if got := value(fams, tt.name, tt.labels); got != tt.want {
			t.Errorf("after the push: %s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	problems, err := promlint.NewWithMetricFamilies(mapValues(fams)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func mapValues(m map[string]*dto.MetricFamily) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	return out
}

// Plugins count their events: a refused request shows in
// pingap_plugin_events_total with the plugin's name and category.
func TestPluginEventMetrics(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr, admin := freePort(t), freePort(t)
	dp := New(Options{Plugins: builtin.Registry()})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dp.Shutdown(ctx)
	})
	cfg := fmt.Sprintf("[settings]\nadmin_addr = %q\n[plugins.keys]\ncategory = \"key_auth\"\nkeys = [\"k1\"]\n", admin) +
		strings.Replace(oneServer(addr, be, "/"), `upstream = "b"`, "upstream = \"b\"\nplugins = [\"keys\"]", 1)
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code, _ := get(t, "http://"+addr+"/x"); code != http.StatusUnauthorized {
			t.Fatalf("request without a key: %d", code)
		}
	}
	fams := scrape(t, admin)
	if got := value(fams, "pingap_plugin_events_total", map[string]string{"plugin": "keys", "category": "key_auth", "event": "refused"}); got != 3 {
		t.Fatalf("refused events %v, want 3", got)
	}
	if got := value(fams, "pingap_http_requests_total", map[string]string{"location": "l", "upstream": "b", "status_class": "4xx"}); got != 3 {
		t.Fatalf("4xx requests %v, want 3 (answered by the plugin, counted on the location)", got)
	}
}
