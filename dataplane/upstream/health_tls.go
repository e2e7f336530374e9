package upstream

import (
	"crypto/tls"
	"fmt"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

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
		roots, err := config.LoadCertPool(ca)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_cert: %w", prefix, err)
		}
		c.RootCAs = roots
	}
	return c, nil
}
