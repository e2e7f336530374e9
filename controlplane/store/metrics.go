package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The operations of pingap_controlplane_etcd_request_duration_seconds: one
// per kind of etcd request the Store makes, so the label stays bounded.
const (
	opGet         = "get"          // a range read (one key, a prefix, a count)
	opPut         = "put"          // a single write
	opDelete      = "delete"       // a range delete
	opTxn         = "txn"          // a transaction (reads, writes or both)
	opLeaseGrant  = "lease_grant"  // a session's lease
	opLeaseRevoke = "lease_revoke" // a session's end
	opWatchStart  = "watch_start"  // from asking for a watch to etcd confirming it
)

// metrics times the Store's etcd requests.
type metrics struct {
	vec                                      *prometheus.HistogramVec
	get, put, del, txn, grant, revoke, watch prometheus.Observer
}

func newMetrics() *metrics {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pingap_controlplane_etcd_request_duration_seconds",
		Help: "Time of the control plane store's etcd requests, failed ones included, by operation " +
			"(get, put, delete, txn, lease_grant, lease_revoke, watch_start).",
		Buckets:                         []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, []string{"operation"})
	return &metrics{
		vec: h,
		get: h.WithLabelValues(opGet), put: h.WithLabelValues(opPut), del: h.WithLabelValues(opDelete), txn: h.WithLabelValues(opTxn),
		grant: h.WithLabelValues(opLeaseGrant), revoke: h.WithLabelValues(opLeaseRevoke),
		watch: h.WithLabelValues(opWatchStart),
	}
}

// since observes the time from start to now.
func since(o prometheus.Observer, start time.Time) { o.Observe(time.Since(start).Seconds()) }

// timedKV is etcd's KV API with Get, Put, Delete and every transaction
// timed. (The Store makes no other KV requests.)
type timedKV struct {
	clientv3.KV
	m *metrics
}

func (k timedKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	defer since(k.m.get, time.Now())
	return k.KV.Get(ctx, key, opts...)
}

func (k timedKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	defer since(k.m.put, time.Now())
	return k.KV.Put(ctx, key, val, opts...)
}

func (k timedKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	defer since(k.m.del, time.Now())
	return k.KV.Delete(ctx, key, opts...)
}

func (k timedKV) Txn(ctx context.Context) clientv3.Txn { return timedTxn{k.KV.Txn(ctx), k.m} }

// timedTxn times its Commit.
type timedTxn struct {
	clientv3.Txn
	m *metrics
}

func (t timedTxn) If(cs ...clientv3.Cmp) clientv3.Txn { return timedTxn{t.Txn.If(cs...), t.m} }

func (t timedTxn) Then(ops ...clientv3.Op) clientv3.Txn { return timedTxn{t.Txn.Then(ops...), t.m} }

func (t timedTxn) Else(ops ...clientv3.Op) clientv3.Txn { return timedTxn{t.Txn.Else(ops...), t.m} }

func (t timedTxn) Commit() (*clientv3.TxnResponse, error) {
	defer since(t.m.txn, time.Now())
	return t.Txn.Commit()
}

// timedLease is etcd's Lease API with Grant and Revoke timed (KeepAlive
// opens a stream and returns at once).
type timedLease struct {
	clientv3.Lease
	m *metrics
}

func (l timedLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	defer since(l.m.grant, time.Now())
	return l.Lease.Grant(ctx, ttl)
}

func (l timedLease) Revoke(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseRevokeResponse, error) {
	defer since(l.m.revoke, time.Now())
	return l.Lease.Revoke(ctx, id)
}
