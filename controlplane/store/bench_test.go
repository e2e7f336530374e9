package store

import (
	"testing"
)

// BenchmarkApply measures one apply that makes a new version: a small
// snapshot, and one of about 3.2 MiB (801 objects) where one object changes
// per version.
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
	}{{"small", 0}, {"3MiB", 400}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(b.Context(), Config{Client: shared.Client(), Prefix: "/bench/" + b.Name(), Logger: testLogger(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			base := snap(1)
			if bc.n > 0 {
				base = largeSnap(bc.n, "x")
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				sn := base
				sn.Upstreams["svc-changing"] = snap(i).Upstreams["api"]
				if _, created, err := s.Apply(b.Context(), "c", sn, ApplyMeta{}); err != nil || !created {
					b.Fatal(created, err)
				}
			}
		})
	}
}

// BenchmarkCurrent measures reading back and verifying the current
// version of about 3.2 MiB.
func BenchmarkCurrent(b *testing.B) {
	s, err := Open(b.Context(), Config{Client: shared.Client(), Prefix: "/bench/" + b.Name(), Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Apply(b.Context(), "c", largeSnap(400, "x"), ApplyMeta{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.Current(b.Context(), "c"); err != nil {
			b.Fatal(err)
		}
	}
}
