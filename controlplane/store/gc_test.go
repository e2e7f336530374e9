package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// referenced returns the object hashes the stored manifests reference and
// the stored object hashes.
func objectSets(t *testing.T, s *Store) (referenced, stored map[string]bool) {
	t.Helper()
	ctx := t.Context()
	referenced, stored = map[string]bool{}, map[string]bool{}
	resp, err := s.client.Get(ctx, s.keys.clusters, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		m := &pb.Manifest{}
		if err := proto.Unmarshal(kv.Value, m); err != nil || m.GetInfo() == nil {
			continue // a current key
		}
		for _, h := range manifestHashes(m) {
			referenced[h] = true
		}
	}
	resp, err = s.client.Get(ctx, s.keys.objects, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		stored[string(kv.Key[len(s.keys.objects):])] = true
	}
	return referenced, stored
}

func TestRetention(t *testing.T) {
	t.Parallel()
	s := newStore(t, withRetention(3))
	ctx := t.Context()
	// Cluster "other" keeps snap(1) (the first version's content) forever.
	if _, _, err := s.Apply(ctx, "other", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	for port := 1; port <= 6; port++ {
		if _, _, err := s.Apply(ctx, "c", snap(port), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	versions, err := s.Versions(ctx, "c", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 || versions[0].GetVersion() != 6 || versions[2].GetVersion() != 4 {
		t.Fatalf("kept %v, want versions 6, 5, 4", versions)
	}
	for _, v := range []uint64{1, 2, 3} {
		if _, _, err := s.Get(ctx, "c", v); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned version %d: %v", v, err)
		}
	}
	referenced, stored := objectSets(t, s)
	for h := range referenced {
		if !stored[h] {
			t.Errorf("referenced object %s was deleted", h)
		}
	}
	for h := range stored {
		if !referenced[h] {
			t.Errorf("unreferenced object %s was kept", h)
		}
	}
	// 7 shared objects + the api upstream of ports 1 (other), 4, 5, 6.
	if len(stored) != 11 {
		t.Errorf("%d objects stored, want 11", len(stored))
	}
	for _, c := range []string{"c", "other"} {
		if _, _, err := s.Current(ctx, c); err != nil {
			t.Errorf("current of %s: %v", c, err)
		}
	}
	for _, v := range []uint64{4, 5} {
		if _, _, err := s.Get(ctx, "c", v); err != nil {
			t.Errorf("kept version %d: %v", v, err)
		}
	}
	// A rollback to a pruned version is not possible; to a kept one it is.
	if _, _, err := s.Rollback(ctx, "c", 2, ApplyMeta{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("rollback to pruned: %v", err)
	}
	if info, _, err := s.Rollback(ctx, "c", 4, ApplyMeta{}); err != nil || info.GetVersion() != 7 {
		t.Errorf("rollback to kept: %v %v", info, err)
	}
}

// TestGCFenceRefusesApply interleaves an apply and a collection by hand:
// the apply finds an unreferenced object stored, the collection deletes
// it, and the apply's commit must then be refused.
func TestGCFenceRefusesApply(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, p := range []int{1, 2} {
		if _, _, err := s.Apply(ctx, "c", snap(p), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	// Make snap(1)'s api upstream unreferenced, as a prune would.
	if _, err := s.client.Delete(ctx, s.keys.version("c", 1)); err != nil {
		t.Fatal(err)
	}
	h, err := s.head(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	m, objs, err := split(snap(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.putObjects(ctx, objs); err != nil { // finds them all stored
		t.Fatal(err)
	}
	if n, err := s.CollectGarbage(ctx); err != nil || n != 1 {
		t.Fatalf("collected %d, %v; want 1", n, err)
	}
	m.Info = &pb.VersionInfo{Cluster: "c", Version: h.version + 1, Hash: "x"}
	ok, err := s.commit(ctx, "c", h, m)
	if err != nil || ok {
		t.Fatalf("commit after a collection: ok %v, %v; want refused", ok, err)
	}
	// The whole apply retries and stores the object again.
	if _, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := s.Current(ctx, "c"); err != nil || !proto.Equal(got, snap(1)) {
		t.Fatalf("current: %v", err)
	}
}

// TestGCStopsAfterApply interleaves the other way: a collection plans,
// an apply commits a version referencing a planned object, and the
// collection must delete nothing.
func TestGCStopsAfterApply(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	if _, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	// An orphan, as a failed apply leaves: snap(2)'s api upstream.
	_, objs, err := split(snap(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.putObjects(ctx, objs); err != nil {
		t.Fatal(err)
	}
	p, err := s.planGC(ctx)
	if err != nil || len(p.garbage) != 1 {
		t.Fatalf("plan %v, %v; want one object", p.garbage, err)
	}
	if _, _, err := s.Apply(ctx, "c", snap(2), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.sweep(ctx, p); err != nil || n != 0 {
		t.Fatalf("swept %d, %v after an apply; want 0", n, err)
	}
	if _, _, err := s.Current(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	// With no apply in between, the orphan of a failed apply is collected.
	_, objs, err = split(snap(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.putObjects(ctx, objs); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CollectGarbage(ctx); err != nil || n != 1 {
		t.Fatalf("collected %d, %v; want 1", n, err)
	}
}

// TestReplicasApplyConcurrently runs two Stores on one etcd, as two
// control-plane replicas, applying at once with a short retention, so
// collections run during applies.
func TestReplicasApplyConcurrently(t *testing.T) {
	t.Parallel()
	a := newStore(t, withRetention(3))
	b := newStore(t, withRetention(3))
	ctx := t.Context()
	const perWriter = 8
	type result struct {
		info *pb.VersionInfo
		port int
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for w, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for i := range perWriter {
				port := 10000 + w*100 + i
				info, created, err := s.Apply(ctx, "c", snap(port), ApplyMeta{Author: fmt.Sprint("writer", w)})
				if err != nil || !created {
					t.Errorf("writer %d apply %d: created %v, %v", w, i, created, err)
					return
				}
				mu.Lock()
				results = append(results, result{info, port})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, r := range results {
		if seen[r.info.GetVersion()] {
			t.Errorf("version %d returned twice", r.info.GetVersion())
		}
		seen[r.info.GetVersion()] = true
		if r.info.GetParent() != r.info.GetVersion()-1 {
			t.Errorf("version %d has parent %d", r.info.GetVersion(), r.info.GetParent())
		}
	}
	total := uint64(4 * perWriter)
	for v := uint64(1); v <= total; v++ {
		if !seen[v] {
			t.Errorf("version %d missing", v)
		}
	}
	cur, _, err := b.Current(ctx, "c")
	if err != nil || cur.GetVersion() != total {
		t.Fatalf("current %v, %v; want version %d", cur, err, total)
	}
	// Every kept version reads back whole: no collection lost an object.
	versions, err := a.Versions(ctx, "c", 0)
	if err != nil || len(versions) != 3 {
		t.Fatalf("versions %v, %v", versions, err)
	}
	for _, r := range results {
		if r.info.GetVersion() <= total-3 {
			continue
		}
		if _, got, err := a.Get(ctx, "c", r.info.GetVersion()); err != nil || !proto.Equal(got, snap(r.port)) {
			t.Errorf("version %d: %v", r.info.GetVersion(), err)
		}
	}
}

func TestCorruptObject(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	info, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.manifest(ctx, "c", info.GetVersion(), 0)
	if err != nil {
		t.Fatal(err)
	}
	key := s.keys.object(m.GetUpstreams()["api"])
	other, err := marshalOpts.Marshal(&pb.Upstream{Addrs: []string{"10.9.9.9:1"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		edit func() error
	}{
		{desc: "valid protobuf of other content", edit: func() error {
			_, err := s.client.Put(ctx, key, string(other))
			return err
		}},
		{desc: "garbage bytes", edit: func() error {
			_, err := s.client.Put(ctx, key, "\xff\xff\xff")
			return err
		}},
		{desc: "deleted", edit: func() error {
			_, err := s.client.Delete(ctx, key)
			return err
		}},
	}
	for _, tc := range tests {
		if err := tc.edit(); err != nil {
			t.Fatal(err)
		}
		for name, read := range map[string]func() (*pb.Snapshot, error){
			"get":     func() (*pb.Snapshot, error) { _, sn, err := s.Get(ctx, "c", 1); return sn, err },
			"current": func() (*pb.Snapshot, error) { _, sn, err := s.Current(ctx, "c"); return sn, err },
		} {
			sn, err := read()
			if !errors.Is(err, ErrCorrupt) || sn != nil {
				t.Errorf("%s: %s: %v, %v; want ErrCorrupt and no snapshot", tc.desc, name, sn, err)
				continue
			}
			if want := `upstream "api"`; !containsAll(err.Error(), want, m.GetUpstreams()["api"]) {
				t.Errorf("%s: %s: error %q does not name the object", tc.desc, name, err)
			}
		}
	}
	// A corrupt manifest is an error too.
	if _, err := s.client.Put(ctx, s.keys.version("c", 1), "\xff"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "c", 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt manifest: %v", err)
	}
}
