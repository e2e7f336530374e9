package upstream

import (
	"context"
	"net"
)

var _ checker = (*tcpChecker)(nil)

// tcpChecker passes when a TCP connection to the target is established within
// connection_timeout; the connection is closed at once.
type tcpChecker struct {
	addr   string
	dialer net.Dialer
}

func newTCPChecker(p checkerParams) checker {
	return &tcpChecker{addr: p.addr, dialer: net.Dialer{Timeout: p.hc.ConnectionTimeout}}
}

func (c *tcpChecker) check(ctx context.Context) error {
	conn, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (c *tcpChecker) close() {}
