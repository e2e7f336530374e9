package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Current returns the cluster's current version and its snapshot, or
// ErrNotFound when the cluster has no version.
func (s *Store) Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, nil, err
	}
	return retryCompacted(func() (*pb.VersionInfo, *pb.Snapshot, error) {
		resp, err := s.kv.Get(ctx, s.keys.current(cluster))
		if err != nil {
			return nil, nil, fmt.Errorf("store: read current version of cluster %q: %w", cluster, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, nil, fmt.Errorf("%w: cluster %q has no version", ErrNotFound, cluster)
		}
		v, err := parseVersion(cluster, resp.Kvs[0].Value)
		if err != nil {
			return nil, nil, err
		}
		return s.load(ctx, cluster, v, resp.Header.Revision)
	})
}

// Get returns version v of the cluster and its snapshot, verified: every
// object must match its hash and the snapshot the version's hash, or Get
// fails with ErrCorrupt. A version that does not exist or was pruned gives
// ErrNotFound.
func (s *Store) Get(ctx context.Context, cluster string, version uint64) (*pb.VersionInfo, *pb.Snapshot, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, nil, err
	}
	return retryCompacted(func() (*pb.VersionInfo, *pb.Snapshot, error) {
		return s.load(ctx, cluster, version, 0)
	})
}

// retryCompacted runs read once more when it failed because etcd compacted
// the revision it was reading at.
func retryCompacted(read func() (*pb.VersionInfo, *pb.Snapshot, error)) (*pb.VersionInfo, *pb.Snapshot, error) {
	info, snap, err := read()
	if errors.Is(err, rpctypes.ErrCompacted) {
		info, snap, err = read()
	}
	return info, snap, err
}

// load reads version v at revision rev (0: latest) and reassembles its
// snapshot from objects read at the same revision.
func (s *Store) load(ctx context.Context, cluster string, v uint64, rev int64) (*pb.VersionInfo, *pb.Snapshot, error) {
	m, rev, err := s.manifest(ctx, cluster, v, rev)
	if err != nil {
		return nil, nil, err
	}
	data, err := s.getObjects(ctx, manifestHashes(m), rev)
	if err != nil {
		return nil, nil, err
	}
	snap, err := assemble(m, data)
	if err != nil {
		return nil, nil, fmt.Errorf("store: cluster %q version %d: %w", cluster, v, err)
	}
	if got := config.Hash(snap); got != m.GetInfo().GetHash() {
		return nil, nil, fmt.Errorf("%w: cluster %q version %d: reassembled snapshot hashes to %s, not %s",
			ErrCorrupt, cluster, v, got, m.GetInfo().GetHash())
	}
	return m.GetInfo(), snap, nil
}

// Versions returns the cluster's stored versions, newest first, at most
// limit of them (limit <= 0: all). A cluster without versions gives an
// empty list.
func (s *Store) Versions(ctx context.Context, cluster string, limit int) ([]*pb.VersionInfo, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, err
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := s.kv.Get(ctx, s.keys.versions(cluster), opts...)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of cluster %q: %w", cluster, err)
	}
	out := make([]*pb.VersionInfo, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		name := strings.TrimPrefix(string(kv.Key), s.keys.versions(cluster))
		v, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster %q: version key %q", ErrCorrupt, cluster, kv.Key)
		}
		m, err := decodeManifest(cluster, v, kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, m.GetInfo())
	}
	return out, nil
}

// Clusters returns the names of the clusters that have a version, sorted.
// A cluster whose nodes connected before any apply is not listed.
func (s *Store) Clusters(ctx context.Context) ([]string, error) {
	resp, err := s.kv.Get(ctx, s.keys.clusters, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("store: list clusters: %w", err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		rest, ok := strings.CutSuffix(strings.TrimPrefix(string(kv.Key), s.keys.clusters), "/current")
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		name, err := url.PathUnescape(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster key %q: %v", ErrCorrupt, kv.Key, err)
		}
		out = append(out, name)
	}
	return out, nil
}

// unescapeOrRaw returns the cluster name a key component encodes.
func unescapeOrRaw(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
