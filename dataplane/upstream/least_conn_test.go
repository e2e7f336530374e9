package upstream

import (
	"testing"
)

func TestLeastConnPicksLeastLoaded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		weights []int
		held    []int // in-flight requests held per target
		want    int
	}{
		{desc: "fewest in flight", weights: []int{1, 1, 1}, held: []int{2, 1, 0}, want: 2},
		{desc: "fewest in flight first", weights: []int{1, 1, 1}, held: []int{0, 3, 1}, want: 0},
		{desc: "relative to weight", weights: []int{3, 1}, held: []int{2, 1}, want: 0},
		{desc: "heavy target absorbs more", weights: []int{10, 1, 1}, held: []int{9, 1, 1}, want: 0},
		{desc: "heavy target full", weights: []int{10, 1, 1}, held: []int{11, 1, 0}, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, "least_conn", addrsN(len(tc.weights), tc.weights...)...)
			for i, n := range tc.held {
				for range n {
					t.Cleanup(u.targets[i].Begin())
				}
			}
			for range 20 {
				if got := index(u, mustPick(t, u)); got != tc.want {
					t.Fatalf("picked %d, want %d", got, tc.want)
				}
			}
		})
	}
}

func TestLeastConnSpreadsEvenly(t *testing.T) {
	t.Parallel()
	t.Run("idle targets share by weight", func(t *testing.T) {
		t.Parallel()
		u := newTest(t, "least_conn", addrsN(3, 5, 1, 1)...)
		if c := counts(t, u, 7000); c[0] != 5000 || c[1] != 1000 || c[2] != 1000 {
			t.Errorf("counts = %v, want [5000 1000 1000]", c)
		}
	})
	t.Run("equal idle targets take turns", func(t *testing.T) {
		t.Parallel()
		u := newTest(t, "least_conn", addrsN(4)...)
		if c := counts(t, u, 4000); c[0] != 1000 || c[1] != 1000 || c[2] != 1000 || c[3] != 1000 {
			t.Errorf("counts = %v, want 1000 each", c)
		}
	})
	t.Run("concurrent requests fill targets evenly", func(t *testing.T) {
		t.Parallel()
		u := newTest(t, "least_conn", addrsN(4)...)
		for range 40 {
			t.Cleanup(mustPick(t, u).Begin())
		}
		for i, tg := range u.targets {
			if tg.Active() != 10 {
				t.Errorf("target %d has %d in flight, want 10", i, tg.Active())
			}
		}
	})
	t.Run("concurrent requests fill by weight", func(t *testing.T) {
		t.Parallel()
		u := newTest(t, "least_conn", addrsN(3, 4, 2, 1)...)
		for range 70 {
			t.Cleanup(mustPick(t, u).Begin())
		}
		want := []int64{40, 20, 10}
		for i, tg := range u.targets {
			if tg.Active() != want[i] {
				t.Errorf("target %d has %d in flight, want %d", i, tg.Active(), want[i])
			}
		}
	})
}
