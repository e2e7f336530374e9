package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestApply(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	type step struct {
		desc        string
		snap        *pb.Snapshot
		ifVersion   *uint64
		wantVersion uint64
		wantCreated bool
		wantErr     error
	}
	steps := []step{
		{desc: "if_version 1 on an empty cluster", snap: snap(1), ifVersion: u64(1), wantErr: ErrConflict},
		{desc: "first apply, if_version 0", snap: snap(1), ifVersion: u64(0), wantVersion: 1, wantCreated: true},
		{desc: "new content", snap: snap(2), wantVersion: 2, wantCreated: true},
		{desc: "identical content", snap: snap(2), wantVersion: 2},
		{desc: "identical content, if_version matches", snap: snap(2), ifVersion: u64(2), wantVersion: 2},
		{desc: "if_version matches", snap: snap(3), ifVersion: u64(2), wantVersion: 3, wantCreated: true},
		{desc: "if_version behind", snap: snap(4), ifVersion: u64(2), wantErr: ErrConflict},
		{desc: "if_version 0 on an existing cluster", snap: snap(4), ifVersion: u64(0), wantErr: ErrConflict},
		{desc: "back to earlier content", snap: snap(1), wantVersion: 4, wantCreated: true},
	}
	for _, st := range steps {
		info, created, err := s.Apply(ctx, "c1", st.snap, ApplyMeta{Author: "alice", Message: st.desc, IfVersion: st.ifVersion})
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err = %v, want %v", st.desc, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.desc, err)
		}
		if info.GetVersion() != st.wantVersion || created != st.wantCreated {
			t.Fatalf("%s: version %d created %v, want %d %v", st.desc, info.GetVersion(), created, st.wantVersion, st.wantCreated)
		}
		if info.GetHash() != config.Hash(st.snap) {
			t.Errorf("%s: hash %s, want %s", st.desc, info.GetHash(), config.Hash(st.snap))
		}
		if created && (info.GetAuthor() != "alice" || info.GetMessage() != st.desc || info.GetParent() != st.wantVersion-1 ||
			info.GetCluster() != "c1" || info.GetCreatedAt() == nil) {
			t.Errorf("%s: info %v", st.desc, info)
		}
	}
	versions, err := s.Versions(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, v := range versions {
		got = append(got, v.GetVersion())
	}
	if want := []uint64{4, 3, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
	if two, _ := s.Versions(ctx, "c1", 2); len(two) != 2 || two[0].GetVersion() != 4 {
		t.Errorf("versions limit 2: %v", two)
	}
	if none, err := s.Versions(ctx, "nope", 0); err != nil || len(none) != 0 {
		t.Errorf("versions of an unknown cluster: %v, %v", none, err)
	}
}

func TestApplyUsesClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newStore(t, func(c *Config) { c.Now = func() time.Time { return at } })
	info, _, err := s.Apply(t.Context(), "c", snap(1), ApplyMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if !info.GetCreatedAt().AsTime().Equal(at) {
		t.Errorf("created_at %v, want %v", info.GetCreatedAt().AsTime(), at)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, p := range []int{1, 2} {
		if _, _, err := s.Apply(ctx, "c", snap(p), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc        string
		to          uint64
		ifVersion   *uint64
		wantVersion uint64
		wantOf      uint64
		wantCreated bool
		wantSnap    *pb.Snapshot
		wantErr     error
	}{
		{desc: "to an older version", to: 1, wantVersion: 3, wantOf: 1, wantCreated: true, wantSnap: snap(1)},
		{desc: "to the current content", to: 1, wantVersion: 3, wantOf: 1, wantSnap: snap(1)},
		{desc: "if_version behind", to: 2, ifVersion: u64(2), wantErr: ErrConflict},
		{desc: "if_version matches", to: 2, ifVersion: u64(3), wantVersion: 4, wantOf: 2, wantCreated: true, wantSnap: snap(2)},
		{desc: "a version that does not exist", to: 99, wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		info, created, err := s.Rollback(ctx, "c", tc.to, ApplyMeta{Author: "bob", IfVersion: tc.ifVersion})
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: err = %v, want %v", tc.desc, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if info.GetVersion() != tc.wantVersion || info.GetRollbackOf() != tc.wantOf || created != tc.wantCreated {
			t.Fatalf("%s: version %d rollback_of %d created %v, want %d %d %v", tc.desc, info.GetVersion(), info.GetRollbackOf(), created,
				tc.wantVersion, tc.wantOf, tc.wantCreated)
		}
		cur, got, err := s.Current(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if cur.GetVersion() != tc.wantVersion || !proto.Equal(got, tc.wantSnap) {
			t.Errorf("%s: current %d %v", tc.desc, cur.GetVersion(), got)
		}
	}
}

func TestReadBack(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	if _, _, err := s.Current(ctx, "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("current of an empty cluster: %v", err)
	}
	tests := []struct {
		desc string
		snap *pb.Snapshot
	}{
		{desc: "every section", snap: snap(1)},
		{desc: "empty", snap: &pb.Snapshot{}},
		{desc: "two objects with equal content", snap: &pb.Snapshot{Upstreams: map[string]*pb.Upstream{
			"a": {Addrs: []string{"127.0.0.1:1"}}, "b": {Addrs: []string{"127.0.0.1:1"}},
		}}},
		{desc: "equal bytes, different kinds", snap: &pb.Snapshot{
			Plugins:   map[string]*pb.Plugin{"p": {}},
			Upstreams: map[string]*pb.Upstream{"u": {}},
		}},
		{desc: "names that need escaping", snap: &pb.Snapshot{Upstreams: map[string]*pb.Upstream{
			"a/b c": {Addrs: []string{"127.0.0.1:2"}}, "ü": {},
		}}},
	}
	for i, tc := range tests {
		info, _, err := s.Apply(ctx, "c", tc.snap, ApplyMeta{})
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if info.GetVersion() != uint64(i+1) {
			t.Fatalf("%s: version %d, want %d", tc.desc, info.GetVersion(), i+1)
		}
		cur, got, err := s.Current(ctx, "c")
		if err != nil {
			t.Fatalf("%s: current: %v", tc.desc, err)
		}
		if !proto.Equal(cur, info) || !proto.Equal(got, tc.snap) {
			t.Errorf("%s: current %v\n%v\nwant %v\n%v", tc.desc, cur, got, info, tc.snap)
		}
	}
	for i, tc := range tests {
		info, got, err := s.Get(ctx, "c", uint64(i+1))
		if err != nil {
			t.Fatalf("%s: get: %v", tc.desc, err)
		}
		if !proto.Equal(got, tc.snap) || info.GetHash() != config.Hash(got) {
			t.Errorf("%s: get %v, want %v", tc.desc, got, tc.snap)
		}
	}
	// An empty settings section is no content (config.Hash): no version.
	if info, created, err := s.Apply(ctx, "c2", &pb.Snapshot{}, ApplyMeta{}); err != nil || !created || info.GetVersion() != 1 {
		t.Fatalf("apply empty: %v %v %v", info, created, err)
	}
	if _, created, err := s.Apply(ctx, "c2", &pb.Snapshot{Settings: &pb.Settings{}}, ApplyMeta{}); err != nil || created {
		t.Errorf("apply empty settings over empty: created %v, %v", created, err)
	}
	if _, _, err := s.Get(ctx, "c", 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("get 99: %v", err)
	}
	if _, _, err := s.Apply(ctx, "", snap(1), ApplyMeta{}); err == nil {
		t.Error("apply to an empty cluster name succeeded")
	}
}

func TestLargeSnapshot(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	big := largeSnap(400, "a")
	if size := proto.Size(big); size < 3<<20 {
		t.Fatalf("snapshot is %d bytes, want over 3 MiB", size)
	}
	start := time.Now()
	info, _, err := s.Apply(ctx, "big", big, ApplyMeta{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("applied %d bytes, %d objects in %v", proto.Size(big), 801, time.Since(start))
	start = time.Now()
	got, gotSnap, err := s.Current(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read back in %v", time.Since(start))
	if !proto.Equal(got, info) || !proto.Equal(gotSnap, big) {
		t.Fatal("read back a different snapshot")
	}
	// The manifest is small: only references.
	resp, err := s.client.Get(ctx, s.keys.version("big", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("manifest %d bytes", len(resp.Kvs[0].Value))
	if n := len(resp.Kvs[0].Value); n > 128<<10 {
		t.Errorf("manifest is %d bytes", n)
	}
}

func TestObjectTooLarge(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	sn := &pb.Snapshot{Certificates: map[string]*pb.Certificate{
		"big": {TlsCert: strings.Repeat("x", 1<<20+1)},
	}}
	_, _, err := s.Apply(t.Context(), "c", sn, ApplyMeta{})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), `certificate "big"`) {
		t.Fatalf("err = %v, want ErrTooLarge naming the certificate", err)
	}
	if _, _, err := s.Current(t.Context(), "c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a version was made: %v", err)
	}
	// Just under the limit fits in one etcd request.
	sn.Certificates["big"].TlsCert = strings.Repeat("x", 1<<20-16)
	if _, _, err := s.Apply(t.Context(), "c", sn, ApplyMeta{}); err != nil {
		t.Fatalf("object just under the limit: %v", err)
	}
	if _, got, err := s.Current(t.Context(), "c"); err != nil || !proto.Equal(got, sn) {
		t.Fatalf("read back: %v", err)
	}
}

func TestObjectsShared(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	apply := func(cluster string, sn *pb.Snapshot) {
		t.Helper()
		if _, _, err := s.Apply(ctx, cluster, sn, ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	// snap(n) has 8 objects: settings, 1 server, 2 locations, 2 upstreams,
	// 1 plugin, 1 certificate; snap(1) and snap(2) differ in one upstream.
	apply("a", snap(1))
	if n := countKeys(t, s, "objects/"); n != 8 {
		t.Fatalf("%d objects after one version, want 8", n)
	}
	apply("a", snap(2))
	if n := countKeys(t, s, "objects/"); n != 9 {
		t.Fatalf("%d objects after a version changing one object, want 9", n)
	}
	apply("b", snap(2))
	if n := countKeys(t, s, "objects/"); n != 9 {
		t.Fatalf("%d objects after another cluster's identical version, want 9", n)
	}
	// Manifests show what changed without reading objects.
	m1, _, err := s.manifest(ctx, "a", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	m2, _, err := s.manifest(ctx, "a", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m1.GetUpstreams()["api"] == m2.GetUpstreams()["api"] || m1.GetUpstreams()["static"] != m2.GetUpstreams()["static"] ||
		m1.GetSettings() != m2.GetSettings() {
		t.Errorf("manifests:\n%v\n%v", m1, m2)
	}
}

func TestClusters(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	if got, err := s.Clusters(ctx); err != nil || len(got) != 0 {
		t.Fatalf("clusters of an empty store: %v, %v", got, err)
	}
	for _, c := range []string{"prod", "a/b", "x y", "default"} {
		if _, _, err := s.Apply(ctx, c, snap(1), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Clusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/b", "default", "prod", "x y"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("clusters %q, want %q", got, want)
	}
	// "a/b" is its own cluster, not a child of "a".
	if _, _, err := s.Current(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("current of a: %v", err)
	}
}
