package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/upstream/h1client"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// tcpKeepAlive is the idle time before TCP keep-alive probes on connections
// to targets.
const tcpKeepAlive = 30 * time.Second

// transportConfig is the parsed transport part of an Upstream config.
type transportConfig struct {
	connect, read, idle, write time.Duration
	poolSize                   int
	maxConns                   int         // per target; 0 is no limit
	alpn                       string      // config.ALPNH1, ALPNH2, ALPNH2C or ALPNH2H1
	tls                        *tls.Config // nil for plain TCP
}

// roundTripper is what the proxy forwards with; CloseIdleConnections lets
// Close release pooled connections.
type roundTripper interface {
	http.RoundTripper
	CloseIdleConnections()
}

// upstreamClientTLS is the TLS client config for an upstream's traffic, nil
// when it speaks plain TCP. The target's certificate is verified unless
// verify_cert is false.
func upstreamClientTLS(prefix string, cfg *pb.Upstream, alpn string) (*tls.Config, error) {
	if !config.UpstreamTLS(cfg) {
		return nil, nil
	}
	c, err := clientTLS(prefix, cfg, cfg.VerifyCert == nil || cfg.GetVerifyCert())
	if err != nil {
		return nil, err
	}
	switch alpn {
	case config.ALPNH2:
		c.NextProtos = []string{"h2"}
	case config.ALPNH2H1:
		c.NextProtos = []string{"h2", "http/1.1"}
	default:
		c.NextProtos = []string{"http/1.1"}
	}
	return c, nil
}

// clientTLS is the TLS client config of connections to an upstream's
// targets, for its traffic and its health checks: TLS 1.2 at least, the
// roots of ca_cert (else the system's), ServerName sni (empty: the caller
// or the transport uses the target's host). verify says whether the
// target's certificate is checked.
func clientTLS(prefix string, cfg *pb.Upstream, verify bool) (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         cfg.GetSni(),
		InsecureSkipVerify: !verify, //nolint:gosec // the operator's verify_cert
		MinVersion:         tls.VersionTLS12,
	}
	if ca := cfg.GetCaCert(); ca != "" {
		roots, err := config.LoadCertPool(ca)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_cert: %w", prefix, err)
		}
		c.RootCAs = roots
	}
	return c, nil
}

// newTransport returns the keep-alive transport for one upstream, speaking
// the protocol its alpn and tls settings ask for.
func newTransport(c transportConfig) roundTripper {
	if c.alpn == config.ALPNH1 {
		// HTTP/1.1, plain or TLS: the synchronous client, which does the
		// round trip on the caller's goroutine (see DESIGN.md).
		return h1client.New(h1client.Options{
			DialTimeout:           c.connect,
			ResponseHeaderTimeout: c.read,
			IdleTimeout:           c.idle,
			WriteTimeout:          c.write,
			MaxIdlePerTarget:      c.poolSize,
			MaxConnsPerTarget:     c.maxConns,
			TLSConfig:             c.tls,
		})
	}
	return newStdTransport(c)
}

// newStdTransport is net/http's transport, for HTTP/2 (h2, h2c, h2h1).
func newStdTransport(c transportConfig) roundTripper {
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
	switch c.alpn {
	case config.ALPNH2:
		protocols.SetHTTP2(true)
	case config.ALPNH2C:
		protocols.SetUnencryptedHTTP2(true)
	case config.ALPNH2H1:
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(true)
	default:
		protocols.SetHTTP1(true)
	}
	return &http.Transport{
		TLSClientConfig:       c.tls,
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     false,
		Protocols:             &protocols,
		MaxIdleConns:          0, // no limit across targets
		MaxIdleConnsPerHost:   c.poolSize,
		MaxConnsPerHost:       c.maxConns,
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
