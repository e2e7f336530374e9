package h1client

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// targetPool holds the connections to one target address: a LIFO list of
// idle ones, the count of all open ones and the callers waiting for a slot.
type targetPool struct {
	client *Client
	addr   string
	tls    *tls.Config // per-target copy with ServerName and NextProtos set

	mu      sync.Mutex
	idle    []*conn // oldest first; taken from the end
	active  int     // open connections: idle, busy and being dialed
	waiters []chan struct{}
	sweep   *time.Timer // closes expired idle connections; nil until needed
	dead    bool        // removed from the client; look the pool up again
}

func newTargetPool(c *Client, addr string) *targetPool {
	p := &targetPool{client: c, addr: addr}
	if c.opts.TLSConfig != nil {
		cfg := c.opts.TLSConfig.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				cfg.ServerName = host
			}
		}
		cfg.NextProtos = []string{"http/1.1"}
		p.tls = cfg
	}
	return p
}

// get returns a connection to the target: the most recently used live idle
// one, else a new one if the connection cap allows, else it waits for a slot.
// A nil connection with a nil error means the pool is dead.
func (p *targetPool) get(ctx context.Context, fresh bool) (*conn, error) {
	opts := &p.client.opts
	for {
		p.mu.Lock()
		if p.dead {
			p.mu.Unlock()
			return nil, nil
		}
		if !fresh {
			if c := p.takeIdle(); c != nil {
				return c, nil // takeIdle unlocked p.mu
			}
		}
		if opts.MaxConnsPerTarget == 0 || p.active < opts.MaxConnsPerTarget {
			p.active++
			p.mu.Unlock()
			c, err := p.dial(ctx)
			if err != nil {
				p.release()
				return nil, err
			}
			return c, nil
		}
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// takeIdle pops live idle connections until one is usable. It is called
// with p.mu held; it returns with p.mu unlocked if it found one, locked if
// not.
func (p *targetPool) takeIdle() *conn {
	for len(p.idle) > 0 {
		n := len(p.idle) - 1
		c := p.idle[n]
		p.idle[n] = nil
		p.idle = p.idle[:n]
		p.client.idle.Add(-1)
		idle := time.Since(c.idleAt)
		if idle > p.client.opts.IdleTimeout {
			// The newest is expired, so are all the others.
			stale := append([]*conn(nil), p.idle...)
			clear(p.idle)
			p.idle = p.idle[:0]
			p.client.idle.Add(-int64(len(stale)))
			p.mu.Unlock()
			c.close()
			for _, s := range stale {
				s.close()
			}
			p.mu.Lock()
			continue
		}
		p.mu.Unlock()
		if c.isAliveAfter(idle) {
			c.reused = true
			p.client.reuses.Add(1)
			return c
		}
		c.close()
		p.mu.Lock()
	}
	return nil
}

// wait queues for a free slot. It is called with p.mu held and returns with
// it unlocked.
func (p *targetPool) wait(ctx context.Context) error {
	w := make(chan struct{}, 1)
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	select {
	case <-w:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	queued := false
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			queued = true
			break
		}
	}
	if !queued {
		// Woken and cancelled at once: pass the wake-up on.
		p.wakeOne()
	}
	p.mu.Unlock()
	return &Error{Op: OpWait, Addr: p.addr, Err: ctx.Err()}
}

// wakeOne tells the first waiter that a slot or an idle connection is free.
// Called with p.mu held.
func (p *targetPool) wakeOne() {
	if len(p.waiters) == 0 {
		return
	}
	w := p.waiters[0]
	copy(p.waiters, p.waiters[1:])
	p.waiters[len(p.waiters)-1] = nil
	p.waiters = p.waiters[:len(p.waiters)-1]
	w <- struct{}{}
}

// release frees the slot of a connection that was closed or never made.
func (p *targetPool) release() {
	p.mu.Lock()
	p.active--
	p.wakeOne()
	p.mu.Unlock()
}

// put returns a healthy connection to the idle list, evicting the oldest
// one beyond MaxIdlePerTarget.
func (p *targetPool) put(c *conn) {
	maxIdle := p.client.opts.MaxIdlePerTarget
	if maxIdle == 0 || p.client.retired.Load() {
		c.close()
		return
	}
	c.idleAt = time.Now()
	var evict *conn
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		c.close()
		return
	}
	if len(p.idle) >= maxIdle {
		evict = p.idle[0]
		copy(p.idle, p.idle[1:])
		p.idle[len(p.idle)-1] = c
	} else {
		p.idle = append(p.idle, c)
		p.client.idle.Add(1)
	}
	if len(p.idle) == 1 {
		p.armSweep(p.client.opts.IdleTimeout)
	}
	p.wakeOne()
	p.mu.Unlock()
	if evict != nil {
		evict.close()
	}
}

// armSweep schedules the idle sweep in d. Called with p.mu held.
func (p *targetPool) armSweep(d time.Duration) {
	if p.sweep == nil {
		p.sweep = time.AfterFunc(d, p.sweepIdle)
		return
	}
	p.sweep.Reset(d)
}

// sweepIdle closes the idle connections that have expired and reschedules
// itself for the next one to expire.
func (p *targetPool) sweepIdle() {
	timeout := p.client.opts.IdleTimeout
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleAt) >= timeout {
		n++
	}
	stale := append([]*conn(nil), p.idle[:n]...)
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	p.client.idle.Add(-int64(n))
	if rest > 0 {
		p.armSweep(timeout - now.Sub(p.idle[0].idleAt))
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// closeIdle closes every idle connection. It reports whether the pool is
// now unused (no connection open, nobody waiting), in which case it is
// marked dead so that the client can forget it.
func (p *targetPool) closeIdle() bool {
	p.mu.Lock()
	stale := p.idle
	p.idle = nil
	p.client.idle.Add(-int64(len(stale)))
	unused := p.active == len(stale) && len(p.waiters) == 0
	if unused {
		p.dead = true
		if p.sweep != nil {
			p.sweep.Stop()
		}
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
	return unused
}

// dial opens a new connection, TLS handshake included, bounded by
// DialTimeout and ctx.
func (p *targetPool) dial(ctx context.Context) (*conn, error) {
	cl := p.client
	dctx, cancel := context.WithTimeout(ctx, cl.opts.DialTimeout)
	defer cancel()
	nc, err := cl.opts.Dialer(dctx, "tcp", p.addr)
	if err != nil {
		return nil, &Error{Op: OpDial, Addr: p.addr, Err: err}
	}
	if p.tls != nil {
		tc := tls.Client(nc, p.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = nc.Close()
			return nil, &Error{Op: OpDial, Addr: p.addr, Err: err}
		}
		if proto := tc.ConnectionState().NegotiatedProtocol; proto != "" && proto != "http/1.1" {
			_ = nc.Close()
			return nil, &Error{Op: OpDial, Addr: p.addr, Err: errALPN(proto)}
		}
		nc = tc
	}
	cl.dials.Add(1)
	return newConn(p, nc), nil
}

type errALPN string

func (e errALPN) Error() string { return "target negotiated unsupported protocol " + string(e) }
