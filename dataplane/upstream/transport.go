package upstream

import (
	"context"
	"net"
	"net/http"
	"time"
)

// tcpKeepAlive is the idle time before TCP keep-alive probes on connections
// to targets.
const tcpKeepAlive = 30 * time.Second

// transportConfig is the parsed transport part of an Upstream config.
type transportConfig struct {
	connect, read, idle, write time.Duration
	poolSize                   int
}

// newTransport returns a plain HTTP/1.1 keep-alive transport for one
// upstream.
func newTransport(c transportConfig) *http.Transport {
	dialer := &net.Dialer{Timeout: c.connect, KeepAlive: tcpKeepAlive}
	dial := dialer.DialContext
	if c.write > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &writeDeadlineConn{Conn: conn, timeout: c.write}, nil
		}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     false,
		Protocols:             &protocols,
		MaxIdleConns:          0, // no limit across targets
		MaxIdleConnsPerHost:   c.poolSize,
		IdleConnTimeout:       c.idle,
		ResponseHeaderTimeout: c.read,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// writeDeadlineConn sets a write deadline before each Write, so a target that
// stops reading the request fails the write after timeout.
type writeDeadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *writeDeadlineConn) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
