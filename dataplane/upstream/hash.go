package upstream

import (
	"cmp"
	"encoding/binary"
	"net/http"
	"net/netip"
	"slices"
)

var _ balancer = (*hashBalancer)(nil)

// Ring geometry and load bound of consistent hashing; see the package
// documentation.
const (
	vnodesPerWeight = 1024    // virtual nodes per unit of weight
	maxRingSize     = 1 << 17 // virtual nodes of one upstream at most
	// The load bound factor c = 1.25, as a fraction.
	loadFactorNum = 5
	loadFactorDen = 4
)

// hashBalancer is consistent hashing with bounded loads on a ring of virtual
// nodes. Requests without a key are balanced by round robin.
type hashBalancer struct {
	all bool // ignore availability
	// totalWeight is the weight of all targets, W when all is set.
	totalWeight int64
	targets     []*Target
	hashes      []uint64 // ring positions, ascending
	owners      []uint32 // owners[i] is the index of the target at hashes[i]
	key         hashKeyFunc
	name        string
	pool        *pool
	keyless     *roundRobin
}

func newHash(p balancerParams) balancer {
	b := &hashBalancer{
		all:     p.all,
		targets: p.targets,
		key:     hashKeys[p.algo.Kind],
		name:    p.algo.Key,
		pool:    p.pool,
		keyless: newRoundRobinOf(p.targets, p.all),
	}
	b.hashes, b.owners = buildRing(p.targets)
	for _, t := range p.targets {
		b.totalWeight += int64(t.weight)
	}
	return b
}

// vnodeCounts returns how many virtual nodes each target owns: its weight
// times vnodesPerWeight, scaled down in proportion (at least one each) when
// the ring would exceed maxRingSize.
func vnodeCounts(targets []*Target) []int {
	total := 0
	for _, t := range targets {
		total += t.weight
	}
	counts := make([]int, len(targets))
	for i, t := range targets {
		if total*vnodesPerWeight <= maxRingSize {
			counts[i] = t.weight * vnodesPerWeight
		} else {
			counts[i] = max(1, t.weight*maxRingSize/total)
		}
	}
	return counts
}

// vnodeHash is the ring position of a target's k-th virtual node. It depends
// only on the address and k, so a target's nodes stay in place when other
// targets come and go.
func vnodeHash(addr string, k int) uint64 {
	h := fnvString(fnvOffset64, addr)
	h = fnvString(h, "#")
	var buf [4]byte
	binary.LittleEndian.PutUint32(buf[:], uint32(k))
	return mix64(fnvBytes(h, buf[:]))
}

func buildRing(targets []*Target) (hashes []uint64, owners []uint32) {
	type vnode struct {
		hash  uint64
		owner uint32
	}
	counts := vnodeCounts(targets)
	n := 0
	for _, c := range counts {
		n += c
	}
	ring := make([]vnode, 0, n)
	for i, t := range targets {
		for k := range counts[i] {
			ring = append(ring, vnode{vnodeHash(t.addr, k), uint32(i)})
		}
	}
	// Collisions are ordered by address, so the ring does not depend on the
	// order of the addrs in the config.
	slices.SortFunc(ring, func(a, b vnode) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(targets[a.owner].addr, targets[b.owner].addr)
	})
	hashes = make([]uint64, n)
	owners = make([]uint32, n)
	for i, v := range ring {
		hashes[i], owners[i] = v.hash, v.owner
	}
	return hashes, owners
}

func (b *hashBalancer) pick(r *http.Request, clientIP netip.Addr) *Target {
	h, ok := b.key(r, clientIP, b.name)
	if !ok {
		return b.keyless.pick(r, clientIP)
	}
	return b.lookup(h)
}

// lookup walks the ring clockwise from h and returns the first usable target
// under its load bound, ceil(c * (m+1) * w / W). At least one usable target
// is always under its bound (the bounds add up to more than m), so the walk
// is short; should concurrent changes defeat that, the key's first usable
// target is returned.
func (b *hashBalancer) lookup(h uint64) *Target {
	healthyWeight := b.usableWeight()
	if healthyWeight <= 0 {
		return nil
	}
	inflight := max(b.pool.inflight.Load(), 0)
	num := loadFactorNum * (inflight + 1)
	den := loadFactorDen * healthyWeight
	n := len(b.hashes)
	i, _ := slices.BinarySearch(b.hashes, h)
	var first *Target
	prev := uint32(len(b.targets)) // no target
	for range n {
		if i == n {
			i = 0
		}
		o := b.owners[i]
		i++
		if o == prev {
			continue
		}
		prev = o
		t := b.targets[o]
		if !b.all && !t.usable() {
			continue
		}
		if first == nil {
			first = t
		}
		if bound := (num*int64(t.weight) + den - 1) / den; t.Active() < bound {
			return t
		}
	}
	return first
}

// usableWeight is W of the load bound: the total weight of the targets
// without a down or ejected flag, kept by the pool. When that is zero, some
// targets may still be usable (half-open), and it is computed from them; zero
// then means none is usable.
func (b *hashBalancer) usableWeight() int64 {
	if b.all {
		return b.totalWeight
	}
	if w := b.pool.healthyWeight.Load(); w > 0 {
		return w
	}
	var w int64
	for _, t := range b.targets {
		if t.usable() {
			w += int64(t.weight)
		}
	}
	return w
}
