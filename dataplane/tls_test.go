package dataplane

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testcert"
)

// certTOML renders a [certificates.NAME] table with l inline.
func certTOML(name string, l *testcert.Leaf, isDefault bool) string {
	return fmt.Sprintf("[certificates.%s]\ntls_cert = '''\n%s'''\ntls_key = '''\n%s'''\nis_default = %v\n",
		name, l.CertPEM, l.KeyPEM, isDefault)
}

// handshake connects with SNI and returns the served certificate's CN and
// the negotiated protocol.
func handshake(t *testing.T, addr, sni string, protos ...string) (string, string) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: protos})
	if err != nil {
		t.Fatalf("TLS dial %s (SNI %q): %v", addr, sni, err)
	}
	defer c.Close()
	st := c.ConnectionState()
	return st.PeerCertificates[0].Subject.CommonName, st.NegotiatedProtocol
}

func TestTLSSNIAndHTTP2(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	a := testcert.SelfSigned(t, "a", "a.example.com")
	wild := testcert.SelfSigned(t, "wild", "*.example.org")
	def := testcert.SelfSigned(t, "default", "default.test")
	cfg := oneServer(addr, be, "/") + "certificates = [\"a\", \"wild\", \"def\"]\n" +
		certTOML("a", a, false) + certTOML("wild", wild, false) + certTOML("def", def, true)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ sni, want string }{
		{"a.example.com", "a"},
		{"A.Example.com", "a"},
		{"x.example.org", "wild"},
		{"example.org", "default"},
		{"other.test", "default"},
		{"", "default"},
	} {
		if got, _ := handshake(t, addr, tt.sni); got != tt.want {
			t.Errorf("SNI %q served %q, want %q", tt.sni, got, tt.want)
		}
	}
	if _, proto := handshake(t, addr, "a.example.com", "h2", "http/1.1"); proto != "h2" {
		t.Errorf("ALPN chose %q, want h2", proto)
	}
	// A real HTTP/2 request through the TLS listener.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "one /h2" {
		t.Fatalf("HTTP/2 over TLS: proto %s body %q", resp.Proto, b)
	}

	// Reload with a new certificate for a.example.com: an open connection
	// keeps working, new handshakes get the new certificate.
	keep, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "a.example.com", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	a2 := testcert.SelfSigned(t, "a-renewed", "a.example.com")
	cfg2 := strings.Replace(cfg, certTOML("a", a, false), certTOML("a", a2, false), 1)
	if err := dp.Apply(snapshot(t, cfg2)); err != nil {
		t.Fatal(err)
	}
	if got, _ := handshake(t, addr, "a.example.com"); got != "a-renewed" {
		t.Errorf("after reload SNI a.example.com served %q, want a-renewed", got)
	}
	if _, err := io.WriteString(keep, "GET /old HTTP/1.1\r\nHost: a.example.com\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(keep), nil)
	if err != nil {
		t.Fatalf("connection opened before the reload: %v", err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "one /old" {
		t.Fatalf("old connection after reload: %q", b)
	}
}

func TestH2CPriorKnowledge(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/")+"enabled_h2 = true\n")); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/c")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "one /c" {
		t.Fatalf("h2c: proto %s body %q", resp.Proto, b)
	}
	// HTTP/1.1 still works on the same listener.
	if code, body := get(t, "http://"+addr+"/d"); code != 200 || body != "one /d" {
		t.Fatalf("HTTP/1.1 next to h2c: %d %q", code, body)
	}
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/")+"max_connections = 2\n")); err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A request proves the connection was admitted and is held open.
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("admitted connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v %v, want a 503 refusal", resp, err)
	}
	// Closing one admitted connection frees a slot.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		resp, err := client.Get("http://" + addr + "/again")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not released: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRefusalIsWellFormed(t *testing.T) {
	t.Parallel()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(refusal)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != refusalBody || resp.ContentLength != int64(len(refusalBody)) {
		t.Fatalf("refusal body %q (%v), Content-Length %d, want %q", b, err, resp.ContentLength, refusalBody)
	}
}
