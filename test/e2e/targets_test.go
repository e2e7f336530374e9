package e2e

// Reading the per-target health state from /status: "upstreams", keyed by
// name, each with its "targets" carrying "addr", "healthy" and "ejected".

import (
	"encoding/json"
	"slices"
	"time"
)

// upstreamStatus is an upstream in /status.
type upstreamStatus struct {
	Targets []targetStatus `json:"targets"`
}

// targetStatus is one target in /status; a nil field is absent from the
// document.
type targetStatus struct {
	Addr    string `json:"addr"`
	Healthy *bool  `json:"healthy"`
	Ejected *bool  `json:"ejected"`
}

// String renders the target as JSON, for messages.
func (v targetStatus) String() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitTarget polls /status until cond holds for target addr of upstream up.
// It fails the test after timeout, or at once when /status lacks the
// upstream's target or the field cond needs.
func (d *dataplane) waitTarget(up, addr, what string, timeout time.Duration, cond func(targetStatus) (ok, known bool)) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		targets := d.status().Upstreams[up].Targets
		i := slices.IndexFunc(targets, func(v targetStatus) bool { return v.Addr == addr })
		if i < 0 {
			d.t.Fatalf("/status does not show target %s of upstream %q: %v", addr, up, targets)
		}
		v := targets[i]
		done, known := cond(v)
		if !known {
			d.t.Fatalf("/status: target %s of %q lacks the field for %q: %v", addr, up, what, v)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("/status: target %s of %q not %s after %s: %v", addr, up, what, timeout, v)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// isHealthy and isEjected are conditions for waitTarget.
func isHealthy(want bool) func(targetStatus) (bool, bool) {
	return func(v targetStatus) (bool, bool) {
		if v.Healthy == nil {
			return false, false
		}
		return *v.Healthy == want, true
	}
}

func isEjected(want bool) func(targetStatus) (bool, bool) {
	return func(v targetStatus) (bool, bool) {
		if v.Ejected == nil {
			return false, false
		}
		return *v.Ejected == want, true
	}
}
