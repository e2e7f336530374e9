package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// defaultHealthInterval applies when Welcome names none.
const defaultHealthInterval = 10 * time.Second

// MaxPushSize is the largest push the agent accepts, in bytes (gRPC's own
// default is 4 MiB). Options.DialOptions can change it.
const MaxPushSize = 256 << 20

type stream = grpc.BidiStreamingClient[pb.StreamRequest, pb.StreamResponse]

// session runs one stream on its own connection, so every attempt dials
// afresh under the agent's backoff (not gRPC's own, which waits up to two
// minutes). It reports whether the control plane welcomed the stream.
func (a *Agent) session(ctx context.Context) (welcomed bool, err error) {
	creds := insecure.NewCredentials()
	if a.opts.TLS != nil {
		creds = credentials.NewTLS(a.opts.TLS)
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// Pushes carry whole snapshots: allow more than gRPC's 4 MiB.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxPushSize)),
		// Find a vanished control plane in about 40s. The control plane
		// must permit pings this often (discovery.Server.ServerOptions).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}, a.opts.DialOptions...)
	conn, err := grpc.NewClient(a.opts.Addr, dial...)
	if err != nil {
		return false, fmt.Errorf("agent: connect %s: %w", a.opts.Addr, err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := pb.NewDiscoveryServiceClient(conn).Stream(sctx)
	if err != nil {
		return false, fmt.Errorf("agent: open stream to %s: %w", a.opts.Addr, err)
	}
	v, h := a.running()
	hello := &pb.Hello{Node: a.opts.Node, RunningVersion: v, RunningHash: h, Token: a.opts.Token}
	if err := s.Send(&pb.StreamRequest{Message: &pb.StreamRequest_Hello{Hello: hello}}); err != nil {
		return false, streamErr(s, err)
	}
	resp, err := s.Recv()
	if err != nil {
		return false, streamErr(s, err)
	}
	w := resp.GetWelcome()
	if w == nil {
		return false, errors.New("agent: control plane answered hello without welcome")
	}
	now := a.opts.Now()
	a.update(func(st *AgentStatus) {
		st.Connected, st.ServerID, st.ConnectedAt, st.LastError = true, w.GetServerId(), now, ""
	})
	a.log.Info("connected to the control plane", "addr", a.opts.Addr, "server_id", w.GetServerId(),
		"running_version", v, "current_version", w.GetCurrentVersion())

	in := make(chan *pb.StreamResponse)
	recvErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, run first) ends Recv
	defer cancel()
	wg.Go(func() {
		for {
			r, err := s.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case in <- r:
			case <-sctx.Done():
				return
			}
		}
	})
	return true, a.loop(ctx, s, in, recvErr, healthInterval(w))
}

func healthInterval(w *pb.Welcome) time.Duration {
	if d := w.GetHealthInterval().AsDuration(); w.GetHealthInterval() != nil && d > 0 {
		return d
	}
	return defaultHealthInterval
}

// loop handles pushes and sends health reports until the stream fails.
func (a *Agent) loop(ctx context.Context, s stream, in <-chan *pb.StreamResponse, recvErr <-chan error, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			return closedErr(err)
		case r := <-in:
			p := r.GetPush()
			if p == nil {
				a.log.Debug("ignoring a message that is not a push")
				continue
			}
			if err := a.handlePush(s, p); err != nil {
				return sendErr(ctx, err, recvErr)
			}
		case <-tick.C:
			msg := &pb.StreamRequest{Message: &pb.StreamRequest_Health{Health: a.healthReport()}}
			if err := s.Send(msg); err != nil {
				return sendErr(ctx, err, recvErr)
			}
		}
	}
}

// sendErr returns the stream's status when Send failed with io.EOF (which
// means the stream ended and Recv has the reason).
func sendErr(ctx context.Context, err error, recvErr <-chan error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	select {
	case rerr := <-recvErr:
		return closedErr(rerr)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func closedErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("agent: control plane closed the stream")
	}
	return err
}

// streamErr turns io.EOF from Send (which hides the real status) or from
// Recv into a readable error; only before the receiving goroutine starts.
func streamErr(s stream, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := s.Recv(); rerr != nil {
			return closedErr(rerr)
		}
		return errors.New("agent: control plane closed the stream")
	}
	return err
}

// handlePush applies p and answers it.
func (a *Agent) handlePush(s stream, p *pb.Push) error {
	now := a.opts.Now()
	a.update(func(st *AgentStatus) { st.LastPushAt, st.LastPushVersion = now, p.GetVersion() })
	if err := a.apply(p); err != nil {
		running, _ := a.running()
		a.update(func(st *AgentStatus) { st.LastApplyError = err.Error() })
		a.log.Error("rejected a pushed version", "version", p.GetVersion(), "running_version", running, "err", err)
		return s.Send(&pb.StreamRequest{Message: &pb.StreamRequest_Nack{Nack: &pb.Nack{
			Version: p.GetVersion(), Nonce: p.GetNonce(), RunningVersion: running, Error: err.Error(),
		}}})
	}
	a.update(func(st *AgentStatus) { st.LastApplyError = "" })
	a.log.Info("applied a pushed version", "version", p.GetVersion(), "hash", p.GetHash())
	if err := s.Send(&pb.StreamRequest{Message: &pb.StreamRequest_Ack{Ack: &pb.Ack{
		Version: p.GetVersion(), Nonce: p.GetNonce(),
	}}}); err != nil {
		return err
	}
	// After the ACK: the control plane need not wait for the disk. A crash
	// in between costs one redundant push after the restart.
	if a.opts.CacheDir != "" {
		if err := writeCache(a.cachePath(), p); err != nil {
			a.log.Error("writing the config cache failed", "path", a.cachePath(), "err", err)
		}
	}
	return nil
}

// apply checks p's snapshot against its hash and applies it, unless the
// data plane serves that content already.
func (a *Agent) apply(p *pb.Push) error {
	snap := p.GetSnapshot()
	if snap == nil {
		snap = &pb.Snapshot{}
	}
	if got := config.Hash(snap); p.GetHash() != "" && got != p.GetHash() {
		return fmt.Errorf("agent: version %d: snapshot hash %s differs from the pushed hash %s", p.GetVersion(), got, p.GetHash())
	}
	if _, h := a.running(); h == "" || h != p.GetHash() {
		if err := a.applier.Apply(snap); err != nil {
			return err
		}
	}
	a.setRunning(p.GetVersion(), p.GetHash())
	return nil
}

// healthReport is Options.Health's report with the agent's fields filled.
func (a *Agent) healthReport() *pb.HealthReport {
	var r *pb.HealthReport
	if a.opts.Health != nil {
		r = a.opts.Health()
	}
	if r == nil {
		r = &pb.HealthReport{}
	} else {
		r = proto.Clone(r).(*pb.HealthReport)
	}
	now := a.opts.Now()
	if r.RunningVersion == 0 {
		r.RunningVersion, _ = a.running()
	}
	if r.Time == nil {
		r.Time = timestamppb.New(now)
	}
	if r.Uptime == nil {
		r.Uptime = durationpb.New(now.Sub(a.started))
	}
	return r
}
