package controlplane

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/controlplane/discovery"
	"github.com/pingap-go/pingap/controlplane/store"
	"github.com/pingap-go/pingap/internal/telemetry"
)

// statsTimeout bounds the etcd reads of one scrape.
const statsTimeout = 2 * time.Second

// fleetCollector reports at scrape time what is not counted as it happens:
// the nodes by state, the open discovery streams and the versions stored.
//
// SYNCED, PENDING and NACKED count the nodes whose stream this replica
// holds, from the discovery server's memory (no etcd read), so their sum
// over replicas is the connected fleet. DISCONNECTED nodes are held by no
// replica: the replica listed first by store.Replicas reports them for the
// whole fleet and the others report 0, so a sum over replicas counts each
// node once. They and the versions come from store.Stats: keys and counts,
// no record is read.
type fleetCollector struct {
	serverID  string
	discovery *discovery.Server
	store     *store.Store

	nodes, streams, versions *prometheus.Desc
}

func newFleetCollector(serverID string, d *discovery.Server, s *store.Store) *fleetCollector {
	return &fleetCollector{
		serverID: serverID, discovery: d, store: s,
		nodes: prometheus.NewDesc("pingap_controlplane_nodes",
			"Data-plane nodes by cluster and status: SYNCED, PENDING and NACKED count the nodes streaming from this replica; "+
				"DISCONNECTED the cluster's nodes no replica holds (reported by one replica, 0 on the others).",
			[]string{"cluster", "status"}, nil),
		streams: prometheus.NewDesc("pingap_controlplane_streams_active",
			"Discovery streams open on this replica.", nil, nil),
		versions: prometheus.NewDesc("pingap_controlplane_config_versions",
			"Config versions stored, by cluster (the same on every replica).", []string{"cluster"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (f *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.nodes
	ch <- f.streams
	ch <- f.versions
}

// Collect implements prometheus.Collector.
func (f *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	census := f.discovery.Census()
	ch <- prometheus.MustNewConstMetric(f.streams, prometheus.GaugeValue, float64(census.Streams))
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	stats, err := f.store.Stats(ctx)
	reporter := false
	if err == nil {
		var replicas []string
		replicas, err = f.store.Replicas(ctx)
		reporter = len(replicas) > 0 && replicas[0] == f.serverID
	}
	if err != nil {
		// The scrape goes on without the etcd-derived values.
		ch <- prometheus.NewInvalidMetric(f.versions, err)
		stats = nil
	}
	gauge := func(v int, cluster, status string) {
		ch <- prometheus.MustNewConstMetric(f.nodes, prometheus.GaugeValue, float64(v), cluster, status)
	}
	for cluster, n := range census.Nodes {
		gauge(n.Synced, cluster, "SYNCED")
		gauge(n.Pending, cluster, "PENDING")
		gauge(n.Nacked, cluster, "NACKED")
	}
	for cluster, st := range stats {
		if _, ok := census.Nodes[cluster]; !ok {
			gauge(0, cluster, "SYNCED")
			gauge(0, cluster, "PENDING")
			gauge(0, cluster, "NACKED")
		}
		disconnected := 0
		if reporter {
			disconnected = max(st.Nodes-st.Live, 0)
		}
		gauge(disconnected, cluster, "DISCONNECTED")
		ch <- prometheus.MustNewConstMetric(f.versions, prometheus.GaugeValue, float64(st.Versions), cluster)
	}
}

// metricsHandler serves /metrics from reg and, with withPprof,
// net/http/pprof's profiles under /debug/pprof/.
func metricsHandler(reg *prometheus.Registry, log *slog.Logger, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	telemetry.HandleMetrics(mux, reg, log, withPprof)
	return mux
}
