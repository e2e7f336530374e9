package discovery

import (
	"context"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Source is what the server needs of the version store
// (controlplane/store implements it).
type Source interface {
	// Current returns the cluster's current version and its whole
	// snapshot. A cluster without a version answers nil info and nil error,
	// or an error matching ErrNoVersion or Options.IsNotFound.
	Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error)
	// Watch reports changes of the cluster's current version until ctx
	// ends; the first value is the current one. Values may be skipped (the
	// server only needs the newest). The channel is closed when ctx ends or
	// the watch fails; the server then reads Current and watches again.
	Watch(ctx context.Context, cluster string) <-chan *pb.VersionInfo
}

// Fleet is where node state is recorded (the store's session implements it).
// The server calls it from one goroutine per stream, never concurrently for
// the same node on one server, and never from a stream's send loop.
type Fleet interface {
	// PutNode stores a node's whole record, replacing the previous one.
	PutNode(ctx context.Context, st *pb.NodeStatus) error
	// NodeGone reports that this server's stream of the node ended, after
	// the stream's last PutNode. Another replica may hold a newer stream of
	// the same node by then: the store must then leave the node connected
	// (controlplane/store ties liveness to each replica's lease).
	NodeGone(ctx context.Context, cluster, id string) error
}

// NodeLookup reads node records back. The server reads a node's record
// when the node connects, so that a version the node NACKed on another
// replica, or before a restart of this one, is not pushed to it again. It
// uses Options.Nodes, or else the Fleet when the Fleet implements
// NodeLookup.
type NodeLookup interface {
	// GetNode returns the node's record; a missing record is nil, or an
	// error that Options.IsNotFound or ErrNoVersion matches.
	GetNode(ctx context.Context, cluster, id string) (*pb.NodeStatus, error)
}
