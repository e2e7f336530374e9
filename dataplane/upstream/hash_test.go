package upstream

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// keys returns n reproducible random keys.
func keys(n int) []string {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%016x", rng.Uint64())
	}
	return out
}

// assign maps each key to the address of the target hash:header:X-Key picks.
func assign(tb testing.TB, u *Upstream, ks []string) []string {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	out := make([]string, len(ks))
	for i, k := range ks {
		r.Header.Set("X-Key", k)
		t, err := u.Pick(r, noIP)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = t.Addr()
	}
	return out
}

func tally(addrs []string) map[string]int {
	m := map[string]int{}
	for _, a := range addrs {
		m[a]++
	}
	return m
}

func TestHashSameKeySameTarget(t *testing.T) {
	t.Parallel()
	u := newTest(t, "hash:header:X-Key", addrsN(5)...)
	first := assign(t, u, keys(1000))
	for range 3 {
		if again := assign(t, u, keys(1000)); !slices.Equal(first, again) {
			t.Fatal("same keys mapped to different targets")
		}
	}
	// Another process, with the addrs in another order, agrees.
	addrs := addrsN(5)
	slices.Reverse(addrs)
	other := newTest(t, "hash:header:X-Key", addrs...)
	if again := assign(t, other, keys(1000)); !slices.Equal(first, again) {
		t.Fatal("a rebuilt upstream with reordered addrs maps keys differently")
	}
}

func TestHashSpread(t *testing.T) {
	t.Parallel()
	const n = 100_000
	tests := []struct {
		desc    string
		weights []int
		tol     float64
	}{
		{desc: "5 equal targets", weights: []int{1, 1, 1, 1, 1}, tol: 0.10},
		{desc: "weights 1,2,3,4", weights: []int{1, 2, 3, 4}, tol: 0.10},
		{desc: "weights 5,1,1", weights: []int{5, 1, 1}, tol: 0.10},
		{desc: "10 equal targets", weights: []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, tol: 0.10},
	}
	ks := keys(n)
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			addrs := addrsN(len(tc.weights), tc.weights...)
			u := newTest(t, "hash:header:X-Key", addrs...)
			got := tally(assign(t, u, ks))
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			for i, tg := range u.targets {
				want := n * tc.weights[i] / total
				if !within(got[tg.Addr()], want, tc.tol) {
					t.Errorf("%s has %d keys, want %d ±%.0f%%", tg.Addr(), got[tg.Addr()], want, 100*tc.tol)
				}
			}
			t.Logf("%v", got)
		})
	}
}

func TestHashMinimalDisruption(t *testing.T) {
	t.Parallel()
	const n = 100_000
	ks := keys(n)
	five := addrsN(5)
	before := assign(t, newTest(t, "hash:header:X-Key", five...), ks)

	t.Run("removing a target moves only its keys", func(t *testing.T) {
		t.Parallel()
		removed := five[2]
		after := assign(t, newTest(t, "hash:header:X-Key", slices.Delete(slices.Clone(five), 2, 3)...), ks)
		moved := 0
		for i := range ks {
			switch {
			case before[i] == removed:
				moved++
			case after[i] != before[i]:
				t.Fatalf("key %q moved from %s to %s though its target stayed", ks[i], before[i], after[i])
			}
		}
		t.Logf("%d keys moved off %s", moved, removed)
	})
	t.Run("adding a target moves only keys onto it", func(t *testing.T) {
		t.Parallel()
		six := addrsN(6)
		added := six[5]
		after := assign(t, newTest(t, "hash:header:X-Key", six...), ks)
		moved := 0
		for i := range ks {
			if after[i] == before[i] {
				continue
			}
			if after[i] != added {
				t.Fatalf("key %q moved from %s to %s, not to the new target", ks[i], before[i], after[i])
			}
			moved++
		}
		if !within(moved, n/6, 0.15) {
			t.Errorf("%d keys moved to the new target, want about %d (1/6)", moved, n/6)
		}
		t.Logf("%d keys moved onto %s", moved, added)
	})
	t.Run("an unhealthy target's keys move, the others stay", func(t *testing.T) {
		t.Parallel()
		u := newTest(t, "hash:header:X-Key", five...)
		u.targets[1].SetHealthy(false)
		after := assign(t, u, ks)
		for i := range ks {
			if after[i] == five[1] {
				t.Fatalf("key %q went to the unhealthy target", ks[i])
			}
			if before[i] != five[1] && after[i] != before[i] {
				t.Fatalf("key %q moved from healthy %s to %s", ks[i], before[i], after[i])
			}
		}
		u.targets[1].SetHealthy(true)
		if again := assign(t, u, ks); !slices.Equal(again, before) {
			t.Fatal("keys did not return when the target became healthy again")
		}
	})
}

func TestHashBoundedLoad(t *testing.T) {
	t.Parallel()
	u := newTest(t, "hash:header:X-Key", addrsN(5)...)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Key", "hot")
	pick := func() *Target {
		t.Helper()
		tg, err := u.Pick(r, noIP)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	home := pick()
	next := nextOnRing(u, hashString("hot"), home)

	// Two in flight in all, both on home: the bound is
	// ceil(1.25 * 3 * 1/5) = 1, and home is at 2.
	d1, d2 := home.Begin(), home.Begin()
	if got := pick(); got != next {
		t.Errorf("over the bound: picked %s, want the next target clockwise %s (home %s)", got.Addr(), next.Addr(), home.Addr())
	}
	d1()
	d2()
	// Two in flight on every target, ten in all: the bound is
	// ceil(1.25 * 11 * 1/5) = 3, and home at 2 stays home.
	others := []func(){}
	for _, tg := range u.targets {
		if tg != home {
			others = append(others, tg.Begin(), tg.Begin())
		}
	}
	d1, d2 = home.Begin(), home.Begin()
	if got := pick(); got != home {
		t.Errorf("under the bound: picked %s, want home %s", got.Addr(), home.Addr())
	}
	d3 := home.Begin() // 11 in flight, bound ceil(1.25*12/5) = 3, home at 3
	if got := pick(); got == home {
		t.Errorf("at the bound: picked home %s, want a spill", home.Addr())
	}
	for _, d := range append(others, d1, d2, d3) {
		d()
	}
	if got := pick(); got != home {
		t.Errorf("after the load is gone: picked %s, want home %s", got.Addr(), home.Addr())
	}

	// A hot key under sustained concurrency: its requests spread so that no
	// target exceeds the bound by more than the one request in flight.
	var done []func()
	for range 100 {
		tg := pick()
		done = append(done, tg.Begin())
	}
	for _, tg := range u.targets {
		if tg.Active() > 25 {
			t.Errorf("%s has %d of 100 in flight, want at most ceil(1.25*100/5) = 25", tg.Addr(), tg.Active())
		}
	}
	for _, d := range done {
		d()
	}
}

// nextOnRing returns the first target other than home clockwise from h.
func nextOnRing(u *Upstream, h uint64, home *Target) *Target {
	b := u.balancer.(*hashBalancer)
	i, _ := slices.BinarySearch(b.hashes, h)
	for k := range len(b.hashes) {
		if t := b.targets[b.owners[(i+k)%len(b.hashes)]]; t != home {
			return t
		}
	}
	return nil
}

func TestHashWithoutKeyUsesRoundRobin(t *testing.T) {
	t.Parallel()
	u := newTest(t, "hash:cookie:session", addrsN(3, 5, 1, 1)...)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	var seq []byte
	for range 7 {
		tg, err := u.Pick(r, noIP)
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, byte('a'+index(u, tg)))
	}
	if string(seq) != "aabacaa" {
		t.Errorf("keyless requests went %s, want the round robin aabacaa", seq)
	}
}

func TestRingSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		addrs []string
		want  int
	}{
		{desc: "small weights: 1024 per weight", addrs: addrsN(3, 1, 2, 3), want: 6 * vnodesPerWeight},
		{desc: "large weights: capped", addrs: addrsN(3, 1000, 1000, 500), want: maxRingSize},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, "hash:ip", tc.addrs...)
			if got := len(u.balancer.(*hashBalancer).hashes); got < tc.want-len(tc.addrs) || got > tc.want {
				t.Errorf("ring has %d nodes, want %d", got, tc.want)
			}
		})
	}
}
