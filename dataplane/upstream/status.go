package upstream

import "time"

// UpstreamStatus is the health view of one upstream, for the data plane's
// /status.
type UpstreamStatus struct { //nolint:revive // the name the data plane's /status code asked for; Status is the method
	// Name is the upstream's name.
	Name string `json:"name"`
	// HealthCheck is the upstream's health_check, empty without one.
	HealthCheck string `json:"health_check,omitempty"`
	// FailOpen reports fail_open.
	FailOpen bool `json:"fail_open,omitempty"`
	// Targets are the upstream's targets in config order.
	Targets []TargetStatus `json:"targets"`
}

// TargetStatus is the health view of one target.
type TargetStatus struct {
	// Addr is the target's "host:port".
	Addr string `json:"addr"`
	// Weight is the target's weight.
	Weight int `json:"weight"`
	// Healthy reports whether the balancers may pick the target now
	// ([Target.Healthy]).
	Healthy bool `json:"healthy"`
	// ActiveHealth is the active health check's verdict: "healthy",
	// "unhealthy", or "unchecked" when the upstream has no health_check (and
	// SetHealthy did not mark the target unhealthy).
	ActiveHealth string `json:"active_health"`
	// Ejected reports an outlier ejection, including its half-open phase
	// (after EjectedUntil, until the probe request's outcome).
	Ejected bool `json:"ejected"`
	// EjectedUntil is when the current ejection time ends; zero (omitted)
	// when not ejected.
	EjectedUntil time.Time `json:"ejected_until,omitzero"`
	// Ejections is the number of ejections since the count was last reset
	// (see [EjectionResetStreak]).
	Ejections int `json:"ejections"`
	// ConsecutiveFailures is the number of failed attempts in a row
	// observed by outlier detection since the last success or ejection.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Active is the number of requests in flight to the target.
	Active int64 `json:"active"`
	// LastCheckError is the error of the last active probe if it failed.
	LastCheckError string `json:"last_check_error,omitempty"`
}

// Active health verdicts of TargetStatus.ActiveHealth.
const (
	ActiveHealthy   = "healthy"
	ActiveUnhealthy = "unhealthy"
	ActiveUnchecked = "unchecked"
)

// Status returns the health state of the upstream's targets. It is a
// consistent copy per target, not across targets.
func (u *Upstream) Status() UpstreamStatus {
	s := UpstreamStatus{
		Name:        u.name,
		HealthCheck: u.cfg.GetHealthCheck(),
		FailOpen:    u.cfg.GetFailOpen(),
		Targets:     make([]TargetStatus, len(u.targets)),
	}
	for i, t := range u.targets {
		st := t.state()
		ts := TargetStatus{
			Addr:                t.addr,
			Weight:              t.weight,
			Healthy:             t.usable(),
			ActiveHealth:        ActiveUnchecked,
			Ejected:             st.ejected,
			Ejections:           st.ejections,
			ConsecutiveFailures: st.fails,
			Active:              t.Active(),
			LastCheckError:      st.lastCheckErr,
		}
		switch {
		case st.down:
			ts.ActiveHealth = ActiveUnhealthy
		case u.health != nil:
			ts.ActiveHealth = ActiveHealthy
		}
		if st.ejected {
			ts.EjectedUntil = time.Unix(0, st.ejectedUntil).UTC()
		}
		s.Targets[i] = ts
	}
	return s
}
