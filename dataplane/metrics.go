package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector reports, at scrape time, the data plane's state that is not
// counted per request: connections, requests in flight, the running config
// and the health of every upstream target.
type collector struct {
	d *DataPlane

	connections, inFlight, configInfo, lastApply, healthy, ejected, active *prometheus.Desc
}

func newCollector(d *DataPlane) *collector {
	return &collector{
		d: d,
		connections: prometheus.NewDesc("pingap_connections_active",
			"Open client connections, by listen address.", []string{"listener"}, nil),
		inFlight: prometheus.NewDesc("pingap_http_requests_in_flight",
			"Requests being served.", nil, nil),
		configInfo: prometheus.NewDesc("pingap_config_info",
			"The running config: always 1, with its content hash and settings.name as labels.", []string{"hash", "name"}, nil),
		lastApply: prometheus.NewDesc("pingap_config_last_apply_timestamp_seconds",
			"When the running config was applied, in Unix seconds.", nil, nil),
		healthy: prometheus.NewDesc("pingap_upstream_target_healthy",
			"1 when the balancers may pick the target (active health and outlier detection agree), else 0.",
			[]string{"upstream", "target"}, nil),
		ejected: prometheus.NewDesc("pingap_upstream_target_ejected",
			"1 while outlier detection ejects the target, else 0.", []string{"upstream", "target"}, nil),
		active: prometheus.NewDesc("pingap_upstream_target_requests_in_flight",
			"Requests in flight to the target.", []string{"upstream", "target"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connections, c.inFlight, c.configInfo, c.lastApply, c.healthy, c.ejected, c.active} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(d.counters.inFlight.Load()))
	d.mu.Lock()
	conns := make(map[string]int64, len(d.listeners))
	for _, l := range d.listeners {
		conns[l.boundAddr()] = l.conns.Load()
	}
	applied := d.status.AppliedAt
	d.mu.Unlock()
	for addr, n := range conns {
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(n), addr)
	}
	rt := d.current.Load()
	if rt == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.configInfo, prometheus.GaugeValue, 1, rt.Hash(), rt.Snapshot().GetSettings().GetName())
	ch <- prometheus.MustNewConstMetric(c.lastApply, prometheus.GaugeValue, float64(applied.UnixNano())/1e9)
	for name, u := range rt.Upstreams() {
		for _, t := range u.Status().Targets {
			ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, b2f(t.Healthy), name, t.Addr)
			ch <- prometheus.MustNewConstMetric(c.ejected, prometheus.GaugeValue, b2f(t.Ejected), name, t.Addr)
			ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(t.Active), name, t.Addr)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
