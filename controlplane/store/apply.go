package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// maxApplyAttempts bounds how often an apply retries after losing a race
// with another apply (or a garbage collection) before giving up; before
// each retry it waits a random time up to retryStep times the attempt.
const (
	maxApplyAttempts = 32
	retryStep        = 5 * time.Millisecond
)

// ApplyMeta describes an apply or a rollback.
type ApplyMeta struct {
	// Author is who applies, stored in the version's info.
	Author string
	// Message says why, stored in the version's info.
	Message string
	// IfVersion, when set, makes the apply fail with ErrConflict unless the
	// cluster's current version equals *IfVersion (0: the cluster has no
	// version yet). Nil: apply over whatever is current.
	IfVersion *uint64
}

// Apply stores snap as the cluster's next version and makes it current.
// When snap's content (config.Hash) equals the current version's, no
// version is made and Apply returns the current version's info with
// created false. Apply stores what it is given: callers validate first
// (config.Validate).
//
// Applies from any number of Stores are serialized by etcd: each version
// number is used once and a concurrent apply is retried on top of the new
// current version, unless meta.IfVersion is set, in which case it fails
// with ErrConflict.
func (s *Store) Apply(ctx context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta) (info *pb.VersionInfo, created bool, err error) {
	return s.apply(ctx, cluster, snap, meta, 0)
}

// Rollback makes a new version of the cluster with the content of version
// to, with RollbackOf set to to. When that content equals the current
// version's, no version is made and Rollback returns the current version's
// info with created false. meta.IfVersion applies as for Apply. A version
// pruned by retention gives ErrNotFound.
func (s *Store) Rollback(ctx context.Context, cluster string, to uint64, meta ApplyMeta) (info *pb.VersionInfo, created bool, err error) {
	_, snap, err := s.Get(ctx, cluster, to)
	if err != nil {
		return nil, false, err
	}
	return s.apply(ctx, cluster, snap, meta, to)
}

// head is a cluster's current version as one apply attempt saw it.
type head struct {
	version  uint64
	info     *pb.VersionInfo // nil when version is 0
	mod      int64           // ModRevision of the current key; 0 when absent
	fenceMod int64           // ModRevision of the GC fence; 0 when absent
}

func (s *Store) apply(ctx context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta, rollbackOf uint64) (*pb.VersionInfo, bool, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, false, err
	}
	if snap == nil {
		return nil, false, errors.New("store: apply: nil snapshot")
	}
	hash := config.Hash(snap)
	manifest, objs, err := split(snap)
	if err != nil {
		return nil, false, fmt.Errorf("store: apply to cluster %q: %w", cluster, err)
	}
	for attempt := range maxApplyAttempts {
		if attempt > 0 {
			if err := sleep(ctx, rand.N(time.Duration(attempt)*retryStep)); err != nil {
				return nil, false, fmt.Errorf("store: apply to cluster %q: %w", cluster, err)
			}
		}
		h, err := s.head(ctx, cluster)
		if err != nil {
			return nil, false, err
		}
		if meta.IfVersion != nil && *meta.IfVersion != h.version {
			return nil, false, fmt.Errorf("%w: cluster %q is at version %d, not %d", ErrConflict, cluster, h.version, *meta.IfVersion)
		}
		if h.info != nil && h.info.GetHash() == hash {
			return h.info, false, nil
		}
		if err := s.putObjects(ctx, objs); err != nil {
			return nil, false, fmt.Errorf("store: apply to cluster %q: %w", cluster, err)
		}
		info := &pb.VersionInfo{
			Cluster:    cluster,
			Version:    h.version + 1,
			Hash:       hash,
			Author:     meta.Author,
			Message:    meta.Message,
			CreatedAt:  timestamppb.New(s.now()),
			Parent:     h.version,
			RollbackOf: rollbackOf,
		}
		manifest.Info = info
		ok, err := s.commit(ctx, cluster, h, manifest)
		if err != nil {
			return nil, false, err
		}
		if ok {
			s.prune(ctx, cluster, info.GetVersion())
			return info, true, nil
		}
	}
	return nil, false, fmt.Errorf("%w: cluster %q: gave up after %d attempts lost to concurrent applies", ErrConflict, cluster, maxApplyAttempts)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// head reads the cluster's current version, its info and the GC fence, all
// at one revision.
func (s *Store) head(ctx context.Context, cluster string) (head, error) {
	resp, err := s.kv.Txn(ctx).Then(
		clientv3.OpGet(s.keys.current(cluster)),
		clientv3.OpGet(s.keys.gcFence, clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return head{}, fmt.Errorf("store: read current version of cluster %q: %w", cluster, err)
	}
	var h head
	if kvs := resp.Responses[1].GetResponseRange().GetKvs(); len(kvs) > 0 {
		h.fenceMod = kvs[0].ModRevision
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return h, nil
	}
	h.mod = kvs[0].ModRevision
	if h.version, err = parseVersion(cluster, kvs[0].Value); err != nil {
		return head{}, err
	}
	m, _, err := s.manifest(ctx, cluster, h.version, resp.Header.Revision)
	if errors.Is(err, ErrNotFound) {
		return head{}, fmt.Errorf("%w: cluster %q: current version %d has no manifest", ErrCorrupt, cluster, h.version)
	}
	if err != nil {
		return head{}, err
	}
	h.info = m.GetInfo()
	return h, nil
}

func parseVersion(cluster string, b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: cluster %q: current version %q is not a version number", ErrCorrupt, cluster, b)
	}
	return v, nil
}

// commit stores the manifest as version h.version+1 and makes it current,
// if nothing changed since h was read: the current version (another apply)
// and the GC fence (a collection that may have deleted an object this
// apply found stored). It reports whether it did.
func (s *Store) commit(ctx context.Context, cluster string, h head, m *pb.Manifest) (bool, error) {
	data, err := marshalOpts.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("store: encode manifest: %w", err)
	}
	if len(data) > maxManifestBytes {
		return false, fmt.Errorf("%w: cluster %q: the manifest of %d objects is %d bytes; at most %d fit in one etcd value",
			ErrTooLarge, cluster, len(manifestHashes(m)), len(data), maxManifestBytes)
	}
	v := m.GetInfo().GetVersion()
	vkey := s.keys.version(cluster, v)
	resp, err := s.kv.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(s.keys.current(cluster)), "=", h.mod),
		clientv3.Compare(clientv3.ModRevision(s.keys.gcFence), "=", h.fenceMod),
		clientv3.Compare(clientv3.CreateRevision(vkey), "=", 0),
	).Then(
		clientv3.OpPut(vkey, string(data)),
		clientv3.OpPut(s.keys.current(cluster), strconv.FormatUint(v, 10)),
		clientv3.OpPut(s.keys.applyEpoch, ""),
	).Commit()
	if err != nil {
		return false, fmt.Errorf("store: commit version %d of cluster %q: %w", v, cluster, err)
	}
	return resp.Succeeded, nil
}

// prune deletes the cluster's manifests older than the newest Retention
// (latest is the version just committed) and, when it deleted any, collects
// the objects no kept manifest references. The version is committed by
// then, so failures are logged, not returned; the next collection catches
// up.
func (s *Store) prune(ctx context.Context, cluster string, latest uint64) {
	if latest <= uint64(s.retention) {
		return
	}
	firstKept := latest - uint64(s.retention) + 1
	resp, err := s.kv.Delete(ctx, s.keys.version(cluster, 0),
		clientv3.WithRange(s.keys.version(cluster, firstKept)))
	if err != nil {
		s.log.Warn("store: prune old versions", "cluster", cluster, "keep_from", firstKept, "error", err)
		return
	}
	if resp.Deleted == 0 {
		return
	}
	if _, err := s.CollectGarbage(ctx); err != nil {
		s.log.Warn("store: collect unreferenced objects", "cluster", cluster, "error", err)
	}
}

// manifest reads version v of the cluster as of revision rev (0: latest)
// and returns it with the revision it was read at.
func (s *Store) manifest(ctx context.Context, cluster string, v uint64, rev int64) (*pb.Manifest, int64, error) {
	resp, err := s.kv.Get(ctx, s.keys.version(cluster, v), clientv3.WithRev(rev))
	if err != nil {
		return nil, 0, fmt.Errorf("store: read version %d of cluster %q: %w", v, cluster, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, fmt.Errorf("%w: cluster %q has no version %d", ErrNotFound, cluster, v)
	}
	m, err := decodeManifest(cluster, v, resp.Kvs[0].Value)
	if err != nil {
		return nil, 0, err
	}
	return m, resp.Header.Revision, nil
}

func decodeManifest(cluster string, v uint64, b []byte) (*pb.Manifest, error) {
	m := &pb.Manifest{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: cluster %q version %d: manifest: %v", ErrCorrupt, cluster, v, err)
	}
	if m.GetInfo().GetVersion() != v || m.GetInfo().GetCluster() != cluster {
		return nil, fmt.Errorf("%w: cluster %q version %d: manifest describes cluster %q version %d",
			ErrCorrupt, cluster, v, m.GetInfo().GetCluster(), m.GetInfo().GetVersion())
	}
	return m, nil
}
