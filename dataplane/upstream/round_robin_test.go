package upstream

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var noIP netip.Addr

func TestRoundRobinSequence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		weights []int
		want    string // one cycle, targets as a, b, c, ...
	}{
		{desc: "nginx example 5,1,1", weights: []int{5, 1, 1}, want: "aabacaa"},
		{desc: "equal weights rotate", weights: []int{1, 1, 1}, want: "abc"},
		{desc: "equal weights above one", weights: []int{3, 3}, want: "ab"},
		{desc: "2,1", weights: []int{2, 1}, want: "aba"},
		{desc: "4,2,1", weights: []int{4, 2, 1}, want: "abacaba"},
		{desc: "single", weights: []int{7}, want: "a"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, "round_robin", addrsN(len(tc.weights), tc.weights...)...)
			var got strings.Builder
			for range 3 * len(tc.want) {
				got.WriteByte(byte('a' + index(u, mustPick(t, u))))
			}
			if want := strings.Repeat(tc.want, 3); got.String() != want {
				t.Errorf("sequence = %s, want %s", got.String(), want)
			}
		})
	}
}

func TestRoundRobinDistributionAndSmoothness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		weights []int
	}{
		{desc: "5,1,1", weights: []int{5, 1, 1}},
		{desc: "5,5", weights: []int{5, 5}},
		{desc: "10,3,2,1", weights: []int{10, 3, 2, 1}},
		{desc: "100,1", weights: []int{100, 1}},
		{desc: "equal", weights: []int{1, 1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, "", addrsN(len(tc.weights), tc.weights...)...)
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			cycles := 1000
			seq := make([]int, 0, cycles*total)
			for range cycles * total {
				seq = append(seq, index(u, mustPick(t, u)))
			}
			for i, w := range tc.weights {
				if got := countOf(seq, i); got != cycles*w {
					t.Errorf("target %d picked %d times, want exactly %d", i, got, cycles*w)
				}
			}
			// Smooth: in every window of every length up to two cycles, each
			// target's count differs from its exact share by less than one
			// pick... plus the rounding of the window, hence < 2. A naive
			// weighted round robin (aaaaabbbbb for 5,5) fails this.
			for length := 1; length <= 2*total; length++ {
				for i, w := range tc.weights {
					share := float64(length*w) / float64(total)
					for start := 0; start+length <= 3*total; start++ {
						got := float64(countOf(seq[start:start+length], i))
						if got-share >= 2 || share-got >= 2 {
							t.Fatalf("window [%d,%d): target %d picked %v times, share %.2f", start, start+length, i, got, share)
						}
					}
				}
			}
		})
	}
}

func countOf(seq []int, v int) int {
	n := 0
	for _, x := range seq {
		if x == v {
			n++
		}
	}
	return n
}

func TestRoundRobinSkipsUnhealthyByWeight(t *testing.T) {
	t.Parallel()
	u := newTest(t, "round_robin", addrsN(3, 5, 1, 1)...)
	u.targets[1].SetHealthy(false)
	c := counts(t, u, 7000)
	// b's 1000 slots go to a and c in proportion 5:1.
	if c[1] != 0 || !within(c[0], 5000+833, 0.001) || !within(c[2], 1000+167, 0.005) {
		t.Errorf("counts = %v, want [5833 0 1167] (±1)", c)
	}
}

func TestSmoothScheduleLimits(t *testing.T) {
	t.Parallel()
	if s := smoothSchedule([]int{1000, 999}); len(s) != 1999 {
		t.Errorf("len = %d, want 1999", len(s))
	}
	if s := smoothSchedule([]int{4, 2, 6}); !slices.Equal(s, []uint32{2, 0, 1, 2, 0, 2}) {
		t.Errorf("gcd-reduced schedule = %v", s)
	}
	big := make([]int, 1000)
	for i := range big {
		big[i] = 1000 - i%2 // gcd 1, cycle of 999500 picks
	}
	if s := smoothSchedule(big); s != nil {
		t.Errorf("schedule of %d entries, want nil (too long)", len(s))
	}
	// Without a schedule round robin still works, under its mutex.
	u := newTest(t, "", bigAddrs(300)...)
	if rr := u.balancer.(*roundRobin); rr.schedule != nil {
		t.Fatalf("expected no schedule for 300 targets of weight 999/1000")
	}
	c := counts(t, u, 2*len(u.targets))
	for i, n := range c {
		if n < 1 || n > 3 {
			t.Fatalf("target %d picked %d times in two rounds", i, n)
		}
	}
}

// bigAddrs returns n targets weighted 1000 and 999 alternately.
func bigAddrs(n int) []string {
	out := addrsN(n)
	for i := range out {
		if i%2 == 0 {
			out[i] = strings.Replace(out[i], ":80", ":81 1000", 1)
		} else {
			out[i] = strings.Replace(out[i], ":80", ":81 999", 1)
		}
	}
	return out
}
