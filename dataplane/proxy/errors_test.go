package proxy

import (
	"testing"
	"time"
)

func TestGRPCTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"100m", 100 * time.Millisecond, true},
		{"5S", 5 * time.Second, true},
		{"1H", time.Hour, true},
		{"2M", 2 * time.Minute, true},
		{"3u", 3 * time.Microsecond, true},
		{"4n", 4, true},
		{"12345678S", 12345678 * time.Second, true},
		{"", 0, false},
		{"S", 0, false},
		{"5x", 0, false},
		{"-1S", 0, false},
		{"123456789S", 0, false}, // more than 8 digits
	} {
		if got, ok := grpcTimeout(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("grpcTimeout(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
