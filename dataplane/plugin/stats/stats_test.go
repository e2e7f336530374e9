package stats

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestStats(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	calls := 0
	mw, err := New(plugin.BuildContext{
		Now:   func() time.Time { return at },
		Stats: func() any { calls++; return map[string]int{"requests": 42} },
	}, "st", &pb.Plugin{Category: Category, Config: &pb.Plugin_Stats{Stats: &pb.StatsPlugin{Path: "/stats"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /stats: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		PID        int            `json:"pid"`
		Time       time.Time      `json:"time"`
		Goroutines int            `json:"goroutines"`
		Memory     Memory         `json:"memory"`
		Dataplane  map[string]int `json:"dataplane"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	if doc.PID != os.Getpid() || !doc.Time.Equal(at) || doc.Goroutines == 0 || doc.Memory.SysBytes == 0 ||
		doc.Dataplane["requests"] != 42 || calls != 1 {
		t.Fatalf("document %+v (stats called %d times)", doc, calls)
	}

	for _, tt := range []struct{ method, path string }{{http.MethodGet, "/stats/x"}, {http.MethodPost, "/stats"}, {http.MethodGet, "/"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != http.StatusTeapot {
			t.Errorf("%s %s answered %d; it is not the stats path and must pass on", tt.method, tt.path, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/stats", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
		t.Fatalf("HEAD /stats: %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}
