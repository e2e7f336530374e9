package discovery

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// convergence follows one version's rollout to the nodes streaming from
// this server, for pingap_controlplane_convergence_seconds.
//
// A node must run the version when its stream looks at it (on every
// wake-up, message and push decision) and neither runs it nor NACKed it.
// The version has converged when every stream of the cluster that was
// there when it arrived has looked at it and no stream owes it any more
// (ACKed, NACKed or ended). Then, if any node ACKed it, the time from the
// version's creation to the last ACK is observed, once. A version replaced
// by a newer one before that is not observed.
//
// Only versions created after the cluster's watcher started on this server
// are followed: an older version found when the first node of a cluster
// connects is not a rollout this server saw begin. A nil *convergence
// follows nothing.
type convergence struct {
	created time.Time
	obs     prometheus.Observer

	mu      sync.Mutex
	unseen  map[*stream]struct{} // streams there when the version arrived, not looked yet
	owing   map[*stream]struct{} // streams that must still run it
	lastAck time.Time
	done    bool
}

func newConvergence(created time.Time, obs prometheus.Observer) *convergence {
	return &convergence{created: created, obs: obs, unseen: map[*stream]struct{}{}, owing: map[*stream]struct{}{}}
}

// expect notes the streams of the cluster when the version became its
// latest; each of them is woken to look at it.
func (c *convergence) expect(subs map[*stream]struct{}) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	for st := range subs {
		c.unseen[st] = struct{}{}
	}
}

// look records whether st must still run the version.
func (c *convergence) look(st *stream, owes bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	delete(c.unseen, st)
	if owes {
		c.owing[st] = struct{}{}
	} else {
		delete(c.owing, st)
	}
	c.check()
}

// acked records st's ACK of the version at t.
func (c *convergence) acked(st *stream, t time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	if t.After(c.lastAck) {
		c.lastAck = t
	}
	delete(c.unseen, st)
	delete(c.owing, st)
	c.check()
}

// gone forgets a stream that ended: it owes the version nothing any more.
func (c *convergence) gone(st *stream) { c.look(st, false) }

// abandon stops following a version a newer one replaced.
func (c *convergence) abandon() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finish()
}

// check observes the convergence when it is complete; c.mu is held.
func (c *convergence) check() {
	if len(c.unseen) > 0 || len(c.owing) > 0 || c.lastAck.IsZero() {
		return
	}
	c.obs.Observe(max(c.lastAck.Sub(c.created), 0).Seconds())
	c.finish()
}

func (c *convergence) finish() {
	c.done = true
	c.unseen, c.owing = nil, nil
}
