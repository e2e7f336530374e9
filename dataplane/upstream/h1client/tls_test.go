package h1client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.TLS.ServerName)
	}))
	srv.EnableHTTP2 = true // the client must still get HTTP/1.1
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	host := strings.TrimPrefix(srv.URL, "https://")

	c := New(Options{TLSConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}}})
	for range 5 {
		resp, body := do(t, c, newRequest(t, "GET", "https://"+host+"/", nil))
		// httptest's certificate is for 127.0.0.1 and example.com; the
		// target's host is used as ServerName, and an IP sends no SNI.
		// The server offers only h2, which the client does not ask for.
		if body != "HTTP/1.1 " || resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" {
			t.Fatalf("body %q, TLS %+v", body, resp.TLS)
		}
	}
	if st := c.Stats(); st.Dials != 1 || st.Reuses != 4 {
		t.Fatalf("stats = %+v, want 1 dial and 4 reuses", st)
	}

	// An explicit ServerName is sent and verified.
	c2 := New(Options{TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
	if _, body := do(t, c2, newRequest(t, "GET", "https://"+host+"/", nil)); body != "HTTP/1.1 example.com" {
		t.Fatalf("body %q", body)
	}

	// An untrusted certificate fails the dial, before anything is sent.
	c3 := New(Options{TLSConfig: &tls.Config{}})
	_, err := c3.RoundTrip(newRequest(t, "GET", "https://"+host+"/", nil))
	var e *Error
	if !errors.As(err, &e) || e.Op != OpDial || e.Sent {
		t.Fatalf("err = %v, want a dial error", err)
	}
}
