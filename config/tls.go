package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// ReadPEM returns value itself when it is inline PEM (it contains
// "-----BEGIN"), else the contents of the file it names.
func ReadPEM(value string) ([]byte, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("empty: want inline PEM or the path of a PEM file")
	}
	if strings.Contains(value, "-----BEGIN") {
		return []byte(value), nil
	}
	return readPEMFile(value)
}

// LoadKeyPair loads a certificate's chain and key (inline or from files)
// and parses the leaf.
func LoadKeyPair(c *pb.Certificate) (tls.Certificate, error) {
	certPEM, err := ReadPEM(c.GetTlsCert())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls_cert: %w", err)
	}
	keyPEM, err := ReadPEM(c.GetTlsKey())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls_key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls_key: %s", strings.TrimPrefix(err.Error(), "tls: "))
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("tls_cert: %w", err)
		}
	}
	return pair, nil
}

// LoadCertPool loads a CA bundle (inline PEM or a file).
func LoadCertPool(value string) (*x509.CertPool, error) {
	data, err := ReadPEM(value)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no CA certificate found in the PEM data")
	}
	return pool, nil
}

// ParseTLSVersion parses "tlsv1.2" / "tlsv1.3" (also "1.2", "TLSv1.3");
// empty yields def.
func ParseTLSVersion(s string, def uint16) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "tlsv") {
	case "":
		return def, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.0", "1.1":
		return 0, fmt.Errorf("TLS version %q is not supported: use tlsv1.2 or tlsv1.3", s)
	default:
		return 0, fmt.Errorf("unknown TLS version %q: want tlsv1.2 or tlsv1.3", s)
	}
}

// opensslCipherNames maps OpenSSL cipher names to the IANA names Go uses,
// for the TLS 1.2 suites Go implements.
var opensslCipherNames = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
}

// ParseCipherSuites parses a tls_cipher_list: IANA or OpenSSL names
// separated by ":" or ",". Only secure TLS 1.2 suites Go implements are
// accepted; TLS 1.3 suite names are accepted and ignored (Go does not let
// them be chosen). Empty yields nil: Go's defaults.
func ParseCipherSuites(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	byName := map[string]uint16{} // the secure TLS 1.2 suites
	tls13 := map[string]bool{}
	for _, cs := range tls.CipherSuites() {
		if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
			tls13[cs.Name] = true
		} else {
			byName[cs.Name] = cs.ID
		}
	}
	var out []uint16
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		iana := name
		if n, ok := opensslCipherNames[strings.ToUpper(name)]; ok {
			iana = n
		}
		if tls13[iana] {
			continue
		}
		id, ok := byName[iana]
		if !ok {
			for _, cs := range tls.InsecureCipherSuites() {
				if cs.Name == iana {
					return nil, fmt.Errorf("cipher suite %q is insecure and not accepted", name)
				}
			}
			return nil, fmt.Errorf("unknown cipher suite %q", name)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no TLS 1.2 cipher suite in %q", s)
	}
	return out, nil
}

// ALPN values of an upstream.
const (
	ALPNH1   = "h1"
	ALPNH2   = "h2"
	ALPNH2C  = "h2c"
	ALPNH2H1 = "h2h1"
)

// ParseALPN normalizes an upstream's alpn ("" is h1; Pingap's upper-case
// spellings are accepted).
func ParseALPN(s string) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", ALPNH1:
		return ALPNH1, nil
	case ALPNH2, ALPNH2C, ALPNH2H1:
		return v, nil
	default:
		return "", fmt.Errorf("unknown alpn %q: want h1, h2, h2c or h2h1", s)
	}
}

// UpstreamTLS reports whether an upstream connects to its targets with TLS.
func UpstreamTLS(u *pb.Upstream) bool {
	alpn, _ := ParseALPN(u.GetAlpn())
	return u.GetTls() || u.GetSni() != "" || alpn == ALPNH2 || alpn == ALPNH2H1
}

// ServerTLS reports whether a server terminates TLS.
func ServerTLS(s *pb.Server) bool {
	return s.GetGlobalCertificates() || len(s.GetCertificates()) > 0
}
