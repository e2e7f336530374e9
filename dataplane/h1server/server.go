package h1server

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer pools shared by all servers: 4 KiB per connection each way.
var (
	readerPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
	pendingPool = sync.Pool{New: func() any { return new([bufferBeforeCommit]byte) }}
)

// Server serves HTTP/1.1 on the connections it accepts or is given.
type Server struct {
	cfg Config

	inShutdown atomic.Bool
	mu         sync.Mutex
	listeners  map[*net.Listener]struct{}
	conns      map[*conn]struct{}
}

// New returns a Server for cfg, with defaults applied to its zero fields.
// It panics when cfg.Handler is nil.
func New(cfg Config) *Server {
	if cfg.Handler == nil {
		panic("h1server: Config.Handler is nil")
	}
	return &Server{
		cfg:       cfg.withDefaults(),
		listeners: make(map[*net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}
}

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

// Serve accepts connections on l and serves each on its own goroutine. It
// returns http.ErrServerClosed after Shutdown or Close, or the listener's
// error. Transient accept errors (out of file descriptors, aborted
// connections) are logged and retried with backoff.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(&l, true) {
		return http.ErrServerClosed
	}
	defer s.trackListener(&l, false)
	base := context.Background()
	if s.cfg.BaseContext != nil {
		if base = s.cfg.BaseContext(l); base == nil {
			panic("h1server: BaseContext returned a nil context")
		}
	}
	var delay time.Duration
	for {
		rwc, err := l.Accept()
		if err != nil {
			if s.shuttingDown() {
				return http.ErrServerClosed
			}
			if !transientAccept(err) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.cfg.ErrorLog.Warn("h1server: accept error; retrying", "error", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := s.newConn(base, rwc)
		if c == nil {
			continue
		}
		go c.serve()
	}
}

func transientAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

// ServeConn serves one accepted connection (for example a *tls.Conn whose
// ALPN chose http/1.1) and returns when it is closed, hijacked or handed to
// Config.H2. After Shutdown or Close it closes c at once.
func (s *Server) ServeConn(c net.Conn) {
	if cc := s.newConn(context.Background(), c); cc != nil {
		cc.serve()
	}
}

func (s *Server) newConn(base context.Context, rwc net.Conn) *conn {
	ctx := context.WithValue(base, http.LocalAddrContextKey, rwc.LocalAddr())
	if s.cfg.ConnContext != nil {
		if ctx = s.cfg.ConnContext(ctx, rwc); ctx == nil {
			panic("h1server: ConnContext returned a nil context")
		}
	}
	c := &conn{srv: s, rwc: rwc, ctx: ctx, ctxCancelable: ctx.Done() != nil}
	c.resp.c = c
	if ra := rwc.RemoteAddr(); ra != nil {
		c.remoteAddr = ra.String()
	}
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		_ = rwc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.setState(http.StateNew, time.Now())
	return c
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shuttingDown() {
			return false
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) closeListenersLocked() error {
	var err error
	for l := range s.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Shutdown stops accepting, closes idle connections and waits for the
// active ones to finish their current request (their responses carry
// "Connection: close"), polling with backoff. A connection that has sent no
// byte for 5s counts as idle. It returns the listeners' close error, or
// ctx's error if ctx ends first (connections still active stay open; call
// Close to end them).
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	s.mu.Unlock()
	interval := time.Millisecond
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		if s.closeIdleConns() {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			// Back off up to 500ms, with 10% jitter.
			interval = min(2*interval, 500*time.Millisecond)
			timer.Reset(interval + time.Duration(rand.Int64N(int64(interval/10)+1)))
		}
	}
}

// closeIdleConns closes idle connections and reports whether none is left.
func (s *Server) closeIdleConns() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	quiescent := true
	now := time.Now().Unix()
	for c := range s.conns {
		if c.tryCloseIdle(now) {
			delete(s.conns, c)
		} else {
			quiescent = false
		}
	}
	return quiescent
}

// Close closes the listeners and every connection at once. Active handlers
// see their writes fail. It returns the listeners' close error.
func (s *Server) Close() error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.state.Store(packState(stateClosing, 0))
		_ = c.rwc.Close()
		delete(s.conns, c)
	}
	return err
}
