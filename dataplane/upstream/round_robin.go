package upstream

import (
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

var _ balancer = (*roundRobin)(nil)

// roundRobin is smooth weighted round robin. While every target is healthy a
// pick reads the next entry of a cycle computed at build time (one atomic
// increment, no lock). When the scheduled target is unhealthy, or the cycle
// was too long to precompute, the pick runs the algorithm over the healthy
// targets under a mutex, so the healthy targets keep receiving traffic in
// proportion to their weights.
type roundRobin struct {
	all      bool // ignore availability
	targets  []*Target
	schedule []uint32 // nil: always the slow path
	next     atomic.Uint64

	mu      sync.Mutex
	current []int64 // smooth weighted round robin state of the slow path
}

func newRoundRobin(p balancerParams) balancer { return newRoundRobinOf(p.targets, p.all) }

func newRoundRobinOf(targets []*Target, all bool) *roundRobin {
	return &roundRobin{
		all:      all,
		targets:  targets,
		schedule: smoothSchedule(weightsOf(targets)),
		current:  make([]int64, len(targets)),
	}
}

func (b *roundRobin) pick(*http.Request, netip.Addr) *Target {
	if b.schedule != nil {
		n := b.next.Add(1) - 1
		t := b.targets[b.schedule[n%uint64(len(b.schedule))]]
		if b.all || t.usable() {
			return t
		}
	}
	return b.pickSlow()
}

// pickSlow runs one step of smooth weighted round robin over the usable
// targets.
func (b *roundRobin) pickSlow() *Target {
	b.mu.Lock()
	defer b.mu.Unlock()
	best := -1
	var total int64
	for i, t := range b.targets {
		if !b.all && !t.usable() {
			continue
		}
		w := int64(t.weight)
		b.current[i] += w
		total += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b.current[best] -= total
	return b.targets[best]
}
