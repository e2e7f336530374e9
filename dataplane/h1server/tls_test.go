package h1server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testcert"
)

func TestServeConnTLS(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || !r.TLS.HandshakeComplete {
			http.Error(w, "no TLS state", 500)
			return
		}
		fmt.Fprintf(w, "tls %s %s", r.TLS.NegotiatedProtocol, r.Proto)
	})})
	tcfg := &tls.Config{Certificates: []tls.Certificate{testcert.SelfSigned(t, "test", "localhost", "127.0.0.1").TLS}, NextProtos: []string{"http/1.1"}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(tls.Server(c, tcfg))
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}} //nolint:gosec // test cert
	defer tr.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		res, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "tls http/1.1 HTTP/1.1" {
			t.Fatalf("got %d %q", res.StatusCode, b)
		}
	}
	if err := s.Shutdown(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

type ctxKey struct{}

func TestContextsAndClose(t *testing.T) {
	t.Parallel()
	baseCtx, cancelBase := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "base"))
	defer cancelBase()
	entered := make(chan context.Context, 1)
	s, addr := startServer(t, Config{
		BaseContext: func(net.Listener) context.Context { return baseCtx },
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, ctx.Value(ctxKey{}).(string)+"+conn")
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- r.Context()
			<-r.Context().Done()
		}),
	})
	c, br := dialRaw(t, addr)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ctx := <-entered
	if v := ctx.Value(ctxKey{}); v != "base+conn" {
		t.Fatalf("context value %v", v)
	}
	// A cancelable base context cancels the request's context.
	cancelBase()
	<-ctx.Done()
	readResponse(t, br, "GET")
	// Close ends everything at once.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection open after Close")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("listener open after Close")
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
