package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func wsEcho(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(4 << 20)
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestWebSocketThroughProxy(t *testing.T) {
	t.Parallel()
	ps := proxyFor(t, wsEcho(t), &pb.Location{}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ps.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial through proxy: %v (%v)", err, resp)
	}
	defer c.CloseNow()
	c.SetReadLimit(4 << 20)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, m := range []struct {
		typ  websocket.MessageType
		data []byte
	}{{websocket.MessageText, []byte("hello")}, {websocket.MessageBinary, []byte{0, 1, 2, 255}}, {websocket.MessageBinary, big}} {
		if err := c.Write(ctx, m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("echo of %d bytes (%v): got %d bytes (%v)", len(m.data), m.typ, len(got), typ)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close handshake: %v", err)
	}
}

func TestUpgradeIdleTimeout(t *testing.T) {
	t.Parallel()
	ps := proxyFor(t, wsEcho(t), &pb.Location{}, nil,
		&pb.Upstream{UpgradeIdleTimeout: durationpb.New(300 * time.Millisecond)})
	conn, err := net.Dial("tcp", ps.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// Say nothing: the tunnel must be closed for idleness.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = br.ReadByte()
	if err == nil {
		t.Fatal("read a byte from an idle tunnel")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("idle tunnel still open after %v", time.Since(start))
	}
}

func TestGRPCErrorsAreGRPCStatus(t *testing.T) {
	t.Parallel()
	ps := proxyFor(t, "127.0.0.1:1", &pb.Location{Host: "grpc.example"}, nil, nil)
	for _, tt := range []struct {
		host, status string
	}{
		{"other.example", "12"}, // no route: UNIMPLEMENTED
		{"grpc.example", "14"},  // target refused: UNAVAILABLE
	} {
		req, _ := http.NewRequest("POST", ps.URL+"/pkg.Svc/Method", strings.NewReader("\x00\x00\x00\x00\x00"))
		req.Host = tt.host
		req.Header.Set("Content-Type", "application/grpc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != tt.status || len(b) != 0 ||
			resp.Header.Get("Content-Type") != "application/grpc" {
			t.Errorf("host %s: status %d grpc-status %q body %q, want 200 with grpc-status %s",
				tt.host, resp.StatusCode, resp.Header.Get("Grpc-Status"), b, tt.status)
		}
	}
}

func TestHeaderCountLimit(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{}, nil, nil)
	req, _ := http.NewRequest("GET", ps.URL+"/", nil)
	for i := 0; i < DefaultMaxHeaderCount+1; i++ {
		req.Header.Add("X-Many", "v")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

func TestReadBodyTimeout(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyForServer(t, be.Listener.Addr().String(), &pb.Location{},
		&pb.Server{ReadBodyTimeout: durationpb.New(300 * time.Millisecond)})
	conn, err := net.Dial("tcp", ps.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Promise 100 bytes, send 5, then stall.
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}
