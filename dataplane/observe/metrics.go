package observe

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// durationBuckets are the classic buckets (seconds) of the duration
// histograms, for scrapers that do not read native histograms.
func durationBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
}

// Metrics are the data plane's Prometheus metrics. Labels are bounded by the
// config (server, location, upstream, target and plugin names), never by
// traffic (no paths, client addresses or header values).
type Metrics struct {
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	upstreamDuration *prometheus.HistogramVec
	received         *prometheus.CounterVec
	sent             *prometheus.CounterVec
	retries          *prometheus.CounterVec
	ejections        *prometheus.CounterVec
	applies          *prometheus.CounterVec
	plugin           *prometheus.CounterVec
	accessLogDropped prometheus.Counter
	accessLogLines   prometheus.Counter
}

// NewMetrics registers the data plane's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name, Help: help, Buckets: durationBuckets(),
			// Native histograms too, for scrapers that ask for them.
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, labels)
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_http_requests_total",
			Help: "Requests answered, by server, location, upstream and status class (2xx, 4xx, ...).",
		}, []string{"server", "location", "upstream", "status_class"}),
		duration: histogram("pingap_http_request_duration_seconds",
			"Time from reading a request's headers to the end of its response, by server and location.",
			"server", "location"),
		upstreamDuration: histogram("pingap_upstream_response_duration_seconds",
			"Time from sending a request to a target to its response headers, by upstream (one per attempt).",
			"upstream"),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_http_request_body_bytes_total",
			Help: "Request body bytes read from clients, by server.",
		}, []string{"server"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_http_response_body_bytes_total",
			Help: "Response body bytes written to clients, by server.",
		}, []string{"server"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_upstream_retries_total",
			Help: "Requests sent again to another target after a failed attempt, by upstream.",
		}, []string{"upstream"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_upstream_ejections_total",
			Help: "Targets ejected by outlier detection (a failed half-open probe ejects again), by upstream.",
		}, []string{"upstream"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_config_applies_total",
			Help: "Config versions applied (result=\"success\") or rejected (result=\"failure\").",
		}, []string{"result"}),
		plugin: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pingap_plugin_events_total",
			Help: "Events counted by plugins (cache hits and misses, rate-limited requests, auth failures), by plugin, category and event.",
		}, []string{"plugin", "category", "event"}),
		accessLogDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingap_access_log_dropped_total",
			Help: "Access log lines lost: the queue was full (a slow output), the output failed, or the line came after the writer closed.",
		}),
		accessLogLines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingap_access_log_lines_total",
			Help: "Access log lines written to the output.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.upstreamDuration, m.received, m.sent, m.retries, m.ejections, m.applies, m.plugin,
		m.accessLogDropped, m.accessLogLines)
	return m
}

// Location holds the metrics of one server/location, bound once when a
// config is built so that a request observes without label lookups.
type Location struct {
	m              *Metrics
	server         string
	name, upstream string
	byClass        [6]prometheus.Counter // 0: other, 1..5: 1xx..5xx
	duration       prometheus.Observer
	received, sent prometheus.Counter
}

// Location binds the metrics of a location of server whose upstream is
// upstream; location "" stands for requests no location matched. A nil
// Metrics returns nil, and a nil *Location observes nothing.
func (m *Metrics) Location(server, location, upstream string) *Location {
	if m == nil {
		return nil
	}
	l := &Location{m: m, server: server, name: location, upstream: upstream,
		duration: m.duration.WithLabelValues(server, location),
		received: m.received.WithLabelValues(server),
		sent:     m.sent.WithLabelValues(server),
	}
	for i := range l.byClass {
		l.byClass[i] = m.requests.WithLabelValues(server, location, upstream, statusClass(i))
	}
	return l
}

func statusClass(i int) string {
	if i == 0 {
		return "other"
	}
	return strconv.Itoa(i) + "xx"
}

// Name is the location's name.
func (l *Location) Name() string {
	if l == nil {
		return ""
	}
	return l.name
}

// Observe counts a finished request that went to upstream (the location's
// own, another one chosen by a plugin, or "" when a plugin answered).
func (l *Location) Observe(upstream string, status int, elapsed time.Duration, received, sent int64) {
	if l == nil {
		return
	}
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	if upstream == l.upstream || upstream == "" {
		l.byClass[class].Inc()
	} else { // traffic splitting: not bound in advance
		l.m.requests.WithLabelValues(l.server, l.name, upstream, statusClass(class)).Inc()
	}
	l.duration.Observe(elapsed.Seconds())
	if received > 0 {
		l.received.Add(float64(received))
	}
	if sent > 0 {
		l.sent.Add(float64(sent))
	}
}

// Upstream holds the metrics of one upstream.
type Upstream struct {
	duration  prometheus.Observer
	retries   prometheus.Counter
	ejections prometheus.Counter
}

// Upstream binds the metrics of the upstream called name. A nil Metrics
// returns nil, and a nil *Upstream observes nothing.
func (m *Metrics) Upstream(name string) *Upstream {
	if m == nil {
		return nil
	}
	return &Upstream{duration: m.upstreamDuration.WithLabelValues(name), retries: m.retries.WithLabelValues(name),
		ejections: m.ejections.WithLabelValues(name)}
}

// Ejected counts an ejection of one of the upstream's targets.
func (u *Upstream) Ejected() {
	if u != nil {
		u.ejections.Inc()
	}
}

// ObserveAttempt records one attempt's time to response headers and, for a
// retry, counts it.
func (u *Upstream) ObserveAttempt(elapsed time.Duration, retry bool) {
	if u == nil {
		return
	}
	u.duration.Observe(elapsed.Seconds())
	if retry {
		u.retries.Inc()
	}
}

// Applied counts an applied (ok) or rejected config.
func (m *Metrics) Applied(ok bool) {
	if m == nil {
		return
	}
	result := "success"
	if !ok {
		result = "failure"
	}
	m.applies.WithLabelValues(result).Inc()
}

// PluginCounter returns the counter of one plugin event; nil Metrics gives
// a counter that counts nowhere.
func (m *Metrics) PluginCounter(plugin, category, event string) func() {
	if m == nil {
		return func() {}
	}
	c := m.plugin.WithLabelValues(plugin, category, event)
	return c.Inc
}

// AccessLogDropped returns the counter of access log lines dropped; nil
// Metrics gives a counter that counts nowhere.
func (m *Metrics) AccessLogDropped() func() {
	if m == nil {
		return func() {}
	}
	return m.accessLogDropped.Inc
}

// AccessLogWritten returns the counter of access log lines written; nil
// Metrics gives a counter that counts nowhere.
func (m *Metrics) AccessLogWritten() func(lines int) {
	if m == nil {
		return func(int) {}
	}
	return func(lines int) { m.accessLogLines.Add(float64(lines)) }
}
