package agent

import "time"

// Backoff paces reconnects. The n-th consecutive failed attempt (from 0)
// waits Min·2ⁿ, at most Max, less a random part of up to Jitter of it, so a
// fleet that lost its control plane at once does not return at once.
type Backoff struct {
	// Min is the first delay. Default: 200ms.
	Min time.Duration
	// Max caps the delay. Default: 30s.
	Max time.Duration
	// Jitter is the fraction of each delay that is random, in (0, 1].
	// Default (0): 0.5. Negative: no jitter.
	Jitter float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 200 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.5
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// delay is the wait before attempt (0 for the first retry), given r in
// [0, 1).
func (b Backoff) delay(attempt int, r float64) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(float64(d)*b.Jitter*r)
}
