package config

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestParseTLSVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    uint16
		wantErr string
	}{
		{"", tls.VersionTLS12, ""},
		{"tlsv1.2", tls.VersionTLS12, ""},
		{"TLSv1.3", tls.VersionTLS13, ""},
		{"1.3", tls.VersionTLS13, ""},
		{"tlsv1.1", 0, "not supported"},
		{"ssl3", 0, "unknown TLS version"},
	}
	for _, tt := range tests {
		got, err := ParseTLSVersion(tt.in, tls.VersionTLS12)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTLSVersion(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTLSVersion(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
}

func TestParseCipherSuites(t *testing.T) {
	t.Parallel()
	got, err := ParseCipherSuites("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256")
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %x, want %x (TLS 1.3 names ignored)", got, want)
	}
	for in, msg := range map[string]string{
		"RC4-SHA-NOPE":                 "unknown cipher suite",
		"TLS_RSA_WITH_RC4_128_SHA":     "insecure",
		"TLS_AES_128_GCM_SHA256":       "no TLS 1.2 cipher suite",
		"ECDHE-RSA-AES128-GCM-SHA256:": "",
	} {
		_, err := ParseCipherSuites(in)
		if msg == "" {
			if err != nil {
				t.Errorf("ParseCipherSuites(%q): %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseCipherSuites(%q) error %v, want %q", in, err, msg)
		}
	}
}

func TestValidateTLSFields(t *testing.T) {
	t.Parallel()
	base := `
[upstreams.u]
addrs = ["127.0.0.1:9001"]
[locations.l]
upstream = "u"
[servers.s]
addr = "127.0.0.1:8443"
locations = ["l"]
`
	tests := []struct{ desc, extra, want string }{
		{"unknown certificate", "certificates = [\"nope\"]\n", `servers.s.certificates[0] (line 9): unknown certificate "nope"`},
		{"global without certs", "global_certificates = true\n", `servers.s.global_certificates (line 9): no certificates are defined`},
		{"tls version without tls", "tls_min_version = \"tlsv1.3\"\n", `servers.s.tls_min_version (line 9): set on a server without certificates`},
		{"bad alpn", "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\nalpn = \"h3\"\n", `upstreams.v.alpn (line 11): unknown alpn "h3"`},
		{"h2c with tls", "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\nalpn = \"h2c\"\ntls = true\n", `upstreams.v.alpn (line 11): h2c is HTTP/2 without TLS`},
		{"verify without tls", "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\nverify_cert = false\n", `upstreams.v.verify_cert (line 11): set on an upstream without TLS`},
		{"ejection percent", "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\n[upstreams.v.outlier_detection]\nmax_ejection_percent = 150\n", `upstreams.v.outlier_detection.max_ejection_percent (line 12): 150 is over 100`},
		{"bad ca", "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\ntls = true\nca_cert = \"-----BEGIN CERTIFICATE-----\\nnope\\n-----END CERTIFICATE-----\\n\"\n", `upstreams.v.ca_cert (line 12): no CA certificate found`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := ValidateBytes([]byte(base+tt.extra), FormatTOML)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}
