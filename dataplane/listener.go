package dataplane

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/dataplane/proxy"
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

	handler atomic.Pointer[proxy.Server]

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
		l.handOff(c)
	}
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
	l.handler.Load().ServeHTTP(w, r)
}

// update points the listener at s, restarting its http.Server if the
// listener settings changed.
func (l *listener) update(name string, s *runtime.Server) {
	l.handler.Store(s.Handler)
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
	}
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
