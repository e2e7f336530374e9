package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/dataplane/runtime"
)

// listener is one bound address. Its socket lives as long as some server
// listens there; the config it serves is swapped through an atomic pointer,
// and when the server's HTTP settings change a new engine takes over
// the socket while the old one drains. One accept loop owns the socket and
// hands each connection to the current engine (see engine.go).
type listener struct {
	addr     string
	ln       net.Listener
	log      *slog.Logger
	counters *counters

	server atomic.Pointer[runtime.Server]
	conns  atomic.Int64 // open client connections
	tls    *tls.Config  // asks the current server for its TLS config per handshake

	mu        sync.Mutex
	name      string
	settings  runtime.ListenerSettings
	engine    *engine
	closing   bool
	old       sync.WaitGroup // retired engines still draining
	accepting sync.WaitGroup
}

func newListener(addr string, ln net.Listener, log *slog.Logger, c *counters) *listener {
	l := &listener{addr: addr, ln: ln, log: log, counters: c}
	l.tls = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if s := l.server.Load(); s != nil && s.TLS != nil {
			return s.TLS, nil
		}
		return nil, errors.New("listener no longer serves TLS")
	}}
	l.accepting.Add(1)
	go l.acceptLoop()
	return l
}

// acceptLoop accepts connections and hands them to the current http.Server.
func (l *listener) acceptLoop() {
	defer l.accepting.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, then retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed", "addr", l.addr, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if c = l.admit(c); c != nil {
			l.handOff(c)
		}
	}
}

// refusal is what a plain-HTTP client over max_connections reads.
const (
	refusalBody = "too many connections, retry\n"
	refusal     = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: 28\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + refusalBody
)

// admit counts c against max_connections and wraps it for TLS. A connection
// over the limit is refused (plain HTTP gets a 503 first) and nil returned.
func (l *listener) admit(c net.Conn) net.Conn {
	settings := l.currentSettings()
	n := l.conns.Add(1)
	if limit := settings.MaxConnections; limit > 0 && n > int64(limit) {
		l.conns.Add(-1)
		if !settings.TLS {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, refusal)
		}
		_ = c.Close()
		l.log.Warn("connection refused: max_connections reached", "addr", l.addr, "limit", limit)
		return nil
	}
	c = &countedConn{Conn: c, release: func() { l.conns.Add(-1) }}
	if settings.TLS {
		return tls.Server(c, l.tls)
	}
	return c
}

func (l *listener) currentSettings() runtime.ListenerSettings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.settings
}

// handOff gives c to the current engine, following a settings change that
// retires the engine it first tried.
func (l *listener) handOff(c net.Conn) {
	for {
		l.mu.Lock()
		e, closing := l.engine, l.closing
		l.mu.Unlock()
		if closing || e == nil {
			_ = c.Close()
			return
		}
		if e.handle(c) {
			return
		}
	}
}

// ServeHTTP serves with the listener's current server config.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.counters.count(l.server.Load(), w, r)
}

// update points the listener at s, replacing its engine if the listener
// settings changed; the old engine finishes its connections.
func (l *listener) update(name string, s *runtime.Server) {
	l.server.Store(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.name = name
	if l.engine != nil && l.settings == s.Listener {
		return
	}
	l.settings = s.Listener
	old := l.engine
	l.engine = newEngine(l.ln.Addr(), s.Listener, l, l.log)
	l.engine.start()
	if old != nil {
		old.retire()
		l.old.Add(1)
		go func() {
			defer l.old.Done()
			_ = old.shutdown(context.Background())
		}()
	}
}

// shutdown closes the socket and drains every http.Server on it.
func (l *listener) shutdown(ctx context.Context) error {
	l.mu.Lock()
	e := l.engine
	l.closing = true
	l.mu.Unlock()
	_ = l.ln.Close()
	l.accepting.Wait()
	var err error
	if e != nil {
		err = e.shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { l.old.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return err
}

func (l *listener) boundAddr() string { return l.ln.Addr().String() }

func (l *listener) serverName() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.name
}

// countedConn releases its slot of max_connections once, on Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// connQueue is the net.Listener an http.Server serves from: connections
// accepted by the listener's loop arrive on ch. Closing it stops that
// http.Server's accepting without touching the socket.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// Accept waits for the next connection.
func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr is the socket's address.
func (q *connQueue) Addr() net.Addr { return q.addr }
