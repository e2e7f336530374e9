package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// upstreamTLS reports whether the upstream's targets speak TLS: tls is set,
// or implied by sni or an alpn of h2 or h2h1.
func upstreamTLS(cfg *pb.Upstream) bool {
	return cfg.GetTls() || cfg.GetSni() != "" || cfg.GetAlpn() == "h2" || cfg.GetAlpn() == "h2h1"
}

// checkTLSConfig is the TLS client config of health checks that use TLS.
// Unlike the upstream's traffic, a check verifies the target's certificate
// only when verify_cert is explicitly true: a check asks whether the target
// is up, not whether its certificate is right. ServerName is the upstream's
// sni, or empty for the caller to set to the target's host.
func checkTLSConfig(prefix string, cfg *pb.Upstream) (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         cfg.GetSni(),
		InsecureSkipVerify: !cfg.GetVerifyCert(), //nolint:gosec // documented default of checks
		MinVersion:         tls.VersionTLS12,
	}
	if ca := cfg.GetCaCert(); ca != "" {
		roots, err := loadCAPool(ca)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_cert: %w", prefix, err)
		}
		c.RootCAs = roots
	}
	return c, nil
}

// loadCAPool reads CA certificates from inline PEM or a PEM file's path.
func loadCAPool(s string) (*x509.CertPool, error) {
	data := []byte(s)
	if !strings.Contains(s, "-----BEGIN") {
		var err error
		if data, err = os.ReadFile(s); err != nil {
			return nil, err
		}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, errors.New("no PEM certificate found")
	}
	return roots, nil
}
