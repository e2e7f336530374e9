package testbackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ShutdownTimeout is how long Serve waits for in-flight requests once its
// context is done before it closes their connections.
const ShutdownTimeout = 5 * time.Second

// ParseAddrs splits a comma-separated --listen value into addresses.
func ParseAddrs(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("testbackend: invalid listen address %q: %w", a, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("testbackend: no listen address")
	}
	return out, nil
}

// Serve binds every address (port 0 picks a free port), writes one line
// "listening on ADDR" to out per bound listener, with the address actually
// bound, and serves New(name) on each until ctx is done. Then it stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout and
// returns nil. It returns an error, having bound nothing, when any address
// cannot be bound.
func Serve(ctx context.Context, name string, addrs []string, out io.Writer) error {
	var lc net.ListenConfig
	lns := make([]net.Listener, 0, len(addrs))
	for _, a := range addrs {
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return fmt.Errorf("testbackend: listen %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	servers := make([]*http.Server, len(lns))
	for i, ln := range lns {
		addr := ln.Addr().String()
		servers[i] = &http.Server{
			Handler:           NewWithAddr(name, addr),
			ReadHeaderTimeout: 10 * time.Second,
		}
	}
	errc := make(chan error, len(lns))
	var wg sync.WaitGroup
	for i, ln := range lns {
		wg.Go(func() {
			if err := servers[i].Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("testbackend: serve %s: %w", ln.Addr(), err)
			}
		})
	}
	for _, ln := range lns {
		if _, err := fmt.Fprintf(out, "listening on %s\n", ln.Addr()); err != nil {
			shutdown(servers)
			wg.Wait()
			return fmt.Errorf("testbackend: %w", err)
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdown(servers)
	wg.Wait()
	return serveErr
}

// shutdown stops every server gracefully, then forcibly after
// ShutdownTimeout.
func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			if err := s.Shutdown(ctx); err != nil {
				_ = s.Close()
			}
		})
	}
	wg.Wait()
}
