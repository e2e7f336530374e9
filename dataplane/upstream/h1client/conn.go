package h1client

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer sizes of a connection.
const (
	writeBufSize = 4 << 10
	readBufSize  = 8 << 10
)

// Buffer pools: the only package-level state. A connection takes a reader
// and a writer when it is made and gives them back when it is closed.
var (
	readerPool sync.Pool // *bufio.Reader
	writerPool sync.Pool // *bufio.Writer
)

func getReader(r *conn) *bufio.Reader {
	if br, ok := readerPool.Get().(*bufio.Reader); ok {
		br.Reset(r.nc)
		return br
	}
	return bufio.NewReaderSize(r.nc, readBufSize)
}

func getWriter(w *conn) *bufio.Writer {
	if bw, ok := writerPool.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, writeBufSize)
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readerPool.Put(br)
}

func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writerPool.Put(bw)
}

// conn is one keep-alive connection to a target. It is used by one round
// trip at a time; the fields under wmu are shared with the body writer
// goroutine and the context's AfterFunc.
type conn struct {
	pool *targetPool
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	tls  *tls.ConnectionState // nil for plain TCP

	rc      syscall.RawConn  // for the liveness check; nil if unavailable
	peekFn  func(fd uintptr) // cached method value of peek
	alive   bool             // result of the last peek
	onCanc  func()           // cached method value of cancelNow
	stop    func() bool      // stops the context AfterFunc of the current round trip
	idleAt  time.Time        // when the connection was put in the pool
	written int64            // request bytes written in the current round trip
	reused  bool             // the connection served an earlier round trip
	ctxDone bool             // the round trip's context was cancelled while watched
	wto     time.Duration    // WriteTimeout
	rht     time.Duration    // ResponseHeaderTimeout
	stopW   atomic.Bool      // writes must fail: the body writer was stopped
	writerC chan struct{}    // signalled when the body writer ends; made on first use

	wmu     sync.Mutex // guards the fields below
	writing bool       // a body writer goroutine owns bw
	aborted bool       // the body writer failed or was stopped
	closed  bool       // nc was closed
	werr    error      // the body writer's error
	wsrc    bool       // werr came from the request body, not the connection
}

func newConn(p *targetPool, nc net.Conn) *conn {
	c := &conn{pool: p, nc: nc, wto: p.client.opts.WriteTimeout, rht: p.client.opts.ResponseHeaderTimeout}
	raw := nc
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
		raw = tc.NetConn()
	}
	if sc, ok := raw.(syscall.Conn); ok && peekSupported {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
			c.peekFn = c.peek
		}
	}
	c.onCanc = c.cancelNow
	c.br = getReader(c)
	c.bw = getWriter(c)
	return c
}

// Write implements io.Writer for the connection's buffered writer: it applies
// the write timeout and counts the bytes that reached the connection.
func (c *conn) Write(p []byte) (int, error) {
	if c.stopW.Load() {
		return 0, errWriterStopped
	}
	if c.wto > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.wto)); err != nil {
			return 0, err
		}
		if c.stopW.Load() { // stopped while the deadline was being set
			return 0, errWriterStopped
		}
	}
	n, err := c.nc.Write(p)
	c.written += int64(n)
	return n, err
}

// peekAfter is how long a connection must have been idle before reuse
// checks its socket. A target closes an idle connection after its own
// keep-alive timeout (seconds), or says "Connection: close"; a connection
// idle for less than this is reused without the extra system call, which on
// a busy proxy is one in five per request. A connection that still turns
// out closed fails before a byte was sent, and a bodyless idempotent request
// is then retried on a new one.
const peekAfter = 250 * time.Millisecond

// isAliveAfter reports whether a connection idle for idle can be reused:
// nothing is buffered and, if it was idle for peekAfter or more, the socket
// has neither data nor EOF pending.
func (c *conn) isAliveAfter(idle time.Duration) bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if idle < peekAfter || c.rc == nil {
		return true
	}
	c.alive = false
	if err := c.rc.Control(c.peekFn); err != nil {
		return false
	}
	return c.alive
}

// watch makes a cancellation of ctx close the connection until unwatch.
func (c *conn) watch(ctx context.Context) {
	c.ctxDone = false
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, c.onCanc)
	}
}

// unwatch stops watching the context. It reports false if the context was
// cancelled first: the connection is then closed, or about to be by the
// AfterFunc, and must not be reused. stop's result is what decides, not a
// flag set by the AfterFunc, which may not have run yet.
func (c *conn) unwatch() bool {
	if c.stop != nil {
		if !c.stop() {
			c.ctxDone = true
		}
		c.stop = nil
	}
	return !c.ctxDone
}

func (c *conn) cancelNow() { _ = c.nc.Close() }

// close closes the connection and gives its buffers back, unless a body
// writer still owns the writer: the writer then gives it back when it ends.
// It releases the connection's slot in its pool.
func (c *conn) close() {
	c.unwatch()
	_ = c.nc.Close()
	if bw := c.takeWriter(true); bw != nil {
		putWriter(bw)
	}
	if c.br != nil {
		putReader(c.br)
		c.br = nil
	}
	c.pool.release()
}

// takeWriter takes the buffered writer back from the connection unless a
// body writer goroutine still owns it (which then gives it back itself).
// closing marks the connection closed.
func (c *conn) takeWriter(closing bool) *bufio.Writer {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if closing {
		c.closed = true
	}
	if c.writing {
		return nil
	}
	bw := c.bw
	c.bw = nil
	return bw
}

// detach hands the raw connection to a 101 response body: the connection
// leaves the pool's accounting and its reader stays with the body.
func (c *conn) detach() {
	c.wmu.Lock()
	c.aborted = true
	c.wmu.Unlock()
	if bw := c.takeWriter(true); bw != nil {
		putWriter(bw)
	}
	c.pool.release()
}

// done ends a round trip: the connection goes back to the pool when
// reusable is true and nothing forbids it, else it is closed.
func (c *conn) done(reusable bool) {
	if !c.unwatch() {
		reusable = false
	}
	if reusable {
		c.wmu.Lock()
		reusable = !c.writing && !c.aborted
		c.wmu.Unlock()
	}
	if !reusable {
		c.close()
		return
	}
	c.pool.put(c)
}

// startWriter marks the writer as owned by a body writer goroutine.
func (c *conn) startWriter() {
	if c.writerC == nil {
		c.writerC = make(chan struct{}, 1)
	}
	c.wmu.Lock()
	c.writing = true
	c.aborted = false
	c.werr, c.wsrc = nil, false
	c.wmu.Unlock()
}

// writeFailGrace is how long the response is awaited after the body writer
// failed.
const writeFailGrace = time.Second

// writerDone is called by the body writer goroutine when it ends. On
// success it starts the response-header timeout, unless the caller has
// already stopped waiting for the body. If the request body failed, the
// target is still waiting for the rest of it: the caller's read is woken at
// once. If the connection failed, the target may still have answered (an
// early 413 before closing): the caller gets up to writeFailGrace to read it.
func (c *conn) writerDone(err error, srcErr bool) {
	c.wmu.Lock()
	c.writing = false
	if !c.aborted && !c.closed {
		switch {
		case srcErr:
			_ = c.nc.SetReadDeadline(aLongTimeAgo)
		case err != nil:
			// The target stopped taking the body (write timeout, reset). An
			// early answer it sent is already in the socket buffer; do not
			// wait the whole response-header timeout for one that is not.
			_ = c.nc.SetReadDeadline(time.Now().Add(min(c.rht, writeFailGrace)))
		default:
			_ = c.nc.SetReadDeadline(time.Now().Add(c.rht))
		}
	}
	if err != nil {
		c.aborted = true
		c.werr, c.wsrc = err, srcErr
	}
	var bw *bufio.Writer
	if c.closed {
		bw, c.bw = c.bw, nil
	}
	c.wmu.Unlock()
	if bw != nil {
		putWriter(bw)
	}
	c.writerC <- struct{}{}
}

// waitWriter waits up to grace for the body writer to end; it reports
// whether it has.
func (c *conn) waitWriter(grace time.Duration) bool {
	select {
	case <-c.writerC:
		return true
	default:
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.writerC:
		return true
	case <-t.C:
		return false
	}
}

// abortWriter stops a body writer that is still running: its writes fail
// at once and the connection will not be reused.
func (c *conn) abortWriter() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.writing {
		return
	}
	c.aborted = true
	c.stopW.Store(true)
	_ = c.nc.SetWriteDeadline(aLongTimeAgo)
}

// writeFailed reports whether the body writer did not finish cleanly.
func (c *conn) writeFailed() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.aborted
}

// aLongTimeAgo is a deadline in the past, to fail pending I/O at once.
var aLongTimeAgo = time.Unix(1, 0)
