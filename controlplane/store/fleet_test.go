package store

import (
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func nodeStatus(cluster, id, server string, running uint64, nack *pb.NackInfo) *pb.NodeStatus {
	return &pb.NodeStatus{
		Node:           &pb.Node{Id: id, Cluster: cluster, Labels: map[string]string{"zone": "a"}},
		RunningVersion: running,
		LastNack:       nack,
		ServerId:       server,
		LastSeen:       timestamppb.New(time.Unix(1700000000, 0)),
		// Derived fields a caller might fill in: ignored when stored.
		State:     pb.NodeState_NODE_STATE_SYNCED,
		Connected: true,
	}
}

func newSession(t *testing.T, s *Store, ttl time.Duration) *Session {
	t.Helper()
	sess, err := s.Session(t.Context(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func TestNodes(t *testing.T) {
	t.Parallel()
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	for p := 1; p <= 3; p++ {
		if _, _, err := a.Apply(ctx, "c", snap(p), ApplyMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	sess := newSession(t, a, 10*time.Second)
	tests := []struct {
		id      string
		running uint64
		nack    *pb.NackInfo
		gone    bool
		want    pb.NodeState
	}{
		{id: "n1-synced", running: 3, want: pb.NodeState_NODE_STATE_SYNCED},
		{id: "n2-pending", running: 2, want: pb.NodeState_NODE_STATE_PENDING},
		{id: "n3-pending-old-nack", running: 1, nack: &pb.NackInfo{Version: 2, Error: "bad"}, want: pb.NodeState_NODE_STATE_PENDING},
		{id: "n4-nacked", running: 2, nack: &pb.NackInfo{Version: 3, Error: "bad"}, want: pb.NodeState_NODE_STATE_NACKED},
		{id: "n5-synced-after-nack", running: 3, nack: &pb.NackInfo{Version: 3}, want: pb.NodeState_NODE_STATE_SYNCED},
		{id: "n6-none", running: 0, want: pb.NodeState_NODE_STATE_PENDING},
		{id: "n7-gone", running: 3, gone: true, want: pb.NodeState_NODE_STATE_DISCONNECTED},
	}
	for _, tc := range tests {
		if err := sess.PutNode(ctx, nodeStatus("c", tc.id, "cp-a", tc.running, tc.nack)); err != nil {
			t.Fatal(err)
		}
		if tc.gone {
			if err := sess.NodeGone(ctx, "c", tc.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodes, err := b.Nodes(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(tests) {
		t.Fatalf("%d nodes, want %d", len(nodes), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			for _, st := range []*pb.NodeStatus{nodes[i], mustNode(t, b, "c", tc.id)} {
				if st.GetNode().GetId() != tc.id || st.GetState() != tc.want || st.GetConnected() == tc.gone {
					t.Errorf("got %s %v connected %v, want %s %v", st.GetNode().GetId(), st.GetState(), st.GetConnected(), tc.id, tc.want)
				}
				if st.GetServerId() != "cp-a" || st.GetNode().GetLabels()["zone"] != "a" || st.GetRunningVersion() != tc.running {
					t.Errorf("record not kept: %v", st)
				}
			}
		})
	}
	if _, err := b.Node(ctx, "c", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown node: %v", err)
	}
	if nodes, err := b.Nodes(ctx, "other"); err != nil || len(nodes) != 0 {
		t.Errorf("nodes of another cluster: %v, %v", nodes, err)
	}
	if err := sess.PutNode(ctx, &pb.NodeStatus{Node: &pb.Node{Id: "x"}}); err == nil {
		t.Error("a node without a cluster was stored")
	}
}

func TestNodesWithoutVersion(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	sess := newSession(t, s, 10*time.Second)
	if err := sess.PutNode(t.Context(), nodeStatus("fresh", "n", "cp", 0, nil)); err != nil {
		t.Fatal(err)
	}
	st := mustNode(t, s, "fresh", "n")
	if st.GetState() != pb.NodeState_NODE_STATE_SYNCED {
		t.Errorf("a node running nothing in a cluster without versions: %v", st.GetState())
	}
}

func mustNode(t *testing.T, s *Store, cluster, id string) *pb.NodeStatus {
	t.Helper()
	st, err := s.Node(t.Context(), cluster, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSessionCloseDisconnectsAtOnce(t *testing.T) {
	t.Parallel()
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	sess := newSession(t, a, 30*time.Second)
	for _, id := range []string{"n1", "n2"} {
		if err := sess.PutNode(ctx, nodeStatus("c", id, "cp-a", 0, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if st := mustNode(t, b, "c", "n1"); !st.GetConnected() {
		t.Fatalf("n1 not connected: %v", st)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	nodes, err := b.Nodes(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range nodes {
		if st.GetConnected() || st.GetState() != pb.NodeState_NODE_STATE_DISCONNECTED {
			t.Errorf("%s after session close: %v", st.GetNode().GetId(), st.GetState())
		}
	}
	if len(nodes) != 2 {
		t.Errorf("records lost: %v", nodes)
	}
	if err := sess.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestNodeMovedToAnotherReplica: a node reconnects to replica B before
// replica A notices its old stream closed; A's NodeGone must not mark it
// disconnected.
func TestNodeMovedToAnotherReplica(t *testing.T) {
	t.Parallel()
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	sa, sb := newSession(t, a, 30*time.Second), newSession(t, b, 30*time.Second)
	if err := sa.PutNode(ctx, nodeStatus("c", "n", "cp-a", 0, nil)); err != nil {
		t.Fatal(err)
	}
	if err := sb.PutNode(ctx, nodeStatus("c", "n", "cp-b", 0, nil)); err != nil {
		t.Fatal(err)
	}
	if err := sa.NodeGone(ctx, "c", "n"); err != nil {
		t.Fatal(err)
	}
	if err := sa.Close(); err != nil {
		t.Fatal(err)
	}
	st := mustNode(t, a, "c", "n")
	if !st.GetConnected() || st.GetServerId() != "cp-b" {
		t.Fatalf("node held by B shows %v on %s", st.GetState(), st.GetServerId())
	}
	if err := sb.NodeGone(ctx, "c", "n"); err != nil {
		t.Fatal(err)
	}
	if st := mustNode(t, a, "c", "n"); st.GetConnected() {
		t.Fatal("still connected after its replica's NodeGone")
	}
}

// TestSessionKilled: a replica dies without closing its session (its
// client goes away, no revoke); its nodes turn disconnected when the lease
// TTL runs out.
func TestSessionKilled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client, err := clientv3.New(clientv3.Config{Endpoints: shared.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dying, err := Open(ctx, Config{Client: client, Prefix: testPrefix(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	observer := newStore(t)
	const ttl = 2 * time.Second
	sess, err := dying.Session(ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.PutNode(ctx, nodeStatus("c", "n", "cp-dying", 0, nil)); err != nil {
		t.Fatal(err)
	}
	if !mustNode(t, observer, "c", "n").GetConnected() {
		t.Fatal("not connected")
	}
	killed := time.Now()
	_ = client.Close()
	for {
		st := mustNode(t, observer, "c", "n")
		if st.GetState() == pb.NodeState_NODE_STATE_DISCONNECTED {
			break
		}
		if time.Since(killed) > ttl+3*time.Second {
			t.Fatalf("still %v %v after the kill", st.GetState(), time.Since(killed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("disconnected %v after the kill (ttl %v)", took, ttl)
	if took < ttl/2 {
		t.Errorf("disconnected after %v, before the TTL", took)
	}
	_ = dying.Close()
}

// TestSessionLeaseLost: the lease disappears under a live session (as
// when etcd was unreachable longer than the TTL); the session takes a new
// lease, puts its nodes back, and later writes work.
func TestSessionLeaseLost(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	sess := newSession(t, s, 10*time.Second)
	if err := sess.PutNode(ctx, nodeStatus("c", "n1", "cp", 0, nil)); err != nil {
		t.Fatal(err)
	}
	old := sess.currentLease()
	if _, err := s.client.Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	// The next write notices, waits for the new lease and succeeds.
	if err := sess.PutNode(ctx, nodeStatus("c", "n2", "cp", 0, nil)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n1, n2 := mustNode(t, s, "c", "n1"), mustNode(t, s, "c", "n2")
		if n1.GetConnected() && n2.GetConnected() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the lease was lost: n1 %v, n2 %v", n1.GetState(), n2.GetState())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sess.currentLease() == old {
		t.Fatal("lease not replaced")
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if mustNode(t, s, "c", "n1").GetConnected() {
		t.Fatal("n1 connected after close")
	}
}
