package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pingap-go/pingap/dataplane/h1server"
	"github.com/pingap-go/pingap/dataplane/runtime"
)

// engine serves one listener's connections with one set of listener
// settings: HTTP/1.x with our strict h1server, HTTP/2 (over TLS by ALPN, or
// h2c with prior knowledge) with net/http's server. A settings change builds
// a new engine; the old one drains.
type engine struct {
	settings runtime.ListenerSettings
	h1       *h1server.Server
	h1q      *connQueue
	h2       *http.Server // nil when the listener speaks no HTTP/2
	h2q      *connQueue
	log      *slog.Logger
}

func newEngine(addr net.Addr, s runtime.ListenerSettings, handler http.Handler, log *slog.Logger) *engine {
	e := &engine{settings: s, h1q: newConnQueue(addr), log: log}
	if s.TLS || s.H2C {
		e.h2q = newConnQueue(addr)
		e.h2 = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: s.ReadHeaderTimeout,
			ReadTimeout:       s.ReadTimeout,
			WriteTimeout:      s.WriteTimeout,
			IdleTimeout:       s.IdleTimeout,
			MaxHeaderBytes:    s.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
			Protocols:         new(http.Protocols),
		}
		e.h2.Protocols.SetHTTP2(s.TLS)
		e.h2.Protocols.SetUnencryptedHTTP2(s.H2C)
	}
	cfg := h1server.Config{
		Handler:           handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		MaxHeaderCount:    s.MaxHeaderCount,
		ErrorLog:          log,
	}
	if s.H2C {
		cfg.H2 = func(c net.Conn, buffered []byte) {
			e.handTo(e.h2q, &prefixConn{Conn: c, prefix: buffered})
		}
	}
	e.h1 = h1server.New(cfg)
	return e
}

// start runs the engine's servers on their queues.
func (e *engine) start() {
	go e.serve("http/1.1", func() error { return e.h1.Serve(e.h1q) })
	if e.h2 != nil {
		go e.serve("http/2", func() error { return e.h2.Serve(e.h2q) })
	}
}

func (e *engine) serve(proto string, run func() error) {
	if err := run(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		e.log.Error("server stopped", "protocol", proto, "err", err)
	}
}

// handle serves an admitted connection; it reports false when the engine is
// retired and the connection should go to the next one.
func (e *engine) handle(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		select {
		case <-e.h1q.done:
			return false
		default:
		}
		go e.handshake(tc)
		return true
	}
	return e.offer(e.h1q, c)
}

// handshake completes TLS and hands the connection to the server its ALPN
// chose.
func (e *engine) handshake(c *tls.Conn) {
	timeout := e.settings.ReadHeaderTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := c.HandshakeContext(ctx)
	cancel()
	if err != nil {
		e.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		_ = c.Close()
		return
	}
	if c.ConnectionState().NegotiatedProtocol == "h2" && e.h2q != nil {
		e.handTo(e.h2q, c)
		return
	}
	e.h1.ServeConn(c)
}

// offer queues c for a server; false when the queue is closed.
func (e *engine) offer(q *connQueue, c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

// handTo queues c or, if the engine is retired meanwhile, closes it.
func (e *engine) handTo(q *connQueue, c net.Conn) {
	if !e.offer(q, c) {
		_ = c.Close()
	}
}

// retire stops accepting new connections.
func (e *engine) retire() {
	_ = e.h1q.Close()
	if e.h2q != nil {
		_ = e.h2q.Close()
	}
}

// shutdown retires the engine and waits for its connections, until ctx.
func (e *engine) shutdown(ctx context.Context) error {
	e.retire()
	errs := make(chan error, 2)
	go func() { errs <- e.h1.Shutdown(ctx) }()
	if e.h2 != nil {
		go func() { errs <- e.h2.Shutdown(ctx) }()
	} else {
		errs <- nil
	}
	err := errors.Join(<-errs, <-errs)
	if err != nil {
		_ = e.h1.Close()
		if e.h2 != nil {
			_ = e.h2.Close()
		}
	}
	return err
}

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
