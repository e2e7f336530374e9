package upstream

import (
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// BenchmarkPick measures one pick with five targets of mixed weights, for
// every algorithm, sequentially and from all Ps at once.
func BenchmarkPick(b *testing.B) {
	for _, algo := range allAlgos {
		// The default random source: the parallel runs share it.
		u, err := New("api", &pb.Upstream{Addrs: addrsN(5, 1, 2, 3, 4, 5), Algo: algo}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		r, ip := variedRequest(42)
		b.Run(algo, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := u.Pick(r, ip); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(algo+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t, _ := u.Pick(r, ip)
					t.Begin()()
				}
			})
		})
	}
}

// BenchmarkPickLarge is round robin and hashing with 100 targets.
func BenchmarkPickLarge(b *testing.B) {
	for _, algo := range []string{"round_robin", "least_conn", "hash:ip"} {
		u := newTest(b, algo, addrsN(100)...)
		r, ip := variedRequest(42)
		b.Run(algo, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u.Pick(r, ip)
			}
		})
	}
}

// BenchmarkRoundRobinUnhealthy is the mutex path: the scheduled target is
// often unhealthy.
func BenchmarkRoundRobinUnhealthy(b *testing.B) {
	u := newTest(b, "round_robin", addrsN(5, 1, 2, 3, 4, 5)...)
	u.targets[4].SetHealthy(false)
	b.ReportAllocs()
	for b.Loop() {
		u.Pick(nil, noIP)
	}
}

func BenchmarkNewHash(b *testing.B) {
	cfg := &pb.Upstream{Addrs: addrsN(10, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5), Algo: "hash:ip"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New("api", cfg, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
