package upstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
)

var _ checker = (*httpChecker)(nil)

// maxCheckBody is how much of a check response's body is read (so that a
// reused connection can carry the next probe); the rest is dropped with the
// connection.
const maxCheckBody = 64 << 10

// checkUserAgent is the User-Agent of HTTP health checks.
const checkUserAgent = "pingap-health-check"

// httpChecker sends GET path to the target (with TLS for https) and passes on
// a 2xx or 3xx answer; redirects are not followed. The Host header is the
// check URL's host. Connecting is bounded by connection_timeout, the wait
// for the response headers by read_timeout, and the whole probe by both.
type httpChecker struct {
	hc        *HealthCheck
	url       string
	transport *http.Transport
}

func newHTTPChecker(p checkerParams) checker {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &httpChecker{
		hc:  p.hc,
		url: p.hc.Scheme + "://" + p.addr + p.hc.Path,
		transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: p.hc.ConnectionTimeout}).DialContext,
			TLSClientConfig:       p.tls,
			TLSHandshakeTimeout:   p.hc.ConnectionTimeout,
			Protocols:             &protocols,
			DisableKeepAlives:     !p.hc.Reuse,
			MaxIdleConnsPerHost:   1,
			ResponseHeaderTimeout: p.hc.ReadTimeout,
			DisableCompression:    true,
		},
	}
}

func (c *httpChecker) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.hc.ConnectionTimeout+c.hc.ReadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, http.NoBody)
	if err != nil {
		return err
	}
	req.Host = c.hc.Host
	req.Header.Set("User-Agent", checkUserAgent)
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckBody))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (c *httpChecker) close() { c.transport.CloseIdleConnections() }
