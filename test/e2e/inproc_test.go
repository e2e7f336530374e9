package e2e

// In-process backends: real servers on loopback listeners inside the test
// process, for what the testbackend binary does not do (TLS, h2c, WebSocket,
// SSE, gRPC) and where a test must observe what reached the backend.

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// localBackend is an http.Server in the test process.
type localBackend struct {
	addr string
	srv  *http.Server
	// requests counts the requests that reached the handler.
	requests atomic.Int64
}

// localOpts are the options of startLocal.
type localOpts struct {
	// addr is the address to listen on; empty picks a free loopback port.
	addr string
	// tls serves TLS with this config (HTTP/2 and HTTP/1.1 by ALPN).
	tls *tls.Config
	// h2c accepts HTTP/2 with prior knowledge next to HTTP/1.1.
	h2c bool
}

// startLocal serves h on a loopback listener until the test ends.
func startLocal(t testing.TB, h http.Handler, o localOpts) *localBackend {
	t.Helper()
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &localBackend{addr: ln.Addr().String()}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.requests.Add(1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         new(http.Protocols),
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	b.srv.Protocols.SetHTTP1(true)
	b.srv.Protocols.SetUnencryptedHTTP2(o.h2c)
	if o.tls != nil {
		b.srv.Protocols.SetHTTP2(true)
		cfg := o.tls.Clone()
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		ln = tls.NewListener(ln, cfg)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("local backend %s: %v", b.addr, err)
		}
	}()
	t.Cleanup(func() {
		_ = b.srv.Close()
		<-done
	})
	return b
}

// protoEcho answers what the backend saw of the connection as JSON: the
// protocol, whether TLS was used and the SNI.
type protoEcho struct {
	Proto      string `json:"proto"`
	TLS        bool   `json:"tls"`
	ServerName string `json:"server_name"`
	Path       string `json:"path"`
	Host       string `json:"host"`
}

func protoEchoHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	e := protoEcho{Proto: r.Proto, TLS: r.TLS != nil, Path: r.URL.Path, Host: r.Host}
	if r.TLS != nil {
		e.ServerName = r.TLS.ServerName
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e)
}

func decodeProtoEcho(t testing.TB, res result) protoEcho {
	t.Helper()
	var e protoEcho
	if res.Code != http.StatusOK || json.Unmarshal(res.Body, &e) != nil {
		t.Fatalf("want 200 with the backend's protocol echo, got %d %q", res.Code, res.Body)
	}
	return e
}

// rawExchange writes raw to a new connection to addr and returns everything
// read until the server closes or timeout passes.
func rawExchange(t testing.TB, addr, raw string, timeout time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("writing request: %v", err)
	}
	var sb strings.Builder
	_, _ = io.Copy(&sb, c)
	return sb.String()
}
