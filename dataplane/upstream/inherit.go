package upstream

// inherit copies the health state of prev's targets to the targets of u with
// the same address. It runs in New, before u is shared.
//
// Active health (the down flag, the probe counters and the last error) is
// inherited only when u has a health_check, since without one nothing would
// ever clear a down flag. Outlier state (consecutive failures, ejection
// count, success streak, a running ejection) is inherited only when u's
// outlier detection is on; a running ejection is kept while u's
// max_ejection_percent allows, and otherwise ends. A half-open probe taken on
// prev's target is not carried: its outcome is reported to prev's target.
// In-flight counts are not carried either; they belong to prev's targets.
//
// New targets start healthy and unejected, as in Envoy; with a health_check
// they are probed as soon as the upstream starts, like every target.
func (u *Upstream) inherit(prev *Upstream) {
	if prev == nil {
		return
	}
	old := make(map[string]*Target, len(prev.targets))
	for _, t := range prev.targets {
		old[t.addr] = t
	}
	for _, t := range u.targets {
		if o := old[t.addr]; o != nil {
			t.inheritFrom(o, u.health != nil)
		}
	}
}

// targetState is a copy of a target's health state.
type targetState struct {
	down, ejected bool
	ejectedUntil  int64
	outlierCounters
	checkCounters
}

func (t *Target) state() targetState {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.flags.Load()
	return targetState{
		down:            f&stateDown != 0,
		ejected:         f&stateEjected != 0,
		ejectedUntil:    t.ejectedUntil.Load(),
		outlierCounters: t.outlierCounters,
		checkCounters:   t.checkCounters,
	}
}

func (t *Target) inheritFrom(o *Target, active bool) {
	s := o.state()
	t.mu.Lock()
	defer t.mu.Unlock()
	if active {
		t.checkCounters = s.checkCounters
		t.setFlag(stateDown, s.down)
	}
	if c := t.pool.outlier; c != nil {
		t.outlierCounters = s.outlierCounters
		if s.ejected && t.pool.reserveEjection(c.maxEjected) {
			t.ejectedUntil.Store(s.ejectedUntil)
			t.setFlag(stateEjected, true)
		}
		t.updateTracking()
	}
}
