package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unmatchedRoute is the route label of requests no route matched (404 and
// 405 answers).
const unmatchedRoute = "unmatched"

// The results of pingap_controlplane_config_applies_total.
const (
	applyCreated   = "created"   // a new version was stored
	applyUnchanged = "unchanged" // the content is the current version's: no version made
	applyInvalid   = "invalid"   // refused before the store: a bad parameter, a config that fails validation, an unknown version to roll back to
	applyConflict  = "conflict"  // if_version / If-Match was not the current version
	applyError     = "error"     // the store failed
)

// metrics are the API's request and apply counters.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	applies  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_controlplane_admin_requests_total",
			Help: "Admin API requests answered, by method, route pattern (\"unmatched\" for 404/405 without a route) and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "pingap_controlplane_admin_request_duration_seconds",
			Help:                            "Time to answer an admin API request, by route pattern.",
			Buckets:                         []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"route"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_controlplane_config_applies_total",
			Help: "Applies and rollbacks through the admin API (dry runs excluded), by result: created, unchanged, invalid, conflict, error.",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.applies} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("admin: register metrics: %w", err)
		}
	}
	return m, nil
}

// instrument counts and times h's requests under route, a route pattern.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), h))
}

// applied counts an apply's or rollback's result; "" (a dry run) counts
// nothing.
func (m *metrics) applied(result string) {
	if result != "" {
		m.applies.WithLabelValues(result).Inc()
	}
}
