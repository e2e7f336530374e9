package observe

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type carrier struct {
	http.ResponseWriter
	rec Record
}

func (c *carrier) ObserveRecord() *Record { return &c.rec }

type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type opaque struct{ http.ResponseWriter }

func TestFrom(t *testing.T) {
	c := &carrier{ResponseWriter: httptest.NewRecorder()}
	if From(c) != &c.rec {
		t.Fatal("From(carrier) is not its record")
	}
	if From(wrapper{wrapper{c}}) != &c.rec {
		t.Fatal("From does not find the record through Unwrap")
	}
	if From(opaque{c}) != nil || From(httptest.NewRecorder()) != nil {
		t.Fatal("From found a record where there is none")
	}
}

func TestLocationObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	loc := m.Location("web", "api", "app")
	loc.Observe("app", 204, 3*time.Millisecond, 10, 20)
	loc.Observe("canary", 502, time.Millisecond, 0, 5) // traffic split to another upstream
	loc.Observe("", 99, time.Millisecond, 0, 0)        // no status written
	for _, tt := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"web", "api", "app", "2xx"}, 1},
		{[]string{"web", "api", "canary", "5xx"}, 1},
		{[]string{"web", "api", "app", "other"}, 1},
		{[]string{"web", "api", "app", "5xx"}, 0},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tt.labels...)); got != tt.want {
			t.Errorf("requests%v = %v, want %v", tt.labels, got, tt.want)
		}
	}
	if got := testutil.ToFloat64(m.sent.WithLabelValues("web")); got != 25 {
		t.Errorf("sent bytes %v, want 25", got)
	}
	var nilLoc *Location
	nilLoc.Observe("x", 200, 0, 1, 1) // a nil Location observes nothing
	var nilM *Metrics
	if nilM.Location("a", "b", "c") != nil || nilM.Upstream("u") != nil {
		t.Fatal("nil Metrics bound something")
	}
	nilM.PluginCounter("p", "c", "e")()
	m.PluginCounter("jwt_api", "jwt", "refused")()
	if got := testutil.ToFloat64(m.plugin.WithLabelValues("jwt_api", "jwt", "refused")); got != 1 {
		t.Errorf("plugin counter %v, want 1", got)
	}
}

// BenchmarkObserve is the per-request cost of the location metrics.
func BenchmarkObserve(b *testing.B) {
	loc := NewMetrics(prometheus.NewRegistry()).Location("web", "api", "app")
	b.ReportAllocs()
	for b.Loop() {
		loc.Observe("app", 200, 1234*time.Microsecond, 0, 13)
	}
}
