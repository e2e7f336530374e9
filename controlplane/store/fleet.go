package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// PutNode writes the node's record (st as given, without State and
// Connected, which are derived when read) and marks the node live on the
// session's lease, in one transaction. st.Node's Cluster and Id name the
// node; both are required. Call it when a stream opens and whenever the
// node's state changes (ACK, NACK, health report).
func (sess *Session) PutNode(ctx context.Context, st *pb.NodeStatus) error {
	cluster, id := st.GetNode().GetCluster(), st.GetNode().GetId()
	if cluster == "" || id == "" {
		return fmt.Errorf("store: put node: cluster %q and id %q are both required", cluster, id)
	}
	rec := proto.CloneOf(st)
	rec.State, rec.Connected = pb.NodeState_NODE_STATE_UNSPECIFIED, false
	data, err := marshalOpts.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: put node %s/%s: %w", cluster, id, err)
	}
	nodeKey, liveKey := sess.s.keys.node(cluster, id), sess.s.keys.liveNode(cluster, id)
	liveValue := st.GetServerId()
	// A lease that expired (etcd unreachable for longer than its TTL) is
	// replaced by the keep-alive loop; wait for that and try once more.
	for attempt := 0; ; attempt++ {
		lease, renewed, err := sess.withLease(func(lease clientv3.LeaseID) error {
			_, err := sess.s.kv.Txn(ctx).Then(
				clientv3.OpPut(nodeKey, string(data)),
				clientv3.OpPut(liveKey, liveValue, clientv3.WithLease(lease)),
			).Commit()
			if err == nil {
				sess.hold(liveKey, liveValue)
			}
			return err
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) || attempt > 0 {
			return fmt.Errorf("store: put node %s/%s: %w", cluster, id, err)
		}
		sess.lost(lease)
		select {
		case <-renewed:
		case <-ctx.Done():
			return fmt.Errorf("store: put node %s/%s: %w", cluster, id, ctx.Err())
		case <-sess.ctx.Done():
			return fmt.Errorf("store: put node %s/%s: session closed", cluster, id)
		}
	}
}

// NodeGone marks the node not live (its stream closed) and keeps its
// record. If the node has meanwhile connected to another replica, whose
// session now holds its liveness key, nothing changes.
func (sess *Session) NodeGone(ctx context.Context, cluster, id string) error {
	if cluster == "" || id == "" {
		return fmt.Errorf("store: node gone: cluster %q and id %q are both required", cluster, id)
	}
	liveKey := sess.s.keys.liveNode(cluster, id)
	_, _, err := sess.withLease(func(lease clientv3.LeaseID) error {
		sess.release(liveKey)
		_, err := sess.s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.LeaseValue(liveKey), "=", lease)).
			Then(clientv3.OpDelete(liveKey)).Commit()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: node %s/%s gone: %w", cluster, id, err)
	}
	return nil
}

// Nodes returns the records of the cluster's nodes, sorted by id, with
// Connected and State derived at one etcd revision: DISCONNECTED when no
// replica holds the node's stream; else SYNCED when it runs the current
// version; NACKED when it rejected the current version (or a newer one)
// and runs an older one; else PENDING.
func (s *Store) Nodes(ctx context.Context, cluster string) ([]*pb.NodeStatus, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, err
	}
	resp, err := s.kv.Txn(ctx).Then(
		clientv3.OpGet(s.keys.nodeDir(cluster), clientv3.WithPrefix()),
		clientv3.OpGet(s.keys.liveDir(cluster), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(s.keys.current(cluster)),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("store: list nodes of cluster %q: %w", cluster, err)
	}
	current, err := currentFrom(cluster, resp.Responses[2].GetResponseRange().GetKvs())
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool)
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		live[strings.TrimPrefix(string(kv.Key), s.keys.liveDir(cluster))] = true
	}
	recs := resp.Responses[0].GetResponseRange().GetKvs()
	out := make([]*pb.NodeStatus, 0, len(recs))
	for _, kv := range recs {
		st, err := decodeNode(kv)
		if err != nil {
			return nil, err
		}
		derive(st, live[strings.TrimPrefix(string(kv.Key), s.keys.nodeDir(cluster))], current)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *pb.NodeStatus) int { return strings.Compare(a.GetNode().GetId(), b.GetNode().GetId()) })
	return out, nil
}

// Node returns one node's record with its derived state (see Nodes), or
// ErrNotFound.
func (s *Store) Node(ctx context.Context, cluster, id string) (*pb.NodeStatus, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, err
	}
	resp, err := s.kv.Txn(ctx).Then(
		clientv3.OpGet(s.keys.node(cluster, id)),
		clientv3.OpGet(s.keys.liveNode(cluster, id), clientv3.WithCountOnly()),
		clientv3.OpGet(s.keys.current(cluster)),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("store: read node %s/%s: %w", cluster, id, err)
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil, fmt.Errorf("%w: cluster %q has no node %q", ErrNotFound, cluster, id)
	}
	current, err := currentFrom(cluster, resp.Responses[2].GetResponseRange().GetKvs())
	if err != nil {
		return nil, err
	}
	st, err := decodeNode(kvs[0])
	if err != nil {
		return nil, err
	}
	derive(st, resp.Responses[1].GetResponseRange().GetCount() > 0, current)
	return st, nil
}

func currentFrom(cluster string, kvs []*mvccpb.KeyValue) (uint64, error) {
	if len(kvs) == 0 {
		return 0, nil
	}
	return parseVersion(cluster, kvs[0].Value)
}

func decodeNode(kv *mvccpb.KeyValue) (*pb.NodeStatus, error) {
	st := &pb.NodeStatus{}
	if err := proto.Unmarshal(kv.Value, st); err != nil {
		return nil, fmt.Errorf("%w: node record %q: %v", ErrCorrupt, kv.Key, err)
	}
	return st, nil
}

// derive sets the node's Connected and State from its liveness and the
// cluster's current version.
func derive(st *pb.NodeStatus, live bool, current uint64) {
	st.Connected = live
	running := st.GetRunningVersion()
	switch {
	case !live:
		st.State = pb.NodeState_NODE_STATE_DISCONNECTED
	case running == current:
		st.State = pb.NodeState_NODE_STATE_SYNCED
	case st.GetLastNack() != nil && st.GetLastNack().GetVersion() >= current && running < current:
		st.State = pb.NodeState_NODE_STATE_NACKED
	default:
		st.State = pb.NodeState_NODE_STATE_PENDING
	}
}
