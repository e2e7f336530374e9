package h1client

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Client is a synchronous HTTP/1.1 [http.RoundTripper] with a keep-alive
// connection pool per target address. It is safe for concurrent use.
type Client struct {
	opts Options

	mu    sync.RWMutex
	pools map[string]*targetPool

	dials, reuses, idle atomic.Int64
	retired             atomic.Bool // set by Close: connections are no longer pooled
}

var _ http.RoundTripper = (*Client)(nil)

// New returns a client with opts; zero fields take their documented
// defaults.
func New(opts Options) *Client {
	return &Client{opts: opts.withDefaults(), pools: make(map[string]*targetPool)}
}

// Stats are counters of a [Client], for tests and metrics.
type Stats struct {
	// Dials counts connections made, TLS handshake included.
	Dials int64
	// Reuses counts round trips served by a pooled connection.
	Reuses int64
	// Idle is the number of connections now in the pools.
	Idle int64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{Dials: c.dials.Load(), Reuses: c.reuses.Load(), Idle: c.idle.Load()}
}

// CloseIdleConnections closes the pooled connections of every target and
// forgets the targets that have no connection in use.
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, p := range c.pools {
		if p.closeIdle() {
			delete(c.pools, addr)
		}
	}
}

// Close retires the client: idle connections are closed now, and those in
// use are closed when their round trip ends instead of being pooled.
// Round trips still work after Close, each on a new connection. It is for
// an upstream that a config reload replaced.
func (c *Client) Close() {
	c.retired.Store(true)
	c.CloseIdleConnections()
}

// pool returns the pool of addr, making it on first use.
func (c *Client) pool(addr string) *targetPool {
	c.mu.RLock()
	p := c.pools[addr]
	c.mu.RUnlock()
	if p != nil {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p = c.pools[addr]; p == nil {
		p = newTargetPool(c, addr)
		c.pools[addr] = p
	}
	return p
}

// conn returns a connection to addr; fresh forces a new one.
func (c *Client) conn(req *http.Request, addr string, fresh bool) (*conn, error) {
	for {
		pc, err := c.pool(addr).get(req.Context(), fresh)
		if pc != nil || err != nil {
			return pc, err
		}
		// The pool was forgotten by CloseIdleConnections: look it up again.
	}
}

// RoundTrip sends req to the target req.URL.Host ("host:port"; the port
// defaults to 80, or 443 with a TLSConfig) and returns its response. The
// Host header is req.Host, or req.URL.Host when empty. Header is written as
// is, without a default User-Agent; Content-Length or chunked coding is
// added as the body needs. It always closes req.Body, possibly after it
// returns.
//
// Errors are [*Error]; see [IsRetryable].
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	addr, err := c.checkRequest(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, &Error{Op: OpWait, Addr: addr, Err: err}
	}
	rb := requestBody{src: req.Body}
	fresh := false
	for {
		pc, err := c.conn(req, addr, fresh)
		if err != nil {
			rb.close()
			return nil, err
		}
		resp, err := pc.roundTrip(req, &rb)
		if err == nil {
			return resp, nil
		}
		if !fresh && pc.reused && rb.replayable() && retryOnFresh(req, err) {
			fresh = true
			continue
		}
		rb.close()
		return nil, err
	}
}

// retryOnFresh reports whether a round trip that failed on a reused
// connection may be repeated on a new one: nothing was sent, or the target
// closed the connection before answering a request that has no body and an
// idempotent method.
func retryOnFresh(req *http.Request, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if !e.Sent {
		return e.Op == OpWrite
	}
	return e.Op == OpReadHeader && errors.Is(e.Err, errServerClosedIdle) &&
		!hasBody(req) && idempotent(req)
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	return key
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// targetAddr returns req.URL.Host with a default port.
func (c *Client) targetAddr(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if c.opts.TLSConfig != nil {
		port = "443"
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, port)
}
