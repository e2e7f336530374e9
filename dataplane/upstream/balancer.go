package upstream

import (
	"net/http"
	"net/netip"

	"github.com/pingap-go/pingap/config"
)

// balancer picks a target for a request. pick returns nil when no target is
// usable ([Target.usable]); a balancer built with balancerParams.all ignores
// availability and picks among all targets (fail_open). Implementations are safe for concurrent use and do not allocate on
// the common path.
type balancer interface {
	pick(r *http.Request, clientIP netip.Addr) *Target
}

// balancerParams is what a balancer is built from.
type balancerParams struct {
	targets []*Target // in config order; at least one
	algo    config.Algo
	rand    func() uint64
	pool    *pool
	// all makes the balancer ignore availability (the fail_open fallback).
	all bool
}

// newBalancerFunc builds a balancer.
type newBalancerFunc func(p balancerParams) balancer

// balancers is the registry of algorithms: read-only after package
// initialization. The hash kinds share one balancer that differs by its key.
var balancers = map[config.AlgoKind]newBalancerFunc{
	config.AlgoRoundRobin: newRoundRobin,
	config.AlgoLeastConn:  newLeastConn,
	config.AlgoRandom:     newRandom,
	config.AlgoHashIP:     newHash,
	config.AlgoHashURL:    newHash,
	config.AlgoHashHeader: newHash,
	config.AlgoHashCookie: newHash,
	config.AlgoHashQuery:  newHash,
}

// Limits of the precomputed smooth weighted round robin cycle. Above them
// round robin runs the algorithm itself under a mutex on every pick.
const (
	maxScheduleLen  = 1 << 16 // entries of one cycle
	maxScheduleWork = 1 << 23 // targets * cycle length, the cost of building it
)

// smoothSchedule returns one cycle of nginx's smooth weighted round robin over
// weights, as indexes into weights, or nil when the cycle is too long to
// precompute. Weights are first divided by their greatest common divisor,
// which leaves the sequence unchanged and shortens the cycle.
//
// The algorithm: each step adds every target's weight to its current value,
// picks the target with the largest current value (the first on ties), and
// subtracts the total weight from the winner. Over one cycle each target is
// picked exactly weight times, spread as evenly as possible.
func smoothSchedule(weights []int) []uint32 {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total := 0
	for _, w := range weights {
		total += w / g
	}
	if total > maxScheduleLen || total*len(weights) > maxScheduleWork {
		return nil
	}
	current := make([]int, len(weights))
	seq := make([]uint32, total)
	for step := range seq {
		best := 0
		for i, w := range weights {
			current[i] += w / g
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq[step] = uint32(best)
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func weightsOf(targets []*Target) []int {
	ws := make([]int, len(targets))
	for i, t := range targets {
		ws[i] = t.weight
	}
	return ws
}
