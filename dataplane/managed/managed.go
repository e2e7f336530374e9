// Package managed runs a data plane driven by a control plane: the agent
// keeps a discovery stream open, every pushed snapshot goes through the
// same validate → build → swap path as file mode, and the last good one is
// cached on disk so the proxy boots and serves during a control-plane
// outage.
package managed

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/dataplane"
	"github.com/pingap-go/pingap/dataplane/agent"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Options configure Run.
type Options struct {
	// Addr is the control plane's gRPC address.
	Addr string
	// Node identifies this data plane (id, cluster, labels).
	Node *pb.Node
	// TLS secures the stream; nil is plaintext.
	TLS *tls.Config
	// Token is the bootstrap token, when the control plane asks for one.
	Token string
	// CacheDir holds the last good snapshot.
	CacheDir string
	// Logger receives all logs; nil discards.
	Logger *slog.Logger
	// Plugins resolves plugin categories.
	Plugins *plugin.Registry
	// Registry receives the data plane's metrics (nil: one of its own).
	Registry *prometheus.Registry
	// Pprof serves profiles on the status port.
	Pprof bool
	// Level, when set, follows settings.log_level of the configs applied.
	Level *slog.LevelVar
	// Ready, when set, is called with the data plane once it runs (before
	// any config arrives).
	Ready func(*dataplane.DataPlane, *agent.Agent)
}

// applier adapts the data plane to the agent.
type applier struct {
	dp *dataplane.DataPlane
}

func (a applier) Apply(snap *pb.Snapshot) error { return a.dp.Apply(snap) }

func (a applier) Current() (uint64, string) {
	if rt := a.dp.Current(); rt != nil {
		return 0, rt.Hash()
	}
	return 0, ""
}

// Run serves until ctx ends, then drains for the config's grace period.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dp := dataplane.New(dataplane.Options{Logger: log, Plugins: opts.Plugins, Registry: opts.Registry, Pprof: opts.Pprof,
		Level: opts.Level})
	reports := &reporter{dp: dp}
	ag := agent.New(applier{dp: dp}, agent.Options{
		Addr: opts.Addr, TLS: opts.TLS, Token: opts.Token, Node: opts.Node,
		CacheDir: opts.CacheDir, Health: reports.report, Logger: log,
	})
	if loaded, err := ag.Boot(); err != nil {
		log.Warn("config cache not used; waiting for the control plane", "addr", opts.Addr, "err", err)
	} else if loaded {
		log.Info("serving the cached config until the control plane answers", "dir", opts.CacheDir)
	} else {
		log.Info("no usable cached config; waiting for the control plane", "addr", opts.Addr)
	}
	if opts.Ready != nil {
		opts.Ready(dp, ag)
	}
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	<-ctx.Done()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("control-plane client stopped", "err", err)
	}
	if err := dp.Drain(); err != nil {
		log.Warn("shutdown cut in-flight requests short", "err", err)
	}
	return nil
}

// reporter builds health reports with request counts since the last one.
type reporter struct {
	dp               *dataplane.DataPlane
	mu               sync.Mutex
	lastReq, lastErr uint64
}

func (r *reporter) report() *pb.HealthReport {
	req, errs := r.dp.Counters()
	r.mu.Lock()
	dReq, dErr := req-r.lastReq, errs-r.lastErr
	r.lastReq, r.lastErr = req, errs
	r.mu.Unlock()
	rep := &pb.HealthReport{Requests: dReq, Errors: dErr} // the agent adds the time, uptime and version
	st := r.dp.Status()
	for name, u := range st.Upstreams {
		uh := &pb.UpstreamHealth{Name: name}
		for _, t := range u.Targets {
			uh.Targets = append(uh.Targets, &pb.TargetHealth{Addr: t.Addr, Healthy: t.Healthy, Ejected: t.Ejected})
		}
		rep.Upstreams = append(rep.Upstreams, uh)
	}
	return rep
}
