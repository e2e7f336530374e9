package discovery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// stream is one data plane's session. Everything but the channels is owned
// by the goroutine of run, which is also the only one that sends.
type stream struct {
	s   *Server
	ss  pb.DiscoveryService_StreamServer
	key nodeKey
	log *slog.Logger

	notify   chan struct{} // cap 1: the cluster has a newer version
	kicked   chan struct{} // closed when a newer stream of the node replaced this one
	kickOnce sync.Once
	writer   *nodeWriter

	c        *cluster
	status   *pb.NodeStatus // the node's record as this stream knows it
	recorded atomic.Int32   // pb.NodeState of the last record handed to the writer; Census reads it too
	inflight *inflight      // the push awaiting an answer
	nacked   uint64         // last version the node NACKed: never pushed to it again
}

// inflight is a push awaiting its ACK or NACK.
type inflight struct {
	nonce string
	v     *version
	span  trace.Span // from the push to its answer
}

func newStream(s *Server, ss pb.DiscoveryService_StreamServer) *stream {
	return &stream{s: s, ss: ss, notify: make(chan struct{}, 1), kicked: make(chan struct{})}
}

func (st *stream) wake() {
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

func (st *stream) kick() { st.kickOnce.Do(func() { close(st.kicked) }) }

// run serves the stream until it ends.
func (st *stream) run() error {
	ctx := st.ss.Context()
	in := make(chan *pb.StreamRequest)
	recvErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go receive(st.ss, in, recvErr, done)

	hello, err := st.awaitHello(ctx, in, recvErr)
	if err != nil {
		return err
	}
	if err := st.s.authenticate(ctx, hello); err != nil {
		st.s.log.Warn("node refused", "node", hello.GetNode().GetId(), "err", err)
		return err
	}
	st.start(ctx, hello)
	c, err := st.s.join(st)
	if err != nil {
		return err
	}
	st.c = c
	st.s.wg.Add(1) // the handler holds a count already, so this cannot race Close's Wait
	go st.writer.run()
	defer func() { st.writer.finish(st.s.leave(st, c)) }()
	defer func() {
		if p := st.inflight; p != nil {
			p.span.SetStatus(otelcodes.Error, "stream ended before an answer")
			p.span.End()
		}
	}()

	select {
	case <-c.ready:
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-st.s.ctx.Done():
		return errClosing
	}
	if err := st.welcome(); err != nil {
		return err
	}
	st.publish()
	if _, err := st.maybePush(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-st.s.ctx.Done():
			return errClosing
		case <-st.kicked:
			return status.Error(codes.Aborted, "discovery: a newer stream of this node replaced this one")
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case req := <-in:
			if err := st.handle(req); err != nil {
				return err
			}
		case <-st.notify:
			pushed, err := st.maybePush()
			if err != nil {
				return err
			}
			if !pushed && st.state() != st.recordedState() {
				st.publish()
			}
		}
	}
}

// receive forwards the stream's messages to in until it fails or done.
func receive(ss pb.DiscoveryService_StreamServer, in chan<- *pb.StreamRequest, errc chan<- error, done <-chan struct{}) {
	for {
		req, err := ss.Recv()
		if err != nil {
			errc <- err
			return
		}
		select {
		case in <- req:
		case <-done:
			return
		}
	}
}

func (st *stream) awaitHello(ctx context.Context, in <-chan *pb.StreamRequest, recvErr <-chan error) (*pb.Hello, error) {
	select {
	case req := <-in:
		h := req.GetHello()
		if h == nil {
			return nil, status.Error(codes.InvalidArgument, "discovery: the first message must be a hello")
		}
		if h.GetNode().GetId() == "" {
			return nil, status.Error(codes.InvalidArgument, "discovery: hello without node id")
		}
		return h, nil
	case err := <-recvErr:
		if errors.Is(err, io.EOF) {
			return nil, status.Error(codes.InvalidArgument, "discovery: stream closed before hello")
		}
		return nil, err
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-st.s.ctx.Done():
		return nil, errClosing
	}
}

// start sets up the node's record from its hello and, with Options.Nodes,
// from its previous record.
func (st *stream) start(ctx context.Context, hello *pb.Hello) {
	node := proto.Clone(hello.GetNode()).(*pb.Node)
	if node.Cluster == "" {
		node.Cluster = DefaultCluster
	}
	st.key = nodeKey{cluster: node.Cluster, id: node.Id}
	st.log = st.s.log.With("cluster", node.Cluster, "node", node.Id)
	now := timestamppb.New(st.s.opts.Now())
	st.status = &pb.NodeStatus{
		Node:           node,
		RunningVersion: hello.GetRunningVersion(),
		RunningHash:    hello.GetRunningHash(),
		Connected:      true,
		LastSeen:       now,
		ServerId:       st.s.opts.ServerID,
		ConnectedAt:    now,
	}
	st.writer = newNodeWriter(st.s, st.key)
	if st.s.opts.Nodes != nil {
		rctx, cancel := context.WithTimeout(ctx, st.s.opts.StoreTimeout)
		rec, err := st.s.opts.Nodes.GetNode(rctx, st.key.cluster, st.key.id)
		cancel()
		if err != nil && !st.s.isNotFound(err) {
			st.log.Warn("reading the node's record failed", "err", err)
		}
		st.adopt(rec.GetLastNack(), rec.GetLastAckAt())
	}
	st.log.Info("node connected", "running_version", st.status.RunningVersion)
}

// adopt keeps a previous stream's NACK (and ACK time) in the node's record.
func (st *stream) adopt(nack *pb.NackInfo, lastAck *timestamppb.Timestamp) {
	if nack != nil && nack.GetVersion() >= st.status.GetLastNack().GetVersion() {
		st.status.LastNack = nack
		st.nacked = max(st.nacked, nack.GetVersion())
	}
	if lastAck != nil && st.status.LastAckAt == nil {
		st.status.LastAckAt = lastAck
	}
}

func (st *stream) welcome() error {
	var cur uint64
	if v := st.c.latest.Load(); v != nil {
		cur = v.number
	}
	return st.ss.Send(&pb.StreamResponse{Message: &pb.StreamResponse_Welcome{Welcome: &pb.Welcome{
		HealthInterval: durationpb.New(st.s.opts.HealthInterval),
		CurrentVersion: cur,
		ServerId:       st.s.opts.ServerID,
	}}})
}

// handle processes one message after the hello.
func (st *stream) handle(req *pb.StreamRequest) error {
	now := st.s.opts.Now()
	st.status.LastSeen = timestamppb.New(now)
	switch m := req.GetMessage().(type) {
	case *pb.StreamRequest_Hello:
		return status.Error(codes.InvalidArgument, "discovery: hello sent twice")
	case *pb.StreamRequest_Ack:
		st.ack(m.Ack, now)
	case *pb.StreamRequest_Nack:
		st.nack(m.Nack, now)
	case *pb.StreamRequest_Health:
		st.status.LastHealth = m.Health
	default:
		st.log.Debug("ignoring an unknown message")
	}
	st.publish()
	_, err := st.maybePush()
	return err
}

// answered returns the in-flight push that nonce answers, clearing it; nil
// for a stale or unknown nonce.
func (st *stream) answered(nonce string, kind string, v uint64) *inflight {
	p := st.inflight
	if p == nil || nonce != p.nonce {
		st.log.Debug("ignoring an answer with a stale nonce", "kind", kind, "nonce", nonce, "version", v)
		return nil
	}
	st.inflight = nil
	if v != p.v.number {
		st.log.Warn("answer names another version than its push; trusting the nonce", "kind", kind, "answered", v, "pushed", p.v.number)
	}
	return p
}

func (st *stream) ack(a *pb.Ack, now time.Time) {
	p := st.answered(a.GetNonce(), "ack", a.GetVersion())
	if p == nil {
		return
	}
	st.status.RunningVersion = p.v.number
	st.status.RunningHash = p.v.hash
	st.status.LastAckAt = timestamppb.New(now)
	st.c.metrics.acks.Inc()
	p.span.AddEvent("ack")
	p.span.End()
	p.v.conv.acked(st, now)
	st.log.Debug("node acknowledged", "version", p.v.number)
}

func (st *stream) nack(n *pb.Nack, now time.Time) {
	p := st.answered(n.GetNonce(), "nack", n.GetVersion())
	if p == nil {
		return
	}
	info := &pb.NackInfo{Version: p.v.number, Error: n.GetError(), Time: timestamppb.New(now)}
	st.status.LastNack = info
	st.nacked = p.v.number
	st.c.metrics.nacks.Inc()
	p.span.AddEvent("nack", trace.WithAttributes(attribute.String("pingap.error", n.GetError())))
	p.span.SetStatus(otelcodes.Error, "the node rejected the version")
	p.span.End()
	st.s.rememberNack(st.key, info)
	st.log.Warn("node rejected a version", "version", p.v.number, "running_version", st.status.RunningVersion, "error", n.GetError())
}

// runs reports whether the node serves v: the same content when both
// hashes are known, else the same version number.
func (st *stream) runs(v *version) bool {
	if h := st.status.GetRunningHash(); h != "" && v.hash != "" {
		return h == v.hash
	}
	return st.status.GetRunningVersion() == v.number
}

func (st *stream) state() pb.NodeState {
	v := st.c.latest.Load()
	switch {
	case v == nil || st.runs(v):
		return pb.NodeState_NODE_STATE_SYNCED
	case st.status.GetLastNack().GetVersion() == v.number:
		return pb.NodeState_NODE_STATE_NACKED
	default:
		return pb.NodeState_NODE_STATE_PENDING
	}
}

// recordedState is the state of the last record handed to the writer.
func (st *stream) recordedState() pb.NodeState { return pb.NodeState(st.recorded.Load()) }

// publish hands a copy of the node's record to its writer.
func (st *stream) publish() {
	st.status.State = st.state()
	st.recorded.Store(int32(st.status.State))
	st.writer.put(proto.Clone(st.status).(*pb.NodeStatus))
}

// maybePush pushes the cluster's latest version unless a push is in flight,
// the node runs it already, or the node NACKed it.
func (st *stream) maybePush() (bool, error) {
	v := st.c.latest.Load()
	if v == nil {
		return false, nil
	}
	owes := !st.runs(v) && v.number != st.nacked
	v.conv.look(st, owes)
	if st.inflight != nil || !owes {
		return false, nil
	}
	p := &inflight{nonce: st.s.nextNonce(), v: v}
	_, p.span = st.s.tracer.Start(st.ss.Context(), "push", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("pingap.cluster", st.key.cluster), attribute.String("pingap.node", st.key.id),
			attribute.Int64("pingap.version", int64(v.number)), attribute.String("pingap.config_hash", v.hash)))
	msg := &encodedResponse{
		StreamResponse: &pb.StreamResponse{Message: &pb.StreamResponse_Push{Push: &pb.Push{
			Version:  v.number,
			Nonce:    p.nonce,
			Snapshot: v.snap,
			Hash:     v.hash,
		}}},
		v: v,
	}
	if err := st.ss.SendMsg(msg); err != nil {
		p.span.RecordError(err)
		p.span.SetStatus(otelcodes.Error, "send failed")
		p.span.End()
		return false, err
	}
	st.inflight = p
	st.c.metrics.pushes.Inc()
	st.status.PushedVersion = v.number
	st.publish()
	st.log.Debug("pushed", "version", v.number, "nonce", p.nonce)
	return true, nil
}
