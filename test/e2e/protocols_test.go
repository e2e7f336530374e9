package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// h2cClient speaks HTTP/2 with prior knowledge to http:// URLs.
func h2cClient() *http.Client {
	c := newClient()
	tr := c.Transport.(*http.Transport)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return c
}

// TestH2C checks enabled_h2 on a plain server: HTTP/2 with prior knowledge
// next to HTTP/1.1; a server without it does not speak HTTP/2.
func TestH2C(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "h2c", 1)
	d := newDataplane(t)
	on, off := freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		"[servers.on]\naddr = " + tomlString(on) + "\nlocations = [\"all\"]\nenabled_h2 = true\n\n" +
		serverTOML("off", off, "all") +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0]))
	d.start()

	for _, tc := range []struct {
		desc   string
		client *http.Client
		proto  string
	}{
		{"HTTP/2 prior knowledge", h2cClient(), "HTTP/2.0"},
		{"HTTP/1.1", newClient(), "HTTP/1.1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			defer tc.client.CloseIdleConnections()
			body := strings.Repeat("b", 100<<10)
			resp, err := tc.client.Post("http://"+on+"/echo", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != be.id(0) {
				t.Fatalf("%d from %q", resp.StatusCode, resp.Header.Get("X-Backend"))
			}
			if resp.Proto != tc.proto {
				t.Errorf("response over %s, want %s", resp.Proto, tc.proto)
			}
			if string(got) != body {
				t.Errorf("echoed %d bytes, want %d", len(got), len(body))
			}
		})
	}

	t.Run("without enabled_h2 no HTTP/2", func(t *testing.T) {
		c := h2cClient()
		defer c.CloseIdleConnections()
		resp, err := c.Get("http://" + off + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Proto == "HTTP/2.0" && resp.StatusCode == http.StatusOK {
				t.Errorf("a server without enabled_h2 answered HTTP/2 prior knowledge: %s %d", resp.Proto, resp.StatusCode)
			}
		}
		if res := get(t, d.client, "http://"+off, "", "/"); res.Code != http.StatusOK {
			t.Errorf("HTTP/1.1: %d", res.Code)
		}
	})
}

// TestUpstreamProtocols checks the protocols spoken to targets: alpn h2c
// and h2, tls and sni, certificate verification with ca_cert (inline and as
// a file) and verify_cert = false.
func TestUpstreamProtocols(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "e2e upstream ca")
	other := newCA(t, "e2e untrusted ca")
	// The trusted backend's certificate names backend.test and 127.0.0.1.
	trusted := ca.issue("trusted", "backend.test", "127.0.0.1")
	untrusted := other.issue("untrusted", "backend.test", "127.0.0.1")
	handler := http.HandlerFunc(protoEchoHandler)
	h2c := startLocal(t, handler, localOpts{h2c: true})
	tlsBE := startLocal(t, handler, localOpts{tls: tlsServerConfig(trusted)})
	badBE := startLocal(t, handler, localOpts{tls: tlsServerConfig(untrusted)})
	caFile := writeFile(t, "ca.pem", ca.PEM)

	d := newDataplane(t)
	listen := freeAddr(t)
	ups := []struct {
		name  string
		addr  string
		extra string
	}{
		{"h2c", h2c.addr, `alpn = "h2c"`},
		{"h1", h2c.addr, ``},
		{"h2", tlsBE.addr, "alpn = \"h2\"\nsni = \"backend.test\"\nca_cert = " + tomlString(ca.PEM)},
		{"h2h1", tlsBE.addr, "alpn = \"h2h1\"\nca_cert = " + tomlString(caFile)},
		{"tls", tlsBE.addr, "tls = true\nca_cert = " + tomlString(caFile)},
		{"sni", tlsBE.addr, "sni = \"backend.test\"\nca_cert = " + tomlString(ca.PEM)},
		{"wrongsni", tlsBE.addr, "sni = \"other.test\"\nca_cert = " + tomlString(ca.PEM)},
		{"untrusted", badBE.addr, "tls = true\nca_cert = " + tomlString(ca.PEM)},
		{"noverify", badBE.addr, "tls = true\nverify_cert = false"},
		{"noverifyh2", badBE.addr, "alpn = \"h2\"\nverify_cert = false"},
	}
	cfg := ""
	var locs []string
	for _, u := range ups {
		locs = append(locs, u.name)
		cfg += "[locations." + u.name + "]\npath = \"/" + u.name + "/\"\nupstream = \"" + u.name + "\"\n\n" +
			"[upstreams." + u.name + "]\naddrs = [\"" + u.addr + "\"]\n" + u.extra + "\n\n"
	}
	d.write(d.settings() + serverTOML("main", listen, locs...) + cfg)
	d.start()
	base := "http://" + listen

	for _, tc := range []struct {
		up    string
		proto string
		tls   bool
		sni   string
	}{
		{"h2c", "HTTP/2.0", false, ""},
		{"h1", "HTTP/1.1", false, ""},
		{"h2", "HTTP/2.0", true, "backend.test"},
		{"h2h1", "HTTP/2.0", true, ""}, // an IP target sends no SNI
		{"tls", "HTTP/1.1", true, ""},
		{"sni", "HTTP/1.1", true, "backend.test"},
		{"noverify", "HTTP/1.1", true, ""},
		{"noverifyh2", "HTTP/2.0", true, ""},
	} {
		t.Run(tc.up, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader(strings.Repeat("p", 64<<10))
				}
				res := mustSend(t, d.client, req{method: method, url: base + "/" + tc.up + "/x", body: body, contentLength: 64 << 10})
				e := decodeProtoEcho(t, res)
				if e.Proto != tc.proto || e.TLS != tc.tls || e.ServerName != tc.sni {
					t.Errorf("%s: backend saw %s tls=%v sni=%q, want %s tls=%v sni=%q",
						method, e.Proto, e.TLS, e.ServerName, tc.proto, tc.tls, tc.sni)
				}
				if e.Path != "/"+tc.up+"/x" {
					t.Errorf("%s: backend saw path %q", method, e.Path)
				}
			}
		})
	}

	// A certificate that does not verify (wrong name, unknown CA) is a
	// failed connection: 502, and no request reached the backend.
	for _, up := range []string{"wrongsni", "untrusted"} {
		t.Run(up+" is refused", func(t *testing.T) {
			before := tlsBE.requests.Load() + badBE.requests.Load()
			res := get(t, d.client, base, "", "/"+up+"/x")
			if res.Code != http.StatusBadGateway {
				t.Errorf("%d %q, want 502", res.Code, res.Body)
			}
			if n := tlsBE.requests.Load() + badBE.requests.Load(); n != before {
				t.Errorf("the backend got %d requests over an unverified connection", n-before)
			}
		})
	}
}
