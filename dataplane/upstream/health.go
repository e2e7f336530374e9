package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/bits"
	"net"
	"time"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// HealthCheck is a parsed health_check whose scheme the data plane
// supports. The fields are those of [config.HealthCheck].
type HealthCheck struct {
	config.HealthCheck
	newChecker newCheckerFunc
}

// ParseHealthCheck parses an upstream's health_check (see
// [config.ParseHealthCheck] for the syntax) and checks that the data plane
// has a checker for its scheme. It returns nil and no error for the empty
// string. Errors do not name the field; [New] prefixes them with
// "upstreams.NAME.health_check: ".
func ParseHealthCheck(s string) (*HealthCheck, error) {
	c, err := config.ParseHealthCheck(s)
	if err != nil || c == nil {
		return nil, err
	}
	newChecker, ok := checkers[c.Scheme]
	if !ok {
		return nil, fmt.Errorf("health check scheme %q is not supported by the data plane", c.Scheme)
	}
	return &HealthCheck{HealthCheck: *c, newChecker: newChecker}, nil
}

// A checker probes one target. check returns nil when the target passes;
// it must return promptly when ctx is done. close releases what the checker
// keeps between probes (reused connections); it may be called more than
// once, never during a check.
type checker interface {
	check(ctx context.Context) error
	close()
}

// checkerParams is what a checker is built from.
type checkerParams struct {
	hc   *HealthCheck
	addr string // where to connect: the target's host and the check's port
	// tls is the client TLS config for this target when the scheme needs
	// one (https, or grpc to a TLS upstream); nil otherwise.
	tls *tls.Config
}

// newCheckerFunc builds the checker of one target.
type newCheckerFunc func(p checkerParams) checker

// checkers is the registry of health check schemes: read-only after package
// initialization. Each scheme lives in its own file.
var checkers = map[string]newCheckerFunc{
	"tcp":   newTCPChecker,
	"http":  newHTTPChecker,
	"https": newHTTPChecker,
	"grpc":  newGRPCChecker,
}

// activeHealth runs the active health checks of one upstream.
type activeHealth struct {
	hc       *HealthCheck
	checkers []checker // one per target, in target order
	after    func(time.Duration) <-chan time.Time
	rand     func() uint64
}

// newActiveHealth builds the checkers of an upstream's targets; nil when the
// upstream has no health_check.
func newActiveHealth(prefix string, cfg *pb.Upstream, targets []*Target, opts Options) (*activeHealth, error) {
	hc, err := ParseHealthCheck(cfg.GetHealthCheck())
	if err != nil {
		return nil, fmt.Errorf("%s.health_check: %w", prefix, err)
	}
	if hc == nil {
		return nil, nil
	}
	var base *tls.Config
	if hc.Scheme == "https" || hc.Scheme == "grpc" && config.UpstreamTLS(cfg) {
		// Unlike the traffic, a check verifies the target's certificate
		// only when verify_cert is explicitly true: it asks whether the
		// target is up, not whether its certificate is right.
		if base, err = clientTLS(prefix, cfg, cfg.GetVerifyCert()); err != nil {
			return nil, err
		}
	}
	h := &activeHealth{hc: hc, after: opts.After, rand: opts.Rand}
	for _, t := range targets {
		host, port, _ := net.SplitHostPort(t.addr) // parsed by config.ParseTarget
		if hc.Port != 0 {
			port = fmt.Sprint(hc.Port)
		}
		p := checkerParams{hc: hc, addr: net.JoinHostPort(host, port)}
		if base != nil {
			p.tls = base.Clone()
			if p.tls.ServerName == "" {
				p.tls.ServerName = host
			}
		}
		h.checkers = append(h.checkers, hc.newChecker(p))
	}
	return h, nil
}

// run probes target t with c until ctx is done: at once, then every
// check_frequency with ±10% jitter, so the probes of many targets and data
// planes do not stay in step.
func (h *activeHealth) run(ctx context.Context, t *Target, c checker) {
	for {
		err := c.check(ctx)
		if ctx.Err() != nil {
			return // stopped: the probe's result means nothing
		}
		t.recordCheck(h.hc, err)
		select {
		case <-ctx.Done():
			return
		case <-h.after(h.interval()):
		}
	}
}

// interval is check_frequency jittered uniformly within ±10%.
func (h *activeHealth) interval() time.Duration {
	f := h.hc.CheckFrequency
	spread, _ := bits.Mul64(h.rand(), uint64(f/5)) // uniform in [0, 20% of f)
	return f - f/10 + time.Duration(spread)
}

func (h *activeHealth) close() {
	for _, c := range h.checkers {
		c.close()
	}
}

// recordCheck counts a probe's result and flips the target's active health
// after hc.Failure consecutive failures or hc.Success consecutive passes.
func (t *Target) recordCheck(hc *HealthCheck, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	down := t.flags.Load()&stateDown != 0
	if err == nil {
		t.checkFailures = 0
		t.checkPasses++
		t.lastCheckErr = ""
		if down && t.checkPasses >= hc.Success {
			t.setDown(false, fmt.Sprintf("health check passed %d times", t.checkPasses))
		}
		return
	}
	t.checkPasses = 0
	t.checkFailures++
	t.lastCheckErr = err.Error()
	if !down && t.checkFailures >= hc.Failure {
		t.setDown(true, fmt.Sprintf("health check failed %d times: %s", t.checkFailures, t.lastCheckErr))
	}
}
