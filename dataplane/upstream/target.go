package upstream

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/dataplane/observe"
)

// Target is one backend of an upstream: an address, a weight, and the runtime
// state the balancers read (in-flight requests and availability). A Target
// is safe for concurrent use.
type Target struct {
	addr   string
	weight int

	active atomic.Int64
	// flags holds stateDown and stateEjected; zero (the common case) means
	// usable, so the balancers' check is one atomic load.
	flags atomic.Uint32
	// ejectedUntil is the end of the current ejection, in the pool clock's
	// Unix nanoseconds; meaningful while stateEjected is set.
	ejectedUntil atomic.Int64
	// probeAt is when the half-open probe request was claimed (Unix
	// nanoseconds), 0 when the probe slot is free.
	probeAt atomic.Int64
	// tracking is set while a success may change outlier state (failures
	// were counted, the target was ejected recently), so Observe(Success)
	// on a well target is one atomic load.
	tracking atomic.Bool

	pool *pool
	done func() // t.end, bound once so Begin does not allocate

	mu sync.Mutex // serializes state transitions; guards the fields below
	outlierCounters
	checkCounters
}

// outlierCounters is a target's passive health bookkeeping.
type outlierCounters struct {
	fails     int // consecutive non-success outcomes
	ejections int // ejections since the count was last reset
	streak    int // consecutive successes since the last ejection ended
}

// checkCounters is a target's active health bookkeeping.
type checkCounters struct {
	checkPasses   int // consecutive passed probes
	checkFailures int // consecutive failed probes
	lastCheckErr  string
}

// Bits of Target.flags.
const (
	stateDown    uint32 = 1 << iota // the active health check (or SetHealthy) says unhealthy
	stateEjected                    // ejected by outlier detection, possibly half-open
)

// pool is the state the targets of one upstream share.
type pool struct {
	name    string
	logger  *slog.Logger
	now     func() time.Time
	metrics *observe.Upstream // counts ejections; nil counts nothing
	// outlier is the outlier detection config; nil when disabled.
	outlier *outlierConfig
	// probeTTL is how long a claimed half-open probe slot stays taken
	// without an outcome, in nanoseconds.
	probeTTL int64
	// inflight is the sum of the targets' Active counts.
	inflight atomic.Int64
	// healthyWeight is the total weight of the targets whose flags are
	// zero (neither down nor ejected).
	healthyWeight atomic.Int64
	// ejected is the number of targets with stateEjected.
	ejected atomic.Int32
}

func newTarget(addr string, weight int, p *pool) *Target {
	t := &Target{addr: addr, weight: weight, pool: p}
	t.done = t.end
	p.healthyWeight.Add(int64(weight))
	return t
}

// Addr returns the target's "host:port".
func (t *Target) Addr() string { return t.addr }

// Weight returns the target's weight, 1..1000 (1 when the config gives none).
func (t *Target) Weight() int { return t.weight }

// Begin counts one in-flight request to the target, for least_conn, random
// (power of two choices) and the load bound of consistent hashing. The caller
// must call the returned function exactly once when the request is over (the
// response body is closed or the request failed). Begin does not allocate.
func (t *Target) Begin() (done func()) {
	t.active.Add(1)
	t.pool.inflight.Add(1)
	return t.done
}

func (t *Target) end() {
	t.active.Add(-1)
	t.pool.inflight.Add(-1)
}

// Active returns the number of requests begun and not yet done.
func (t *Target) Active() int64 { return t.active.Load() }

// Healthy reports whether balancers may pick the target now: the active
// health check (if any) says healthy, and outlier detection has not ejected
// it or its ejection time is over and its one half-open probe request has
// not been taken yet. Targets start healthy.
func (t *Target) Healthy() bool { return t.usable() }

// usable is the balancers' availability check. It reads the clock only for
// targets that are down or ejected.
func (t *Target) usable() bool {
	f := t.flags.Load()
	if f == 0 {
		return true
	}
	if f != stateEjected {
		return false
	}
	now := t.pool.nowNanos()
	if now < t.ejectedUntil.Load() {
		return false
	}
	p := t.probeAt.Load()
	return p == 0 || now-p >= t.pool.probeTTL
}

// claim is called on the target a balancer picked. It admits every pick of a
// usable target and, for a half-open target, exactly one: the caller that
// takes the probe slot. A false result means the target became unusable
// since the balancer looked at it, so the caller picks again.
func (t *Target) claim() bool {
	f := t.flags.Load()
	if f == 0 {
		return true
	}
	if f != stateEjected {
		return false
	}
	now := t.pool.nowNanos()
	if now < t.ejectedUntil.Load() {
		return false
	}
	p := t.probeAt.Load()
	if p != 0 && now-p < t.pool.probeTTL {
		return false
	}
	// probeAt is the lock of the slot: of two concurrent claims of the same
	// free (or expired) slot one CompareAndSwap fails.
	return t.probeAt.CompareAndSwap(p, max(now, 1))
}

// SetHealthy marks the target healthy or not, as the active health check
// does; balancers skip unhealthy targets. It does not end an outlier
// ejection. Changes are logged at info level. The health checker calls it
// internally; tests and tools may call it directly.
func (t *Target) SetHealthy(healthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setDown(!healthy, "set by caller")
}

// setDown sets the active health flag and logs a change. t.mu is held.
func (t *Target) setDown(down bool, reason string) {
	if !t.setFlag(stateDown, down) {
		return
	}
	t.pool.logger.Info("upstream target health changed",
		"upstream", t.pool.name, "target", t.addr, "healthy", !down, "reason", reason)
}

// setFlag sets or clears bit and keeps the pool's healthy weight in step. It
// reports whether the flags changed.
func (t *Target) setFlag(bit uint32, on bool) bool {
	for {
		old := t.flags.Load()
		next := old &^ bit
		if on {
			next |= bit
		}
		if next == old {
			return false
		}
		if t.flags.CompareAndSwap(old, next) {
			switch {
			case old == 0:
				t.pool.healthyWeight.Add(-int64(t.weight))
			case next == 0:
				t.pool.healthyWeight.Add(int64(t.weight))
			}
			return true
		}
	}
}

func (p *pool) nowNanos() int64 { return p.now().UnixNano() }

// lessLoaded reports whether a has fewer in-flight requests relative to its
// weight than b: aActive/a.weight < bActive/b.weight, without division.
func lessLoaded(aActive int64, a *Target, bActive int64, b *Target) bool {
	return aActive*int64(b.weight) < bActive*int64(a.weight)
}
