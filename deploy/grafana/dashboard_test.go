// Package grafana holds the Grafana dashboard of Pingap-Go's metrics; its
// test keeps the dashboard valid and in step with the documented metrics.
package grafana

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

var metricName = regexp.MustCompile(`\bpingap_[a-z_]+`)

// Every query of the dashboard uses metrics the data plane and control
// plane document (and so export), and every panel has a query.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("pingap.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("pingap.json is not JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatal("dashboard without uid or panels")
	}
	var docs strings.Builder
	for _, f := range []string{"../../docs/operations.md", "../../docs/controlplane.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	documented := map[string]bool{}
	for _, m := range metricName.FindAllString(docs.String(), -1) {
		documented[m] = true
	}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if !documented[base] {
					t.Errorf("panel %q uses %s, which no doc lists", p.Title, base)
				}
			}
		}
	}
}
