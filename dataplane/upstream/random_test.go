package upstream

import (
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestRandomFollowsWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		weights []int
	}{
		{desc: "equal", weights: []int{1, 1, 1, 1, 1}},
		{desc: "1,2,3,4", weights: []int{1, 2, 3, 4}},
		{desc: "5,1,1", weights: []int{5, 1, 1}},
		{desc: "single", weights: []int{3}},
	}
	const picks = 100_000
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			u := newTest(t, "random", addrsN(len(tc.weights), tc.weights...)...)
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			c := counts(t, u, picks)
			for i, w := range tc.weights {
				if want := picks * w / total; !within(c[i], want, 0.03) {
					t.Errorf("target %d picked %d times, want %d ±3%%", i, c[i], want)
				}
			}
			t.Logf("counts %v", c)
		})
	}
}

func TestRandomAvoidsLoadedTarget(t *testing.T) {
	t.Parallel()
	u := newTest(t, "random", addrsN(5)...)
	for range 50 {
		t.Cleanup(u.targets[0].Begin())
	}
	const picks = 10_000
	c := counts(t, u, picks)
	// Target 0 wins only when every draw hit it: 1/5 * (1/5)^3 = 0.16%.
	if c[0] > picks/200 {
		t.Errorf("loaded target picked %d of %d times, want under 0.5%%", c[0], picks)
	}
	for i := 1; i < 5; i++ {
		if !within(c[i], picks/4, 0.1) {
			t.Errorf("target %d picked %d times, want %d ±10%%", i, c[i], picks/4)
		}
	}
	t.Logf("counts %v", c)
}

func TestRandomDefaultSource(t *testing.T) {
	t.Parallel()
	u, err := New("api", &pb.Upstream{Addrs: addrsN(2), Algo: "random"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := counts(t, u, 1000)
	if c[0] == 0 || c[1] == 0 {
		t.Errorf("counts = %v, want both targets used", c)
	}
}
