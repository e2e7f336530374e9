package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClusterStats are a cluster's counts, for metrics.
type ClusterStats struct {
	// Versions is how many versions are stored (at most the retention).
	Versions int
	// Nodes is how many nodes have a record; Live of them are held by a
	// replica (connected), the others are DISCONNECTED.
	Nodes, Live int
}

// Stats counts the stored versions and the node records of every cluster
// that has a version, reading keys and counts but no values: one range
// over the clusters' keys (clusters × retention keys) and one count-only
// transaction per 32 clusters, whatever the number of nodes.
func (s *Store) Stats(ctx context.Context) (map[string]ClusterStats, error) {
	resp, err := s.kv.Get(ctx, s.keys.clusters, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	out := map[string]ClusterStats{}
	for _, kv := range resp.Kvs {
		// <cluster>/current or <cluster>/versions/<n>
		escaped, rest, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), s.keys.clusters), "/")
		if !ok {
			continue
		}
		name, err := url.PathUnescape(escaped)
		if err != nil {
			continue
		}
		st := out[name]
		if strings.HasPrefix(rest, "versions/") {
			st.Versions++
		}
		out[name] = st
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for batch := range slices.Chunk(names, maxBatchOps/2) {
		ops := make([]clientv3.Op, 0, 2*len(batch))
		for _, c := range batch {
			ops = append(ops,
				clientv3.OpGet(s.keys.nodeDir(c), clientv3.WithPrefix(), clientv3.WithCountOnly()),
				clientv3.OpGet(s.keys.liveDir(c), clientv3.WithPrefix(), clientv3.WithCountOnly()))
		}
		resp, err := s.kv.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("store: stats: %w", err)
		}
		for i, c := range batch {
			st := out[c]
			st.Nodes = int(resp.Responses[2*i].GetResponseRange().GetCount())
			st.Live = int(resp.Responses[2*i+1].GetResponseRange().GetCount())
			out[c] = st
		}
	}
	return out, nil
}

// Announce lists this replica under id while the session lives (see
// Replicas); the key follows the session's lease when it is replaced.
func (sess *Session) Announce(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("store: announce: empty replica id")
	}
	key := sess.s.keys.replicas + url.PathEscape(id)
	_, _, err := sess.withLease(func(lease clientv3.LeaseID) error {
		_, err := sess.s.kv.Put(ctx, key, id, clientv3.WithLease(lease))
		if err == nil {
			sess.hold(key, id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: announce replica %q: %w", id, err)
	}
	return nil
}

// Replicas returns the ids of the replicas whose sessions announced them
// and are alive, sorted. A replica that died without closing its session
// stays listed until its lease runs out.
func (s *Store) Replicas(ctx context.Context) ([]string, error) {
	resp, err := s.kv.Get(ctx, s.keys.replicas, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("store: list replicas: %w", err)
	}
	out := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, unescapeOrRaw(strings.TrimPrefix(string(kv.Key), s.keys.replicas)))
	}
	slices.Sort(out)
	return out, nil
}
