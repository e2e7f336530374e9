package h1client

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultDialTimeout           = 10 * time.Second
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultIdleTimeout           = 90 * time.Second
	DefaultMaxIdlePerTarget      = 128
)

// tcpKeepAlive is the idle time before TCP keep-alive probes on connections
// made by the default dialer.
const tcpKeepAlive = 30 * time.Second

// Options configures a [Client]. The zero value is usable: every field says
// its default.
type Options struct {
	// DialTimeout bounds connecting to a target, TLS handshake included.
	// Zero means DefaultDialTimeout (10s).
	DialTimeout time.Duration

	// ResponseHeaderTimeout bounds the time from the request being fully
	// written to the response headers being read. Zero means
	// DefaultResponseHeaderTimeout (60s).
	ResponseHeaderTimeout time.Duration

	// IdleTimeout is how long a connection may sit unused in the pool
	// before it is closed. Zero means DefaultIdleTimeout (90s).
	IdleTimeout time.Duration

	// WriteTimeout bounds each write to a connection. Zero means no limit.
	WriteTimeout time.Duration

	// MaxIdlePerTarget caps the idle connections kept per target address.
	// Zero means DefaultMaxIdlePerTarget (128); a negative value keeps none.
	MaxIdlePerTarget int

	// MaxConnsPerTarget caps the connections (idle, busy and being dialed)
	// per target address. When it is reached RoundTrip waits, as long as the
	// request context allows, for one to be freed. Zero means no limit.
	MaxConnsPerTarget int

	// TLSConfig, when set, makes the client speak TLS to every target. If
	// its ServerName is empty, the host of the target address is used. Its
	// NextProtos is replaced by "http/1.1". Nil means plain TCP.
	TLSConfig *tls.Config

	// Dialer opens connections. Nil means a net.Dialer with DialTimeout and
	// TCP keep-alive probes every 30s.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns o with zero values replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxIdlePerTarget == 0 {
		o.MaxIdlePerTarget = DefaultMaxIdlePerTarget
	} else if o.MaxIdlePerTarget < 0 {
		o.MaxIdlePerTarget = 0
	}
	if o.MaxConnsPerTarget < 0 {
		o.MaxConnsPerTarget = 0
	}
	if o.Dialer == nil {
		d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: tcpKeepAlive}
		o.Dialer = d.DialContext
	}
	return o
}
