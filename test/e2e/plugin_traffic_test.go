package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/internal/testbackend"
)

// trafficPluginCases cover traffic_splitting (with a canary backend of its
// own) and stats.
func trafficPluginCases(t *testing.T) []pluginCase {
	canary := startLocal(t, testbackend.New("canary"), localOpts{})
	upstream := fmt.Sprintf("[upstreams.ts_canary]\naddrs = [%q]\n", canary.addr)
	side := func(t *testing.T, c *http.Client, url string, h http.Header) string {
		t.Helper()
		res := mustSend(t, c, req{url: url, header: h})
		if res.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %q", url, res.Code, res.Body)
		}
		name, _, _ := strings.Cut(res.backend(), "@")
		return name
	}
	return []pluginCase{{
		name:     "traffic-all",
		category: "traffic_splitting",
		toml:     upstream + "[plugins.traffic_all]\ncategory = \"traffic_splitting\"\nupstream = \"ts_canary\"\nweight = 100\n",
		plugins:  []string{"traffic_all"},
		check: func(t *testing.T, c *http.Client, base string) {
			for i := range 10 {
				if got := side(t, c, base+"/x", nil); got != "canary" {
					t.Fatalf("request %d with weight 100 went to %q", i, got)
				}
			}
		},
	}, {
		name:     "traffic-sticky",
		category: "traffic_splitting",
		toml: "[plugins.traffic_sticky]\ncategory = \"traffic_splitting\"\nupstream = \"ts_canary\"\n" +
			"weight = 50\nsticky_header = \"X-User\"\n",
		plugins: []string{"traffic_sticky"},
		check: func(t *testing.T, c *http.Client, base string) {
			count := map[string]int{}
			for u := range 40 {
				h := http.Header{"X-User": {fmt.Sprint("user-", u)}}
				first := side(t, c, base+"/x", h)
				count[first]++
				if again := side(t, c, base+"/y", h); again != first {
					t.Fatalf("user-%d went to %s, then %s", u, first, again)
				}
			}
			if count["canary"] == 0 || count["app"] == 0 {
				t.Fatalf("40 users split %v; want both sides used", count)
			}
		},
	}, {
		name:     "stats",
		category: "stats",
		toml:     "[plugins.stats_json]\ncategory = \"stats\"\npath = \"/stats/stats\"\n",
		plugins:  []string{"stats_json"},
		check: func(t *testing.T, c *http.Client, base string) {
			mustSend(t, c, req{url: base + "/warm-up"})
			res := mustSend(t, c, req{url: base + "/stats"})
			if res.Code != http.StatusOK || res.backend() != "" {
				t.Fatalf("GET /stats/stats: %d from %q; want the plugin's 200", res.Code, res.backend())
			}
			var doc struct {
				PID       int `json:"pid"`
				Dataplane struct {
					ConfigHash string            `json:"config_hash"`
					Requests   uint64            `json:"requests"`
					InFlight   int64             `json:"in_flight"`
					Listeners  map[string]string `json:"listeners"`
				} `json:"dataplane"`
			}
			if err := json.Unmarshal(res.Body, &doc); err != nil {
				t.Fatalf("stats is not JSON: %v\n%s", err, res.Body)
			}
			d := doc.Dataplane
			if doc.PID == 0 || d.ConfigHash == "" || d.Requests == 0 || d.InFlight < 1 || len(d.Listeners) == 0 {
				t.Fatalf("stats document %s lacks the data plane's state", res.Body)
			}
			if other := mustSend(t, c, req{url: base + "/other"}); other.backend() == "" {
				t.Fatal("a path other than the stats path did not reach the backend")
			}
		},
	}}
}
