package upstream

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var _ checker = (*grpcChecker)(nil)

// grpcChecker calls grpc.health.v1.Health/Check with the check's service and
// passes when the answer is SERVING. It speaks h2c unless the upstream uses
// TLS; the :authority is the check URL's host. With reuse=true one
// connection is kept (reconnecting with a backoff of at most
// check_frequency); otherwise every probe connects anew.
type grpcChecker struct {
	hc    *HealthCheck
	addr  string
	creds credentials.TransportCredentials

	mu   sync.Mutex
	conn *grpc.ClientConn // the reused connection
}

func newGRPCChecker(p checkerParams) checker {
	creds := insecure.NewCredentials()
	if p.tls != nil {
		cfg := p.tls.Clone()
		cfg.ServerName = ""
		creds = serverNameCreds{TransportCredentials: credentials.NewTLS(cfg), serverName: p.tls.ServerName}
	}
	return &grpcChecker{hc: p.hc, addr: p.addr, creds: creds}
}

// serverNameCreds is gRPC's TLS credentials with a server name of its own:
// gRPC verifies (and sends as SNI) the :authority, but a check's :authority
// is the check URL's host, while the TLS name is the upstream's sni or the
// target's host, as for the upstream's traffic.
type serverNameCreds struct {
	credentials.TransportCredentials
	serverName string
}

func (c serverNameCreds) ClientHandshake(ctx context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.TransportCredentials.ClientHandshake(ctx, c.serverName, conn)
}

func (c serverNameCreds) Clone() credentials.TransportCredentials {
	return serverNameCreds{TransportCredentials: c.TransportCredentials.Clone(), serverName: c.serverName}
}

func (c *grpcChecker) check(ctx context.Context) error {
	conn, err := c.connection()
	if err != nil {
		return err
	}
	if !c.hc.Reuse {
		defer func() { _ = conn.Close() }()
	}
	ctx, cancel := context.WithTimeout(ctx, c.hc.ConnectionTimeout+c.hc.ReadTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: c.hc.Service})
	if err != nil {
		return err
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", s)
	}
	return nil
}

// connection returns the reused connection, or a new one for this probe.
func (c *grpcChecker) connection() (*grpc.ClientConn, error) {
	if !c.hc.Reuse {
		return c.dial()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := c.dial()
		if err != nil {
			return nil, err
		}
		c.conn = conn
	}
	return c.conn, nil
}

// dial creates a client connection; it connects on first use.
func (c *grpcChecker) dial() (*grpc.ClientConn, error) {
	dialer := &net.Dialer{Timeout: c.hc.ConnectionTimeout}
	bo := backoff.DefaultConfig
	bo.BaseDelay = min(bo.BaseDelay, c.hc.CheckFrequency)
	bo.MaxDelay = c.hc.CheckFrequency
	return grpc.NewClient("passthrough:///"+c.addr,
		grpc.WithTransportCredentials(c.creds),
		grpc.WithAuthority(c.hc.Host),
		grpc.WithUserAgent(checkUserAgent),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           bo,
			MinConnectTimeout: c.hc.ConnectionTimeout,
		}),
	)
}

func (c *grpcChecker) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}
