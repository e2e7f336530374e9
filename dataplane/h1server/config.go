package h1server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pingap-go/pingap/config"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultReadHeaderTimeout is the default Config.ReadHeaderTimeout.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is the default Config.IdleTimeout.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes is the default Config.MaxHeaderBytes.
	DefaultMaxHeaderBytes = 1 << 20
	// DefaultMaxHeaderCount is the default Config.MaxHeaderCount.
	DefaultMaxHeaderCount = config.DefaultMaxHeaderCount
)

// Config configures a Server. The zero value of every field but Handler is
// usable.
type Config struct {
	// Handler serves every request. Required: New panics when it is nil.
	Handler http.Handler

	// ReadHeaderTimeout bounds the time from the first byte of a request (or
	// from the accept of a new connection) to the end of its headers. The
	// deadline is absolute: bytes trickled by a slow client do not extend it.
	// Default (zero) 10s.
	ReadHeaderTimeout time.Duration

	// ReadTimeout bounds the time to read a whole request, body included,
	// counted from its first byte. Zero means no limit.
	ReadTimeout time.Duration

	// WriteTimeout bounds the time to write each response, counted from the
	// end of its request's headers. Zero means no limit.
	WriteTimeout time.Duration

	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection. Default (zero) 60s.
	IdleTimeout time.Duration

	// MaxHeaderBytes caps the request line and headers; a larger head gets
	// 431. Default (zero) 1 MiB.
	MaxHeaderBytes int

	// MaxHeaderCount caps the number of header fields; more get 431.
	// Default (zero) 100.
	MaxHeaderCount int

	// H2, when set, takes over a plain connection that starts with the
	// HTTP/2 prior-knowledge preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	// h2c). buffered holds the bytes already read from c (the preface and
	// whatever followed it); they must be consumed before reading c. The
	// server forgets the connection before calling H2 (it reports
	// http.StateHijacked and Shutdown does not wait for it); H2 runs on the
	// connection's goroutine. Nil: such a connection gets 505 and is closed.
	H2 func(c net.Conn, buffered []byte)

	// ErrorLog receives handler panics and accept errors. Nil: slog.Default().
	ErrorLog *slog.Logger

	// ConnState, when set, is called on every connection state change, as
	// http.Server.ConnState is.
	ConnState func(net.Conn, http.ConnState)

	// BaseContext, when set, returns the base context of the requests
	// accepted by Serve on a listener. It must not return nil. Nil:
	// context.Background(). ServeConn always uses context.Background().
	BaseContext func(net.Listener) context.Context

	// ConnContext, when set, derives the context of one connection from the
	// base context. It must not return nil.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
}

func (cfg Config) withDefaults() Config {
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxHeaderCount <= 0 {
		cfg.MaxHeaderCount = DefaultMaxHeaderCount
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = slog.Default()
	}
	return cfg
}
