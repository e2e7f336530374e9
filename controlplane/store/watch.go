package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Backoff between watch restarts after errors.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// Watch returns a channel that receives the cluster's current version at
// once (when it has one) and then every version that becomes current,
// until ctx ends or the Store is closed; then the channel is closed.
//
// A slow reader does not hold anything up: the channel holds one value,
// and a newer version replaces one not yet received, so the reader always
// gets the latest. The same version is never sent twice. Watch survives
// etcd errors (reconnects, compaction) by reading the current version
// again and watching from there.
//
// An empty cluster name gives a closed channel.
func (s *Store) Watch(ctx context.Context, cluster string) <-chan *pb.VersionInfo {
	out := make(chan *pb.VersionInfo, 1)
	if checkCluster(cluster) != nil {
		close(out)
		return out
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer stop()
		defer cancel()
		w := &watcher{s: s, cluster: cluster, out: out}
		w.run(ctx)
	}()
	return out
}

// watcher follows one cluster's current key for one Watch call.
type watcher struct {
	s       *Store
	cluster string
	out     chan *pb.VersionInfo
	last    uint64 // the last version sent
}

func (w *watcher) run(ctx context.Context) {
	backoff := watchMinBackoff
	for ctx.Err() == nil {
		progressed, err := w.follow(ctx)
		if ctx.Err() != nil || w.s.client.Ctx().Err() != nil {
			return
		}
		if progressed {
			backoff = watchMinBackoff
		}
		w.s.log.Warn("store: watch interrupted; reading the current version again",
			"cluster", w.cluster, "error", err, "retry_in", backoff)
		if sleep(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// follow reads the current version, sends it, and watches the current key
// from there until an error; it reports whether it got that far.
func (w *watcher) follow(ctx context.Context) (bool, error) {
	resp, err := w.s.kv.Get(ctx, w.s.keys.current(w.cluster))
	if err != nil {
		return false, err
	}
	if len(resp.Kvs) > 0 {
		if err := w.sendVersion(ctx, resp.Kvs[0].Value, resp.Header.Revision); err != nil {
			return false, err
		}
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	start := time.Now()
	ch := w.s.client.Watch(wctx, w.s.keys.current(w.cluster), clientv3.WithRev(resp.Header.Revision+1),
		clientv3.WithCreatedNotify())
	for wr := range ch {
		if wr.Created { // etcd's answer to the watch request: no events
			since(w.s.m.watch, start)
		}
		if err := wr.Err(); err != nil {
			return true, err
		}
		// Only the last put of a batch matters: the reader wants the latest.
		for i := len(wr.Events) - 1; i >= 0; i-- {
			ev := wr.Events[i]
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			if err := w.sendVersion(ctx, ev.Kv.Value, ev.Kv.ModRevision); err != nil {
				return true, err
			}
			break
		}
	}
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, fmt.Errorf("store: watch of cluster %q closed", w.cluster)
}

// sendVersion reads the info of version value (as of rev) and sends it
// unless it was the last one sent.
func (w *watcher) sendVersion(ctx context.Context, value []byte, rev int64) error {
	v, err := parseVersion(w.cluster, value)
	if err != nil {
		return err
	}
	if v == w.last {
		return nil
	}
	m, _, err := w.s.manifest(ctx, w.cluster, v, rev)
	if err != nil {
		return err
	}
	w.last = v
	offerLatest(w.out, proto.CloneOf(m.GetInfo()))
	return nil
}
