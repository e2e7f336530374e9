package admin

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Requests are counted by route pattern, never by raw path; applies and
// rollbacks by result, dry runs not at all.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	st := newMemStore()
	api := newAPI(t, st, Options{Registerer: reg})
	const cfg = "/api/v1/clusters/c/config"
	apply(t, api, cfg, good, 201)
	apply(t, api, cfg, good, 200)
	apply(t, api, cfg+"?dry_run=true", good, 200)
	apply(t, api, cfg, "[servers.s]\naddr = 1\n", 400)
	apply(t, api, cfg+"?if_version=7", good+"\n[settings]\nname = \"x\"\n", 409)
	apply(t, api, cfg, strings.Replace(good, "8080", "8081", 1), 201)
	apply(t, api, "/api/v1/clusters/c/rollback?to=1", "", 201)
	apply(t, api, "/api/v1/clusters/c/rollback?to=99", "", 404)
	for _, p := range []string{"/api/v1/clusters/c/versions/1", "/api/v1/clusters/c/versions/2", "/nope"} {
		do(t, api, req{method: "GET", path: p})
	}
	do(t, api, req{method: "DELETE", path: cfg})
	st.broken = true
	apply(t, api, cfg, good, 500)

	const versionRoute = "/api/v1/clusters/{cluster}/versions/{version}"
	const configRoute = "/api/v1/clusters/{cluster}/config"
	for _, tt := range []struct {
		method, route, code string
		want                float64
	}{
		{"post", configRoute, "201", 2},
		{"post", configRoute, "200", 2},
		{"post", configRoute, "400", 1},
		{"post", configRoute, "409", 1},
		{"post", configRoute, "500", 1},
		{"post", "/api/v1/clusters/{cluster}/rollback", "201", 1},
		{"post", "/api/v1/clusters/{cluster}/rollback", "404", 1},
		{"get", versionRoute, "200", 2},
		{"get", unmatchedRoute, "404", 1},
		{"delete", unmatchedRoute, "405", 1},
	} {
		c, err := api.metrics.requests.GetMetricWithLabelValues(tt.method, tt.route, tt.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := testutil.ToFloat64(c); got != tt.want {
			t.Errorf("requests{%s %s %s} = %v, want %v", tt.method, tt.route, tt.code, got, tt.want)
		}
	}
	if got := testutil.CollectAndCount(api.metrics.requests); got != 10 {
		t.Errorf("%d request series, want the 10 above: a raw path became a label?", got)
	}
	if got := testutil.CollectAndCount(api.metrics.duration); got != 4 {
		t.Errorf("%d duration series, want 4 (config, rollback, versions/{version}, unmatched)", got)
	}
	for result, want := range map[string]float64{
		applyCreated: 3, applyUnchanged: 1, applyInvalid: 2, applyConflict: 1, applyError: 1,
	} {
		if got := testutil.ToFloat64(api.metrics.applies.WithLabelValues(result)); got != want {
			t.Errorf("applies{result=%q} = %v, want %v", result, got, want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
