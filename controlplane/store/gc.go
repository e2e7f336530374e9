package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// scanPage is how many keys one request of a scan reads.
const scanPage = 128

// CollectGarbage deletes the objects that no stored manifest of any
// cluster references, and returns how many it deleted. Apply runs it after
// pruning old versions; call it to clean up objects left by applies that
// failed half-way (their objects written, their manifest not).
//
// It is a mark-and-sweep at one etcd revision R, made safe against applies
// in other replicas by two fence keys:
//
//   - mark: read every manifest at R; sweep: list every object at R; the
//     unmarked ones are garbage.
//   - Each delete transaction requires that no apply committed since R (the
//     apply-epoch key, written by every commit, is unchanged), so every
//     manifest that exists when the objects are deleted was marked.
//   - Each delete transaction also writes the gc-fence key, and an apply
//     commits only if that key is unchanged since before it checked which
//     objects are already stored; an apply that relied on an object this
//     collection deleted is refused and retried, and rewrites the object.
//
// If an apply commits meanwhile, the collection stops early without error;
// the next one finishes the work.
func (s *Store) CollectGarbage(ctx context.Context) (int, error) {
	p, err := s.planGC(ctx)
	if err != nil {
		return 0, err
	}
	return s.sweep(ctx, p)
}

// gcPlan is what a collection found at one revision.
type gcPlan struct {
	epochMod int64    // ModRevision of the apply epoch then; 0 when absent
	garbage  []string // keys of the objects no manifest referenced
}

// planGC marks the objects the manifests reference and lists the others.
func (s *Store) planGC(ctx context.Context) (gcPlan, error) {
	resp, err := s.kv.Get(ctx, s.keys.applyEpoch)
	if err != nil {
		return gcPlan{}, fmt.Errorf("store: gc: %w", err)
	}
	rev := resp.Header.Revision
	var epochMod int64
	if len(resp.Kvs) > 0 {
		epochMod = resp.Kvs[0].ModRevision
	}

	marked := make(map[string]struct{})
	err = s.scan(ctx, s.keys.clusters, rev, false, func(kv *mvccpb.KeyValue) error {
		rest := strings.TrimPrefix(string(kv.Key), s.keys.clusters)
		i := strings.Index(rest, "/versions/")
		if i < 0 {
			return nil
		}
		v, err := strconv.ParseUint(rest[i+len("/versions/"):], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: version key %q", ErrCorrupt, kv.Key)
		}
		m, err := decodeManifest(unescapeOrRaw(rest[:i]), v, kv.Value)
		if err != nil {
			// Without its references nothing can be collected safely.
			return err
		}
		for _, h := range manifestHashes(m) {
			marked[h] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return gcPlan{}, fmt.Errorf("store: gc: mark: %w", err)
	}

	var garbage []string
	err = s.scan(ctx, s.keys.objects, rev, true, func(kv *mvccpb.KeyValue) error {
		if _, ok := marked[strings.TrimPrefix(string(kv.Key), s.keys.objects)]; !ok {
			garbage = append(garbage, string(kv.Key))
		}
		return nil
	})
	if err != nil {
		return gcPlan{}, fmt.Errorf("store: gc: list objects: %w", err)
	}
	return gcPlan{epochMod: epochMod, garbage: garbage}, nil
}

// sweep deletes the plan's garbage while no apply has committed since the
// plan was made, and returns how many objects it deleted.
func (s *Store) sweep(ctx context.Context, p gcPlan) (int, error) {
	deleted := 0
	for batch := range slices.Chunk(p.garbage, maxBatchOps-1) {
		ops := make([]clientv3.Op, 0, len(batch)+1)
		for _, k := range batch {
			ops = append(ops, clientv3.OpDelete(k))
		}
		ops = append(ops, clientv3.OpPut(s.keys.gcFence, ""))
		resp, err := s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.keys.applyEpoch), "=", p.epochMod)).
			Then(ops...).Commit()
		if err != nil {
			return deleted, fmt.Errorf("store: gc: delete: %w", err)
		}
		if !resp.Succeeded {
			s.log.Debug("store: gc: an apply committed meanwhile; stopping", "deleted", deleted, "left", len(p.garbage)-deleted)
			return deleted, nil
		}
		deleted += len(batch)
	}
	if deleted > 0 {
		s.log.Debug("store: gc: deleted unreferenced objects", "count", deleted)
	}
	return deleted, nil
}

// scan calls fn for every key under prefix as of revision rev, reading
// scanPage keys per request.
func (s *Store) scan(ctx context.Context, prefix string, rev int64, keysOnly bool, fn func(*mvccpb.KeyValue) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(scanPage)}
		if keysOnly {
			opts = append(opts, clientv3.WithKeysOnly())
		}
		resp, err := s.kv.Get(ctx, key, opts...)
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			if err := fn(kv); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
