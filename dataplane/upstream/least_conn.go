package upstream

import (
	"net/http"
	"net/netip"
	"sync/atomic"
)

var _ balancer = (*leastConn)(nil)

// leastConn picks the healthy target with the fewest in-flight requests
// relative to its weight. The scan starts at the target smooth weighted round
// robin would pick next and keeps the first of equally loaded targets, so
// idle targets share the traffic by weight and equal targets take turns.
type leastConn struct {
	all      bool // ignore availability
	targets  []*Target
	schedule []uint32 // nil: start positions rotate one by one
	next     atomic.Uint64
}

func newLeastConn(p balancerParams) balancer {
	return &leastConn{all: p.all, targets: p.targets, schedule: smoothSchedule(weightsOf(p.targets))}
}

func (b *leastConn) pick(*http.Request, netip.Addr) *Target {
	n := len(b.targets)
	k := b.next.Add(1) - 1
	var start int
	if b.schedule != nil {
		start = int(b.schedule[k%uint64(len(b.schedule))])
	} else {
		start = int(k % uint64(n))
	}
	var best *Target
	var bestActive int64
	for i := range n {
		j := start + i
		if j >= n {
			j -= n
		}
		t := b.targets[j]
		if !b.all && !t.usable() {
			continue
		}
		a := t.Active()
		if best == nil || lessLoaded(a, t, bestActive, best) {
			best, bestActive = t, a
		}
	}
	return best
}
