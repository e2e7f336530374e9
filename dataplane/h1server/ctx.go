package h1server

import (
	"context"
	"sync"
	"time"
)

// reqCtx is a request's context when the connection's context cannot be
// cancelled: it is cancelled only by the server (when the handler returns,
// or a write to the client fails). It lives inside reqState, so it costs no
// allocation, and it implements AfterFunc so that contexts derived from it
// (context.WithTimeout and friends) need no goroutine.
type reqCtx struct {
	parent context.Context
	mu     sync.Mutex
	done   chan struct{}
	err    error
	afters []*afterFn
}

type afterFn struct {
	f       func()
	stopped bool
}

var _ context.Context = (*reqCtx)(nil)

// Deadline implements context.Context.
func (c *reqCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Value implements context.Context.
func (c *reqCtx) Value(key any) any { return c.parent.Value(key) }

// Done implements context.Context.
func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *reqCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// String describes the context for debugging.
func (c *reqCtx) String() string { return "h1server.requestContext" }

// AfterFunc arranges for f to run in its own goroutine once c is cancelled,
// as context.AfterFunc does. The context package uses it to propagate
// cancellation to derived contexts without a goroutine.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFn{f: f}
	c.afters = append(c.afters, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if a.stopped || c.err != nil {
			return false
		}
		a.stopped = true
		return true
	}
}

// cancel cancels c with err; later calls do nothing.
func (c *reqCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
		if !a.stopped {
			go a.f()
		}
	}
}
