package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// handshake connects to addr with TLS, sending sni (none when empty) and
// offering alpn, and returns the connection state. The chain is checked
// against ca but not the name, so that a test can see which certificate the
// server picked even when it does not match.
func handshake(t testing.TB, ca *testCA, addr, sni string, mod func(*tls.Config), alpn ...string) (tls.ConnectionState, error) {
	t.Helper()
	cfg := &tls.Config{
		ServerName:         sni,
		NextProtos:         alpn,
		InsecureSkipVerify: true, // the chain is verified below, the name on purpose not
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: ca.pool, Intermediates: inter})
			return err
		},
	}
	if mod != nil {
		mod(cfg)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

// servedLabel is the common name of the certificate the server presented.
func servedLabel(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].Subject.CommonName
}

// tlsClient is an HTTP client trusting ca, sending sni, speaking HTTP/2
// when h2 is set and HTTP/1.1 otherwise.
func tlsClient(ca *testCA, sni string, h2 bool) *http.Client {
	c := newClient()
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig = ca.clientConfig(sni)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(!h2)
	tr.Protocols.SetHTTP2(h2)
	return c
}

// TestTLSTermination checks certificate selection by SNI (exact > one-level
// wildcard > default, domains overriding the certificate's names), ALPN
// (h2 and http/1.1), global_certificates, that a TLS server speaks only TLS,
// and the version and cipher settings.
func TestTLSTermination(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "tls", 1)
	ca := newCA(t, "e2e tls ca")
	exact := ca.issue("exact", "a.example.test")
	wild := ca.issue("wild", "*.example.test")
	def := ca.issue("def", "default.test")
	named := ca.issue("named", "cert-name.test")
	d := newDataplane(t)
	main, global, v13, v12 := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		"[servers.main]\naddr = " + tomlString(main) + "\nlocations = [\"all\"]\ncertificates = [\"exact\", \"wild\", \"def\", \"named\"]\n\n" +
		"[servers.global]\naddr = " + tomlString(global) + "\nlocations = [\"all\"]\nglobal_certificates = true\n\n" +
		"[servers.v13]\naddr = " + tomlString(v13) + "\nlocations = [\"all\"]\ncertificates = [\"def\"]\ntls_min_version = \"tlsv1.3\"\n\n" +
		"[servers.v12]\naddr = " + tomlString(v12) + "\nlocations = [\"all\"]\ncertificates = [\"def\"]\ntls_max_version = \"tlsv1.2\"\n" +
		"tls_cipher_list = \"ECDHE-ECDSA-AES128-GCM-SHA256\"\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0]) +
		certTOML("exact", exact) + certTOML("wild", wild) +
		certTOML("def", def, "is_default = true") +
		certTOML("named", named, `domains = ["override.test"]`))
	d.start()

	t.Run("SNI picks exact, wildcard, default", func(t *testing.T) {
		for _, tc := range []struct{ sni, want string }{
			{"a.example.test", "exact"},
			{"A.Example.Test", "exact"},
			{"b.example.test", "wild"},
			{"x.b.example.test", "def"}, // a wildcard covers one level only
			{"example.test", "def"},
			{"override.test", "named"},
			{"cert-name.test", "def"}, // domains replace the certificate's names
			{"unknown.test", "def"},
			{"", "def"}, // no SNI
		} {
			for _, addr := range []string{main, global} {
				cs, err := handshake(t, ca, addr, tc.sni, nil, "http/1.1")
				if err != nil {
					t.Errorf("%s SNI %q: handshake: %v", addr, tc.sni, err)
					continue
				}
				if got := servedLabel(cs); got != tc.want {
					t.Errorf("%s SNI %q: served certificate %q, want %q", addr, tc.sni, got, tc.want)
				}
			}
		}
	})

	t.Run("ALPN offers h2 and http/1.1", func(t *testing.T) {
		for _, tc := range []struct {
			offer []string
			want  string
		}{
			{[]string{"h2", "http/1.1"}, "h2"},
			{[]string{"http/1.1"}, "http/1.1"},
			{[]string{"h2"}, "h2"},
		} {
			cs, err := handshake(t, ca, main, "a.example.test", nil, tc.offer...)
			if err != nil {
				t.Fatalf("offer %v: %v", tc.offer, err)
			}
			if cs.NegotiatedProtocol != tc.want {
				t.Errorf("offer %v: negotiated %q, want %q", tc.offer, cs.NegotiatedProtocol, tc.want)
			}
		}
	})

	t.Run("requests over HTTP/2 and HTTP/1.1", func(t *testing.T) {
		for _, tc := range []struct {
			h2    bool
			proto string
		}{{true, "HTTP/2.0"}, {false, "HTTP/1.1"}} {
			c := tlsClient(ca, "a.example.test", tc.h2)
			resp, err := c.Get("https://" + main + "/over/tls")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.CloseIdleConnections()
			res := result{Code: resp.StatusCode, Header: resp.Header, Body: body}
			if res.Code != http.StatusOK || res.backend() != be.id(0) {
				t.Fatalf("%s: %d from %q: %s", tc.proto, res.Code, res.backend(), res.Body)
			}
			if resp.Proto != tc.proto {
				t.Errorf("client spoke %s, response is %s", tc.proto, resp.Proto)
			}
			if e := res.echo(t); e.Path != "/over/tls" || e.Host != main {
				t.Errorf("%s: backend saw path %q host %q", tc.proto, e.Path, e.Host)
			}
		}
	})

	t.Run("plain HTTP on a TLS server is not served", func(t *testing.T) {
		out := rawExchange(t, main, "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n", 5*time.Second)
		if strings.Contains(out, "X-Backend") || strings.HasPrefix(out, "HTTP/1.1 200") {
			t.Errorf("a plain HTTP request was proxied: %q", out)
		}
	})

	t.Run("tls_min_version tlsv1.3", func(t *testing.T) {
		_, err := handshake(t, ca, v13, "default.test", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 })
		if err == nil {
			t.Errorf("a TLS 1.2 client was accepted")
		}
		cs, err := handshake(t, ca, v13, "default.test", nil)
		if err != nil {
			t.Fatalf("TLS 1.3 client: %v", err)
		}
		if cs.Version != tls.VersionTLS13 {
			t.Errorf("negotiated %s", tls.VersionName(cs.Version))
		}
	})

	t.Run("tls_max_version tlsv1.2 and tls_cipher_list", func(t *testing.T) {
		cs, err := handshake(t, ca, v12, "default.test", nil)
		if err != nil {
			t.Fatalf("default client: %v", err)
		}
		if cs.Version != tls.VersionTLS12 || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			t.Errorf("negotiated %s %s, want TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256",
				tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
		}
		_, err = handshake(t, ca, v12, "default.test", func(c *tls.Config) {
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		})
		if err == nil {
			t.Errorf("a client without the configured cipher suite was accepted")
		}
		res := get(t, tlsClient(ca, "default.test", false), "https://"+v12, "", "/")
		if res.Code != http.StatusOK {
			t.Errorf("request over TLS 1.2: %d %s", res.Code, res.Body)
		}
	})
}

// TestTLSCertificateReload checks that a reload changing a certificate
// serves the new one on new handshakes while connections opened before,
// HTTP/1.1 and HTTP/2, keep working. The first certificate is inline PEM,
// the second a file path.
func TestTLSCertificateReload(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "tlsr", 1)
	ca := newCA(t, "e2e reload ca")
	v1, v2 := ca.issue("v1", "site.test"), ca.issue("v2", "site.test")
	d := newDataplane(t)
	listen := freeAddr(t)
	head := d.settings() + "[servers.main]\naddr = " + tomlString(listen) + "\nlocations = [\"all\"]\ncertificates = [\"site\"]\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0])
	d.write(head + certTOML("site", v1))
	d.start()

	// An HTTP/1.1 connection driven by hand.
	h1, err := tls.Dial("tcp", listen, ca.clientConfig("site.test", "http/1.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer h1.Close()
	br := bufio.NewReader(h1)
	roundTrip := func(path string) int {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, "https://site.test"+path, nil)
		if err := r.Write(h1); err != nil {
			t.Fatalf("writing on the old connection: %v", err)
		}
		_ = h1.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, r)
		if err != nil {
			t.Fatalf("reading on the old connection: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := roundTrip("/before"); code != http.StatusOK {
		t.Fatalf("before reload: %d", code)
	}
	if got := servedLabel(h1.ConnectionState()); got != "v1" {
		t.Fatalf("served %q, want v1", got)
	}
	// An HTTP/2 connection through a transport, reused after the reload.
	h2 := tlsClient(ca, "site.test", true)
	defer h2.CloseIdleConnections()
	if res := get(t, h2, "https://"+listen, "", "/before"); res.Code != http.StatusOK {
		t.Fatalf("h2 before reload: %d", res.Code)
	}

	prev := d.status()
	path := writeFile(t, "site-v2.pem", v2.CertPEM)
	keyPath := writeFile(t, "site-v2.key", v2.KeyPEM)
	d.write(head + "[certificates.site]\ntls_cert = " + tomlString(path) + "\ntls_key = " + tomlString(keyPath) + "\n")
	d.waitApplied(prev)

	cs, err := handshake(t, ca, listen, "site.test", nil, "http/1.1")
	if err != nil {
		t.Fatalf("new handshake after reload: %v", err)
	}
	if got := servedLabel(cs); got != "v2" {
		t.Errorf("new handshake after reload served %q, want v2", got)
	}
	if res := get(t, tlsClient(ca, "site.test", false), "https://"+listen, "", "/new"); res.Code != http.StatusOK {
		t.Errorf("new connection after reload: %d", res.Code)
	}
	if code := roundTrip("/after"); code != http.StatusOK {
		t.Errorf("HTTP/1.1 connection opened before the reload: %d after it", code)
	}
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	res := mustSend(t, h2, req{url: "https://" + listen + "/after", trace: trace})
	if res.Code != http.StatusOK {
		t.Errorf("HTTP/2 connection opened before the reload: %d after it", res.Code)
	}
	if !reused {
		t.Errorf("the HTTP/2 request after the reload did not reuse the connection opened before")
	}
}
