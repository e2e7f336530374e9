package upstream

import (
	"math/bits"
	"net/http"
	"net/netip"
)

var _ balancer = (*random)(nil)

// random is the power of two choices: it draws two targets at random in
// proportion to their weights and picks the one with fewer in-flight requests
// relative to its weight; on a tie the first draw wins, so with even load the
// targets are used exactly in proportion to their weights. The second draw is
// repeated (up to three times) while it hits the first target, so a heavily
// loaded target is only picked when nothing else was drawn.
type random struct {
	all     bool // ignore availability
	targets []*Target
	cum     []uint64 // cum[i] is the total weight of targets[0..i]
	rand    func() uint64
}

// drawAttempts is how many draws sampling makes before it computes the
// distribution over the healthy targets only.
const drawAttempts = 4

func newRandom(p balancerParams) balancer {
	b := &random{all: p.all, targets: p.targets, cum: make([]uint64, len(p.targets)), rand: p.rand}
	var sum uint64
	for i, t := range p.targets {
		sum += uint64(t.weight)
		b.cum[i] = sum
	}
	return b
}

func (b *random) pick(*http.Request, netip.Addr) *Target {
	first := b.draw()
	if first == nil {
		return nil
	}
	second := first
	for i := 0; i < 3 && second == first; i++ {
		second = b.draw()
	}
	if second == nil {
		return first // nothing usable any more: availability changed meanwhile
	}
	if lessLoaded(second.Active(), second, first.Active(), first) {
		return second
	}
	return first
}

// draw returns a healthy target at random in proportion to weight, or nil
// when none is healthy. It draws from all targets and rejects unhealthy ones,
// and after drawAttempts rejections draws from the healthy targets directly;
// either way the result is distributed by weight over the healthy targets.
func (b *random) draw() *Target {
	total := b.cum[len(b.cum)-1]
	for range drawAttempts {
		x, _ := bits.Mul64(b.rand(), total) // uniform in [0, total)
		t := b.targets[b.search(x)]
		if b.all || t.usable() {
			return t
		}
	}
	var healthy uint64
	for _, t := range b.targets {
		if t.usable() {
			healthy += uint64(t.weight)
		}
	}
	if healthy == 0 {
		return nil
	}
	x, _ := bits.Mul64(b.rand(), healthy)
	var last *Target
	for _, t := range b.targets {
		if !t.usable() {
			continue
		}
		if x < uint64(t.weight) {
			return t
		}
		x -= uint64(t.weight)
		last = t
	}
	return last // health changed during the scan
}

// search returns the index of the first cumulative weight above x.
func (b *random) search(x uint64) int {
	lo, hi := 0, len(b.cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
