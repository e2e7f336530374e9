package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// channels hands out one buffered channel per key, so that a backend can
// report to the test what happened to a given request.
type channels struct {
	mu sync.Mutex
	m  map[string]chan string
}

func (c *channels) get(key string) chan string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]chan string{}
	}
	ch, ok := c.m[key]
	if !ok {
		ch = make(chan string, 16)
		c.m[key] = ch
	}
	return ch
}

// next waits for the next report on key.
func (c *channels) next(t testing.TB, key string, timeout time.Duration) string {
	t.Helper()
	select {
	case s := <-c.get(key):
		return s
	case <-time.After(timeout):
		t.Fatalf("no report from the backend for %s after %s", key, timeout)
		return ""
	}
}

// wsEchoBackend echoes every WebSocket message with its type. The message
// "close-me" makes it close with 4002 "server bye". How each connection
// ended is reported under its request path: "closed CODE REASON" when the
// client closed, "server closed", or "error: ...".
func wsEchoBackend(events *channels) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			events.get(r.URL.Path) <- "accept: " + err.Error()
			return
		}
		c.SetReadLimit(4 << 20)
		ctx := context.Background()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				if ce := (websocket.CloseError{}); errors.As(err, &ce) {
					events.get(r.URL.Path) <- fmt.Sprintf("closed %d %s", ce.Code, ce.Reason)
				} else {
					events.get(r.URL.Path) <- "error: " + err.Error()
				}
				_ = c.CloseNow()
				return
			}
			if string(p) == "close-me" {
				err := c.Close(4002, "server bye")
				events.get(r.URL.Path) <- fmt.Sprintf("server closed (%v)", err)
				return
			}
			if err := c.Write(ctx, typ, p); err != nil {
				events.get(r.URL.Path) <- "error: " + err.Error()
				return
			}
		}
	})
}

// TestWebSocket checks WebSocket tunnels through the proxy, plain and over
// TLS, to a plain and to a TLS upstream: echo of text, binary and a 1 MiB message, the close handshake with a
// status code from either side, and upgrade_idle_timeout closing an idle
// tunnel but not a busy one.
func TestWebSocket(t *testing.T) {
	t.Parallel()
	var events channels
	be := startLocal(t, wsEchoBackend(&events), localOpts{})
	ca := newCA(t, "e2e ws ca")
	cert := ca.issue("ws", "ws.test")
	tlsBE := startLocal(t, wsEchoBackend(&events), localOpts{tls: tlsServerConfig(ca.issue("wsbackend", "wsbackend.test"))})
	d := newDataplane(t)
	plain, secure := freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		serverTOML("plain", plain, "ws", "idle", "wstls") +
		"[servers.secure]\naddr = " + tomlString(secure) + "\nlocations = [\"ws\", \"idle\"]\ncertificates = [\"ws\"]\n\n" +
		"[locations.ws]\npath = \"/ws/\"\nupstream = \"ws\"\n\n" +
		"[locations.idle]\npath = \"/idle/\"\nupstream = \"idle\"\n\n" +
		"[locations.wstls]\npath = \"/wstls/\"\nupstream = \"wstls\"\n\n" +
		upstreamTOML("wstls", "", tlsBE.addr) + "sni = \"wsbackend.test\"\nca_cert = " + tomlString(ca.PEM) + "\n\n" +
		upstreamTOML("ws", "", be.addr) +
		upstreamTOML("idle", "", be.addr) + "upgrade_idle_timeout = \"1s\"\n\n" +
		certTOML("ws", cert))
	d.start()

	for _, tc := range []struct {
		desc   string
		base   string
		client *http.Client
	}{
		{"plain", "ws://" + plain, newClient()},
		{"tls", "wss://" + secure, tlsClient(ca, "ws.test", false)},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dial := func(t *testing.T, path string) *websocket.Conn {
				t.Helper()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				c, resp, err := websocket.Dial(ctx, tc.base+path, &websocket.DialOptions{HTTPClient: tc.client})
				if err != nil {
					code := 0
					if resp != nil {
						code = resp.StatusCode
					}
					t.Fatalf("dial %s: %v (status %d)", path, err, code)
				}
				if resp.StatusCode != http.StatusSwitchingProtocols {
					t.Errorf("dial answered %d", resp.StatusCode)
				}
				c.SetReadLimit(4 << 20)
				t.Cleanup(func() { _ = c.CloseNow() })
				return c
			}
			roundTrip := func(t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg []byte) {
				t.Helper()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				if err := c.Write(ctx, typ, msg); err != nil {
					t.Fatalf("write %d bytes: %v", len(msg), err)
				}
				gotTyp, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read echo of %d bytes: %v", len(msg), err)
				}
				if gotTyp != typ || !bytes.Equal(got, msg) {
					t.Fatalf("echo: %s of %d bytes, want %s of %d", gotTyp, len(got), typ, len(msg))
				}
			}

			t.Run("echo and client close", func(t *testing.T) {
				path := "/ws/" + tc.desc + "/echo"
				c := dial(t, path)
				roundTrip(t, c, websocket.MessageText, []byte("hello, wörld"))
				roundTrip(t, c, websocket.MessageBinary, []byte{0, 1, 2, 0xff, 0xfe})
				roundTrip(t, c, websocket.MessageBinary, pattern(1<<20))
				roundTrip(t, c, websocket.MessageText, []byte(strings.Repeat("t", 1<<20)))
				roundTrip(t, c, websocket.MessageText, []byte("after"))
				if err := c.Close(4001, "client bye"); err != nil {
					t.Errorf("close handshake: %v", err)
				}
				if got := events.next(t, path, 10*time.Second); got != "closed 4001 client bye" {
					t.Errorf("backend saw %q, want the client's close 4001", got)
				}
			})

			t.Run("server close", func(t *testing.T) {
				path := "/ws/" + tc.desc + "/server-close"
				c := dial(t, path)
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				if err := c.Write(ctx, websocket.MessageText, []byte("close-me")); err != nil {
					t.Fatal(err)
				}
				_, _, err := c.Read(ctx)
				if code := websocket.CloseStatus(err); code != 4002 {
					t.Errorf("read after the server closed: %v, want close status 4002", err)
				}
				if ce := (websocket.CloseError{}); errors.As(err, &ce) && ce.Reason != "server bye" {
					t.Errorf("close reason %q", ce.Reason)
				}
				if got := events.next(t, path, 10*time.Second); got != "server closed (<nil>)" {
					t.Errorf("backend: %q, want a completed close handshake", got)
				}
			})

			t.Run("upgrade_idle_timeout", func(t *testing.T) {
				path := "/idle/" + tc.desc
				c := dial(t, path)
				// Busy for 2.5 timeouts: the tunnel stays.
				for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
					roundTrip(t, c, websocket.MessageText, []byte("keep me"))
					time.Sleep(200 * time.Millisecond)
				}
				// Idle: the proxy closes it.
				start := time.Now()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				_, _, err := c.Read(ctx)
				if err == nil || ctx.Err() != nil {
					t.Fatalf("idle tunnel still open after %s (read: %v)", time.Since(start), err)
				}
				t.Logf("idle tunnel closed after %s: %v", time.Since(start), err)
				if got := events.next(t, path, 10*time.Second); !strings.HasPrefix(got, "error:") && !strings.HasPrefix(got, "closed") {
					t.Errorf("backend: %q", got)
				}
			})
		})
	}

	t.Run("TLS upstream", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		path := "/wstls/echo"
		c, _, err := websocket.Dial(ctx, "ws://"+plain+path, &websocket.DialOptions{HTTPClient: newClient()})
		if err != nil {
			t.Fatalf("dial through a TLS upstream: %v", err)
		}
		defer c.CloseNow()
		c.SetReadLimit(4 << 20)
		for _, msg := range [][]byte{[]byte("over tls"), pattern(1 << 20)} {
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(ctx)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
			}
		}
		if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
			t.Errorf("close handshake: %v", err)
		}
		if got := events.next(t, path, 10*time.Second); got != "closed 1000 done" {
			t.Errorf("backend saw %q", got)
		}
	})

	t.Run("no upgrade without Connection: upgrade", func(t *testing.T) {
		// A plain GET to the WebSocket backend is an ordinary request.
		res := mustSend(t, d.client, req{url: "http://" + plain + "/ws/plain-get", header: http.Header{"Upgrade": {"websocket"}}})
		if res.Code == http.StatusSwitchingProtocols {
			t.Errorf("switched protocols without Connection: upgrade")
		}
	})
}
