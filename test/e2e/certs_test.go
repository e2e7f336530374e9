package e2e

// Certificates for the TLS tests, made fresh by each test: a throwaway CA
// and the leaves it signs (internal/testcert). The leaf's common name is a
// label the tests use to tell which certificate a server presented.

import (
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"testing"

	"github.com/pingap-go/pingap/internal/testcert"
)

// testCA is a certificate authority that lives for one test.
type testCA struct {
	t  testing.TB
	ca *testcert.CA
	// PEM is the CA certificate, PEM encoded.
	PEM  string
	pool *x509.CertPool
}

// leaf is a certificate signed by a testCA, with its key.
type leaf = testcert.Leaf

// newCA makes a CA named name.
func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	ca := testcert.NewCA(t, name)
	return &testCA{t: t, ca: ca, PEM: ca.PEM(), pool: ca.Pool()}
}

// issue makes a certificate with common name label for names (DNS names,
// or IP addresses when they parse as one).
func (ca *testCA) issue(label string, names ...string) leaf {
	ca.t.Helper()
	return *ca.ca.Issue(ca.t, label, names...)
}

// tomlString quotes s as a TOML basic string (Go's quoting is a subset of
// TOML's for the PEM and path characters used here).
func tomlString(s string) string { return strconv.Quote(s) }

// certTOML renders a [certificates.NAME] table with inline PEM; extra lines
// (domains, is_default) follow.
func certTOML(name string, l leaf, extra ...string) string {
	s := "[certificates." + name + "]\ntls_cert = " + tomlString(l.CertPEM) + "\ntls_key = " + tomlString(l.KeyPEM) + "\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return s + "\n"
}

// tlsClientConfig trusts ca and sends serverName as SNI.
func (ca *testCA) clientConfig(serverName string, alpn ...string) *tls.Config {
	return &tls.Config{RootCAs: ca.pool, ServerName: serverName, NextProtos: alpn, MinVersion: tls.VersionTLS12}
}

// tlsServerConfig serves l.
func tlsServerConfig(l leaf) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{l.TLS}, MinVersion: tls.VersionTLS12}
}
