package upstream

import (
	"log/slog"
	"sync/atomic"
)

// Target is one backend of an upstream: an address, a weight, and the runtime
// state the balancers read (in-flight requests and health). A Target is safe
// for concurrent use.
type Target struct {
	addr   string
	weight int

	active atomic.Int64
	down   atomic.Bool // zero value: healthy
	pool   *pool
	done   func() // t.end, bound once so Begin does not allocate
}

// pool is the state the targets of one upstream share.
type pool struct {
	name   string
	logger *slog.Logger
	// inflight is the sum of the targets' Active counts.
	inflight atomic.Int64
	// healthyWeight is the total weight of the healthy targets.
	healthyWeight atomic.Int64
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

// Healthy reports whether balancers may pick the target. Targets start
// healthy.
func (t *Target) Healthy() bool { return !t.down.Load() }

// SetHealthy marks the target healthy or not; balancers skip unhealthy
// targets. Changes are logged at info level.
func (t *Target) SetHealthy(healthy bool) {
	if t.down.Swap(!healthy) == !healthy {
		return // unchanged
	}
	if healthy {
		t.pool.healthyWeight.Add(int64(t.weight))
	} else {
		t.pool.healthyWeight.Add(-int64(t.weight))
	}
	t.pool.logger.Info("upstream target health changed",
		"upstream", t.pool.name, "target", t.addr, "healthy", healthy)
}

// lessLoaded reports whether a has fewer in-flight requests relative to its
// weight than b: aActive/a.weight < bActive/b.weight, without division.
func lessLoaded(aActive int64, a *Target, bActive int64, b *Target) bool {
	return aActive*int64(b.weight) < bActive*int64(a.weight)
}
