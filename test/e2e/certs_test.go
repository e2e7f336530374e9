package e2e

// Certificates for the TLS tests, made fresh by each test: a throwaway CA
// and ECDSA leaves it signs. The leaf's common name is a label the tests use
// to tell which certificate a server presented.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"
)

// testCA is a certificate authority that lives for one test.
type testCA struct {
	t    testing.TB
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate, PEM encoded.
	PEM  string
	pool *x509.CertPool
}

// leaf is a certificate signed by a testCA, with its key.
type leaf struct {
	// CertPEM and KeyPEM are the PEM encoded certificate and private key.
	CertPEM, KeyPEM string
	// Pair is the same as a tls.Certificate, for in-process servers.
	Pair tls.Certificate
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newCA makes a self-signed ECDSA CA named name.
func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{t: t, cert: cert, key: key, PEM: pemBlock("CERTIFICATE", der), pool: pool}
}

// issue makes a server certificate with common name label for names (DNS
// names, or IP addresses when they parse as one).
func (ca *testCA) issue(label string, names ...string) leaf {
	ca.t.Helper()
	key := newKey(ca.t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(ca.t),
		Subject:      pkix.Name{CommonName: label},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	l := leaf{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", keyDER)}
	if l.Pair, err = tls.X509KeyPair([]byte(l.CertPEM), []byte(l.KeyPEM)); err != nil {
		ca.t.Fatal(err)
	}
	return l
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
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
	return &tls.Config{Certificates: []tls.Certificate{l.Pair}, MinVersion: tls.VersionTLS12}
}
