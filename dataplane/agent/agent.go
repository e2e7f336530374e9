// Package agent is the data plane's control-plane client. It keeps one
// DiscoveryService stream open (reconnecting with exponential backoff and
// jitter), applies each pushed snapshot through an Applier, answers ACK or
// NACK, sends periodic health reports, and caches the last good snapshot on
// disk so the proxy boots and serves without a control plane.
package agent

import (
	"context"
	"crypto/tls"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Applier is the data plane as the agent drives it.
type Applier interface {
	// Apply validates, builds and swaps in snap, all or nothing; on error
	// the running config is untouched. The error text goes to the control
	// plane as is: every problem, one per line.
	Apply(snap *pb.Snapshot) error
	// Current reports what the data plane serves when the agent has not
	// applied anything itself (a config file, say): its version (0 when
	// unknown) and content hash (config.Hash; empty when none).
	Current() (version uint64, hash string)
}

// Options configure an Agent.
type Options struct {
	// Addr is the control plane's gRPC address ("host:port", or any
	// grpc.NewClient target). Required.
	Addr string
	// TLS secures the connection; nil means plaintext (for loopback and
	// tests: the stream carries certificates and keys).
	TLS *tls.Config
	// Token is sent in Hello when the control plane wants a bootstrap
	// token instead of mutual TLS. Default: empty.
	Token string
	// Node identifies the data plane. Its id defaults to the host name; its
	// cluster defaults (on the control plane) to "default".
	Node *pb.Node
	// CacheDir holds the last good snapshot (file CacheFile), written
	// after each successful apply and read by Boot. Empty: no cache.
	CacheDir string
	// Health makes the periodic HealthReport; the agent fills in
	// running_version, time and uptime when they are unset. Nil sends
	// those alone.
	Health func() *pb.HealthReport
	// Backoff paces reconnects.
	Backoff Backoff
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of reports and status; nil means time.Now.
	Now func() time.Time
	// Rand returns numbers in [0, 1) for backoff jitter; nil means
	// math/rand/v2.Float64.
	Rand func() float64
	// DialOptions are added to the connection's options, after the
	// agent's own (transport credentials, MaxPushSize, keep-alive pings
	// every 30s), which they can override.
	DialOptions []grpc.DialOption
}

// AgentStatus is the agent's state for the data plane's /status.
//
//nolint:revive // The name is the one the data plane's /status code expects.
type AgentStatus struct {
	// Connected is true while a stream is open (after Welcome).
	Connected bool `json:"connected"`
	// ControlPlane is the control plane's address.
	ControlPlane string `json:"control_plane"`
	// ServerID is the control-plane replica of the current (or last)
	// stream.
	ServerID string `json:"server_id,omitempty"`
	// ConnectedAt is when the current (or last) stream was welcomed.
	ConnectedAt time.Time `json:"connected_at,omitzero"`
	// RunningVersion is the version served (0 for none or unknown).
	RunningVersion uint64 `json:"running_version"`
	// RunningHash is the content hash of the config served.
	RunningHash string `json:"running_hash,omitempty"`
	// LastPushAt is when the last push arrived.
	LastPushAt time.Time `json:"last_push_at,omitzero"`
	// LastPushVersion is the version of the last push.
	LastPushVersion uint64 `json:"last_push_version,omitempty"`
	// LastApplyError is why the last push was rejected; empty when it was
	// applied.
	LastApplyError string `json:"last_apply_error,omitempty"`
	// LastError is the last connection or stream error; empty while the
	// stream is healthy.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Agent is a data plane's control-plane client.
type Agent struct {
	applier Applier
	opts    Options
	log     *slog.Logger
	started time.Time
	// sleep waits between connection attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	version uint64 // the running version the agent applied (or booted)
	hash    string
	applied bool // version and hash are set
	status  AgentStatus
}

// New returns an agent that applies pushes through applier.
func New(applier Applier, opts Options) *Agent {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Node == nil {
		opts.Node = &pb.Node{}
	}
	if opts.Node.GetId() == "" {
		opts.Node = proto.Clone(opts.Node).(*pb.Node)
		opts.Node.Id, _ = os.Hostname()
	}
	opts.Backoff = opts.Backoff.withDefaults()
	return &Agent{
		applier: applier,
		opts:    opts,
		log:     opts.Logger.With("component", "agent"),
		started: opts.Now(),
		sleep:   sleepCtx,
		status:  AgentStatus{ControlPlane: opts.Addr},
	}
}

// Status returns a copy of the agent's state.
func (a *Agent) Status() AgentStatus {
	v, h := a.running()
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.status
	st.RunningVersion, st.RunningHash = v, h
	return st
}

// running returns the version and hash the data plane serves.
func (a *Agent) running() (uint64, string) {
	a.mu.Lock()
	v, h, ok := a.version, a.hash, a.applied
	a.mu.Unlock()
	if ok {
		return v, h
	}
	return a.applier.Current()
}

func (a *Agent) setRunning(v uint64, h string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.version, a.hash, a.applied = v, h, true
}

func (a *Agent) update(f func(st *AgentStatus)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.status)
}

// Run keeps a stream to the control plane open until ctx ends, and returns
// ctx's error then. Every stream error leads to a reconnect after a backoff
// delay; the delay starts over after a stream that was welcomed.
func (a *Agent) Run(ctx context.Context) error {
	attempt := 0
	for {
		welcomed, err := a.session(ctx)
		now := a.opts.Now()
		if ctx.Err() != nil {
			a.update(func(st *AgentStatus) { st.Connected = false })
			return ctx.Err()
		}
		if welcomed {
			attempt = 0
		}
		d := a.opts.Backoff.delay(attempt, a.opts.Rand())
		attempt++
		a.update(func(st *AgentStatus) {
			st.Connected = false
			st.LastError = err.Error()
			st.LastErrorAt = now
		})
		a.log.Warn("control-plane stream ended; reconnecting", "addr", a.opts.Addr, "err", err, "retry_in", d)
		if err := a.sleep(ctx, d); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
