package dataplane

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
	"github.com/pingap-go/pingap/internal/testbin"
	"github.com/pingap-go/pingap/internal/testprom"
)

// scrape reads the status port's /metrics.
func scrape(t *testing.T, admin string) testprom.Families {
	return testprom.MustScrape(t, "http://"+admin+"/metrics")
}

// The status port's /metrics moves with real traffic and config pushes,
// and passes the Prometheus client library's lint.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr, admin, dead := freePort(t), freePort(t), testbin.DeadAddr(t)
	reg := prometheus.NewRegistry()
	dp := newDPWith(t, Options{Registry: reg})
	cfg := fmt.Sprintf("[settings]\nname = \"first\"\nadmin_addr = %q\n", admin) + oneServer(addr, be, "/ok") + fmt.Sprintf(`
[upstreams.dead]
addrs = [%q, %q]
max_retries = 1
[locations.dead]
path = "/dead"
upstream = "dead"
`, dead, testbin.DeadAddr(t))
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
		labels []string
		want   float64
	}{
		{"pingap_http_requests_total", []string{"server", "s", "location", "l", "upstream", "b", "status_class", "2xx"}, 3},
		{"pingap_http_requests_total", []string{"server", "s", "location", "", "status_class", "4xx"}, 1},
		{"pingap_http_requests_total", []string{"server", "s", "location", "dead", "upstream", "dead", "status_class", "5xx"}, 1},
		{"pingap_http_request_duration_seconds", []string{"server", "s", "location", "l"}, 3},
		{"pingap_upstream_response_duration_seconds", []string{"upstream", "b"}, 3},
		{"pingap_upstream_response_duration_seconds", []string{"upstream", "dead"}, 2},
		{"pingap_upstream_retries_total", []string{"upstream", "dead"}, 1},
		{"pingap_config_applies_total", []string{"result", "success"}, 1},
		{"pingap_config_info", []string{"name", "first", "hash", dp.Current().Hash()}, 1},
		{"pingap_upstream_target_healthy", []string{"upstream", "b", "target", be}, 1},
		{"pingap_http_requests_in_flight", nil, 0},
	} {
		if got := fams.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := fams.Value("pingap_http_response_body_bytes_total", "server", "s"); got < float64(3*len("one /ok")) {
		t.Errorf("response bytes %v, want at least the three bodies", got)
	}
	if got := fams.Value("pingap_connections_active", "listener", addr); got < 0 {
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
		labels []string
		want   float64
	}{
		{"pingap_config_applies_total", []string{"result", "success"}, 2},
		{"pingap_config_applies_total", []string{"result", "failure"}, 1},
		{"pingap_config_info", []string{"name", "second"}, 1},
		{"pingap_config_info", []string{"name", "first"}, -1},
		{"pingap_http_requests_total", []string{"location", "l", "status_class", "2xx"}, 4},
	} {
		if got := fams.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("after the push: %s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	fams.Lint(t)
}

// Plugins count their events: a refused request shows in
// pingap_plugin_events_total with the plugin's name and category.
func TestPluginEventMetrics(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr, admin := freePort(t), freePort(t)
	dp := newDPWith(t, Options{Plugins: builtin.Registry()})
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
	if got := fams.Value("pingap_plugin_events_total", "plugin", "keys", "category", "key_auth", "event", "refused"); got != 3 {
		t.Fatalf("refused events %v, want 3", got)
	}
	if got := fams.Value("pingap_http_requests_total", "location", "l", "upstream", "b", "status_class", "4xx"); got != 3 {
		t.Fatalf("4xx requests %v, want 3 (answered by the plugin, counted on the location)", got)
	}
}
