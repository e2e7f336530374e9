package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// recv waits up to d for a version on ch.
func recv(t *testing.T, ch <-chan *pb.VersionInfo, d time.Duration) *pb.VersionInfo {
	t.Helper()
	select {
	case info, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return info
	case <-time.After(d):
		t.Fatalf("no version within %v", d)
		return nil
	}
}

func TestWatchAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	if _, _, err := a.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	ch := b.Watch(ctx, "c")
	if got := recv(t, ch, time.Second); got.GetVersion() != 1 {
		t.Fatalf("first version %d, want the current one, 1", got.GetVersion())
	}
	for v := uint64(2); v <= 4; v++ {
		start := time.Now()
		if _, _, err := a.Apply(ctx, "c", snap(int(v)), ApplyMeta{Message: "m"}); err != nil {
			t.Fatal(err)
		}
		got := recv(t, ch, time.Second)
		if got.GetVersion() != v || got.GetMessage() != "m" {
			t.Fatalf("got %v, want version %d", got, v)
		}
		t.Logf("version %d seen by the other replica %v after apply began", v, time.Since(start))
	}
	// An identical apply makes no version, so nothing is sent.
	if _, _, err := a.Apply(ctx, "c", snap(4), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		t.Fatalf("sent %v for an apply that made no version", got)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWatchEmptyClusterThenApply(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ch := s.Watch(t.Context(), "new")
	select {
	case got := <-ch:
		t.Fatalf("sent %v for a cluster without versions", got)
	case <-time.After(100 * time.Millisecond):
	}
	if _, _, err := s.Apply(t.Context(), "new", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, ch, time.Second); got.GetVersion() != 1 {
		t.Fatalf("got version %d", got.GetVersion())
	}
}

func TestWatchCoalesces(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	ch := s.Watch(ctx, "c")
	for p := 1; p <= 6; p++ {
		if _, _, err := s.Apply(ctx, "c", snap(p), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	// The reader was away during six applies: it gets the latest at once,
	// not a backlog.
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := recv(t, ch, 2*time.Second)
		if got.GetVersion() == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still at version %d", got.GetVersion())
		}
		time.Sleep(50 * time.Millisecond) // let the watcher catch up, then read once more
	}
	select {
	case got := <-ch:
		t.Fatalf("sent %v after the latest", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestWatchEndsWithContextAndClose(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx, "c")
	cancel()
	for range ch { //nolint:revive // draining until closed
	}
	ch = s.Watch(t.Context(), "c")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range ch { //nolint:revive // draining until closed
	}
}

// TestWatchSurvivesRestart restarts etcd (same data, same ports) under a
// watching Store and compacts its history: the watch keeps going.
func TestWatchSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "etcd")
	opts := EmbeddedOptions{Logger: testLogger(t), UnsafeNoFsync: true}
	e, err := StartEmbedded(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Config{Endpoints: e.Endpoints(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Apply(ctx, "c", snap(1), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	ch := s.Watch(ctx, "c")
	recv(t, ch, time.Second)

	peer := e.etcd.Config().AdvertisePeerUrls[0].Port()
	client := e.etcd.Config().AdvertiseClientUrls[0].Port()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	opts.ClientPort, opts.PeerPort = atoi(t, client), atoi(t, peer)
	e, err = StartEmbedded(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	applyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, _, err := s.Apply(applyCtx, "c", snap(2), ApplyMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if got := recv(t, ch, 10*time.Second); got.GetVersion() != info.GetVersion() {
		t.Fatalf("after restart got version %d, want %d", got.GetVersion(), info.GetVersion())
	}
	resp, err := e.Client().Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Apply(ctx, "c", snap(3), ApplyMeta{}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, ch, 2*time.Second); got.GetVersion() != 3 {
		t.Fatalf("after compaction got version %d, want 3", got.GetVersion())
	}
}
