package upstream

import (
	"fmt"
	"math/rand/v2"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// newTest builds an upstream "api" with algo and addrs, failing the test on
// error. Its random source is seeded, so runs are reproducible.
func newTest(tb testing.TB, algo string, addrs ...string) *Upstream {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	u, err := New("api", &pb.Upstream{Addrs: addrs, Algo: algo}, Options{Rand: rng.Uint64})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(u.Close)
	return u
}

// addrsN returns n target addresses 10.0.0.1:80 ... with the given weights
// (weight 1 when weights is shorter).
func addrsN(n int, weights ...int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:80", i+1)
		if i < len(weights) {
			out[i] += fmt.Sprintf(" %d", weights[i])
		}
	}
	return out
}

// index returns the position of t in u.Targets(), or -1.
func index(u *Upstream, t *Target) int {
	for i, x := range u.targets {
		if x == t {
			return i
		}
	}
	return -1
}

// mustPick picks or fails.
func mustPick(tb testing.TB, u *Upstream) *Target {
	tb.Helper()
	t, err := u.Pick(nil, noIP)
	if err != nil {
		tb.Fatalf("Pick: %v", err)
	}
	return t
}

// counts picks n times and returns how often each target was picked.
func counts(tb testing.TB, u *Upstream, n int) []int {
	tb.Helper()
	c := make([]int, len(u.targets))
	for range n {
		c[index(u, mustPick(tb, u))]++
	}
	return c
}

// within reports whether got is within frac (relative) of want.
func within(got, want int, frac float64) bool {
	d := float64(got - want)
	return d <= frac*float64(want) && -d <= frac*float64(want)
}
