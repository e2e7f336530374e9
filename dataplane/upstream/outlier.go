package upstream

import (
	"fmt"
	"time"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Outcome is the result of one attempt to forward a request to a target, as
// the proxy reports it with [Target.Observe].
type Outcome uint8

// Outcomes of an attempt. Every outcome but Success counts as a failure.
const (
	// Success: the target answered with a status below 500.
	Success Outcome = iota
	// ConnectFailure: connecting to the target failed (refused, reset, TLS
	// handshake error).
	ConnectFailure
	// Timeout: the target did not connect or answer in time.
	Timeout
	// ServerError: the target answered with a 5xx status.
	ServerError
)

var outcomeNames = [...]string{"success", "connect_failure", "timeout", "server_error"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Defaults of the OutlierDetection config fields.
const (
	DefaultConsecutiveFailures = config.DefaultConsecutiveFailures
	DefaultBaseEjectionTime    = config.DefaultBaseEjectionTime
	DefaultMaxEjectionTime     = config.DefaultMaxEjectionTime
	DefaultMaxEjectionPercent  = config.DefaultMaxEjectionPercent
)

// EjectionResetStreak is the number of consecutive successes after which a
// target's ejection count goes back to zero, so that its next ejection lasts
// base_ejection_time again. The count decays by successes rather than by time
// so that a target that fails again soon after coming back keeps its doubled
// ejection time however little traffic it gets.
const EjectionResetStreak = 100

// outlierConfig is a parsed OutlierDetection.
type outlierConfig struct {
	failures   int           // consecutive failures that eject
	base, max  time.Duration // first and longest ejection time
	maxEjected int           // targets of the pool that may be ejected at once
}

// parseOutlier reads the outlier detection config of a pool of n targets
// (config.ParseOutlierDetection, which the validator runs too). It returns
// nil when detection is disabled.
func parseOutlier(prefix string, od *pb.OutlierDetection, n int) (*outlierConfig, error) {
	c, field, err := config.ParseOutlierDetection(od)
	if err != nil {
		return nil, fmt.Errorf("%s.outlier_detection.%s: %w", prefix, field, err)
	}
	if c == nil {
		return nil, nil
	}
	return &outlierConfig{failures: c.Failures, base: c.Base, max: c.Max, maxEjected: min(n*c.MaxPercent/100, n-1)}, nil
}

// ejectionTime is the length of a target's k-th ejection (k >= 1):
// base * 2^(k-1), at most max.
func (c *outlierConfig) ejectionTime(k int) time.Duration {
	d := c.base
	for i := 1; i < k && d < c.max; i++ {
		d *= 2
	}
	return min(d, c.max)
}

// Observe records the outcome of one attempt on the target for passive
// outlier detection; the proxy calls it for every attempt. After
// consecutive_failures failures in a row the target is ejected (unless
// max_ejection_percent of the pool is ejected already). Once its ejection
// time is over the target is half-open: the balancers let one request
// through, and that request's outcome restores the target (Success) or
// ejects it again for twice as long. Outcomes of requests that began before
// an ejection and end during it are ignored. Observe does nothing when
// outlier detection is disabled, and a Success on a target without recent
// failures costs one atomic load.
func (t *Target) Observe(o Outcome) {
	c := t.pool.outlier
	if c == nil || o == Success && !t.tracking.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.updateTracking()
	now := t.pool.nowNanos()
	if t.flags.Load()&stateEjected != 0 {
		if now < t.ejectedUntil.Load() {
			return
		}
		if o == Success {
			t.restore()
		} else {
			t.reeject(c, now, o)
		}
		return
	}
	if o == Success {
		t.fails = 0
		if t.ejections > 0 {
			if t.streak++; t.streak >= EjectionResetStreak {
				t.ejections, t.streak = 0, 0
			}
		}
		return
	}
	t.fails++
	t.streak = 0
	if t.fails >= c.failures {
		t.eject(c, now, o)
	}
}

// updateTracking keeps the success fast path's flag in step. t.mu is held.
func (t *Target) updateTracking() {
	t.tracking.Store(t.fails > 0 || t.ejections > 0 || t.flags.Load()&stateEjected != 0)
}

// eject takes the target out for its next ejection time, if the pool's
// ejection budget allows. t.mu is held.
func (t *Target) eject(c *outlierConfig, now int64, last Outcome) {
	if !t.pool.reserveEjection(c.maxEjected) {
		t.pool.logger.Debug("upstream target not ejected: max_ejection_percent reached",
			"upstream", t.pool.name, "target", t.addr, "consecutive_failures", t.fails)
		return
	}
	t.ejections++
	t.pool.metrics.Ejected()
	d := c.ejectionTime(t.ejections)
	reason := fmt.Sprintf("%d consecutive failures, last %s", t.fails, last)
	t.fails, t.streak = 0, 0
	t.ejectedUntil.Store(now + d.Nanoseconds())
	t.probeAt.Store(0)
	t.setFlag(stateEjected, true)
	t.pool.logger.Info("upstream target ejected", "upstream", t.pool.name, "target", t.addr,
		"reason", reason, "ejection_time", d, "ejections", t.ejections)
}

// reeject ejects a half-open target again after its probe failed, for
// twice the previous time. t.mu is held.
func (t *Target) reeject(c *outlierConfig, now int64, last Outcome) {
	t.ejections++
	t.pool.metrics.Ejected()
	d := c.ejectionTime(t.ejections)
	t.ejectedUntil.Store(now + d.Nanoseconds())
	t.probeAt.Store(0)
	t.pool.logger.Info("upstream target ejected", "upstream", t.pool.name, "target", t.addr,
		"reason", "half-open probe failed: "+last.String(), "ejection_time", d, "ejections", t.ejections)
}

// restore ends an ejection after a successful half-open probe. t.mu is held.
func (t *Target) restore() {
	t.fails, t.streak = 0, 0
	t.probeAt.Store(0)
	if t.setFlag(stateEjected, false) {
		t.pool.ejected.Add(-1)
	}
	t.pool.logger.Info("upstream target restored", "upstream", t.pool.name, "target", t.addr,
		"reason", "half-open probe succeeded", "ejections", t.ejections)
}

// reserveEjection counts one more ejected target if fewer than limit are.
func (p *pool) reserveEjection(limit int) bool {
	for {
		n := p.ejected.Load()
		if int(n) >= limit {
			return false
		}
		if p.ejected.CompareAndSwap(n, n+1) {
			return true
		}
	}
}
