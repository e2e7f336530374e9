package discovery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// metrics are the server's counters and its convergence histogram, by
// cluster. The node gauges are read at scrape time instead (Census).
type metrics struct {
	pushes, acks, nacks *prometheus.CounterVec
	convergence         *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"cluster"})
	}
	m := &metrics{
		pushes: counter("pingap_controlplane_pushes_total",
			"Config versions pushed to data planes by this replica, by cluster."),
		acks: counter("pingap_controlplane_acks_total",
			"Pushes data planes acknowledged (applied), by cluster."),
		nacks: counter("pingap_controlplane_nacks_total",
			"Pushes data planes rejected (NACK), by cluster."),
		convergence: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pingap_controlplane_convergence_seconds",
			Help: "Per config version and replica: time from the version's creation to the last ACK of it, " +
				"once no node streaming from this replica is still pending on it. By cluster.",
			Buckets:                         []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"cluster"}),
	}
	if reg != nil {
		reg.MustRegister(m.pushes, m.acks, m.nacks, m.convergence)
	}
	return m
}

// clusterMetrics are the metrics of one cluster, bound once.
type clusterMetrics struct {
	pushes, acks, nacks prometheus.Counter
	convergence         prometheus.Observer
}

func (m *metrics) cluster(name string) clusterMetrics {
	return clusterMetrics{
		pushes:      m.pushes.WithLabelValues(name),
		acks:        m.acks.WithLabelValues(name),
		nacks:       m.nacks.WithLabelValues(name),
		convergence: m.convergence.WithLabelValues(name),
	}
}

// NodeCounts counts the nodes of one cluster streaming from a server, by
// the state (see pb.NodeState) each stream last recorded for its node. A
// stream that has not recorded one yet counts as pending.
type NodeCounts struct {
	Synced, Pending, Nacked int
}

// Census is what a server serves at one moment.
type Census struct {
	// Streams is the number of open streams past their Hello. A node's
	// stream replaced by a newer one counts until it has ended.
	Streams int
	// Nodes counts, per cluster with a stream here, the nodes whose
	// current stream this server holds.
	Nodes map[string]NodeCounts
}

// Census counts the server's streams and their nodes' states. It holds the
// server's lock for one pass over the streams, reading one atomic each, so
// it is cheap enough for every scrape of a replica with thousands of nodes.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Census{Nodes: make(map[string]NodeCounts, len(s.clusters))}
	for _, c := range s.clusters {
		out.Streams += len(c.subs)
		out.Nodes[c.name] = NodeCounts{}
	}
	for k, st := range s.nodes {
		n := out.Nodes[k.cluster]
		switch st.recordedState() {
		case pb.NodeState_NODE_STATE_SYNCED:
			n.Synced++
		case pb.NodeState_NODE_STATE_NACKED:
			n.Nacked++
		default:
			n.Pending++
		}
		out.Nodes[k.cluster] = n
	}
	return out
}
