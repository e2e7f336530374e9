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
// and when the server's HTTP settings change a new http.Server takes over
// the socket while the old one drains. One accept loop owns the socket and
// hands each connection to the current http.Server through a connQueue.
type listener struct {
	addr string
	ln   net.Listener
	log  *slog.Logger

	server atomic.Pointer[runtime.Server]
	conns  atomic.Int64 // open client connections
	tls    *tls.Config  // asks the current server for its TLS config per handshake

	mu        sync.Mutex
	name      string
	settings  runtime.ListenerSettings
	srv       *http.Server
	queue     *connQueue
	closing   bool
	old       sync.WaitGroup // retired http.Servers still draining
	accepting sync.WaitGroup
}

func newListener(addr string, ln net.Listener, log *slog.Logger) *listener {
	l := &listener{addr: addr, ln: ln, log: log}
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
const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 25\r\nConnection: close\r\nRetry-After: 1\r\n\r\ntoo many connections, retry\n"

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

// handOff gives c to the current http.Server, following a settings change
// that retires the queue it first tried.
func (l *listener) handOff(c net.Conn) {
	for {
		l.mu.Lock()
		q, closing := l.queue, l.closing
		l.mu.Unlock()
		if closing || q == nil {
			_ = c.Close()
			return
		}
		select {
		case q.ch <- c:
			return
		case <-q.done:
		}
	}
}

// ServeHTTP serves with the listener's current server config.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.server.Load().Handler.ServeHTTP(w, r)
}

// update points the listener at s, restarting its http.Server if the
// listener settings changed.
func (l *listener) update(name string, s *runtime.Server) {
	l.server.Store(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.name = name
	if l.srv != nil && l.settings == s.Listener {
		return
	}
	l.settings = s.Listener
	srv := &http.Server{
		Handler:           l,
		ReadHeaderTimeout: s.Listener.ReadHeaderTimeout,
		ReadTimeout:       s.Listener.ReadTimeout,
		WriteTimeout:      s.Listener.WriteTimeout,
		IdleTimeout:       s.Listener.IdleTimeout,
		MaxHeaderBytes:    s.Listener.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(s.Listener.TLS)
	srv.Protocols.SetUnencryptedHTTP2(s.Listener.H2C)
	old, oldQueue := l.srv, l.queue
	l.srv = srv
	l.queue = newConnQueue(l.ln.Addr())
	go l.serve(srv, l.queue)
	if oldQueue != nil {
		_ = oldQueue.Close()
	}
	if old != nil {
		l.old.Add(1)
		go func() {
			defer l.old.Done()
			// The old server's listener is its queue, already closed; this
			// waits for the connections it still serves.
			_ = old.Shutdown(context.Background())
		}()
	}
}

func (l *listener) serve(srv *http.Server, q *connQueue) {
	err := srv.Serve(q)
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		l.log.Error("listener stopped", "addr", l.addr, "err", err)
	}
}

// shutdown closes the socket and drains every http.Server on it.
func (l *listener) shutdown(ctx context.Context) error {
	l.mu.Lock()
	srv := l.srv
	l.closing = true
	l.mu.Unlock()
	_ = l.ln.Close()
	l.accepting.Wait()
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
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
