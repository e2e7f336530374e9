// Package testcert makes throwaway X.509 certificates for tests: a CA that
// lives for one test and the leaves it signs, or self-signed leaves.
//
// Every key is ECDSA P-256 and every certificate is valid from an hour ago
// for a day. A leaf may serve as a server and as a client certificate, so
// the same helpers cover TLS and mutual TLS. Keys are PEM encoded as
// PKCS #8 ("PRIVATE KEY"). Failures end the test with t.Fatal.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a self-signed certificate authority that signs leaves.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

// Leaf is a certificate and its private key.
type Leaf struct {
	// CertPEM is the certificate, PEM encoded.
	CertPEM string
	// KeyPEM is the private key, PEM encoded as PKCS #8.
	KeyPEM string
	// TLS is the same pair for in-process servers and clients; TLS.Leaf
	// is the parsed certificate.
	TLS tls.Certificate
}

// NewCA makes a CA whose common name is name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(name)
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{cert: cert, key: key, pem: encode("CERTIFICATE", der)}
}

// PEM returns the CA certificate, PEM encoded, as a ca_cert or --tls-ca
// file wants it.
func (ca *CA) PEM() string { return ca.pem }

// Pool returns a new pool holding only the CA certificate, for
// tls.Config.RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Issue makes a leaf signed by the CA with common name cn for names: a
// name that parses as an IP address becomes an IP SAN, any other a DNS SAN.
func (ca *CA) Issue(t testing.TB, cn string, names ...string) *Leaf {
	t.Helper()
	return newLeaf(t, cn, names, ca.cert, ca.key)
}

// SelfSigned makes a leaf that signs itself, with common name cn for names
// (as Issue). A pool holding the certificate trusts it.
func SelfSigned(t testing.TB, cn string, names ...string) *Leaf {
	t.Helper()
	return newLeaf(t, cn, names, nil, nil)
}

// Write writes the certificate to dir/name.pem and the key to
// dir/name-key.pem, both with mode 0600, creating dir, and returns the
// paths.
func (l *Leaf) Write(t testing.TB, dir, name string) (certPath, keyPath string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	for path, data := range map[string]string{certPath: l.CertPEM, keyPath: l.KeyPEM} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certPath, keyPath
}

// newLeaf makes a leaf signed by parent's key, or by its own when parent
// is nil.
func newLeaf(t testing.TB, cn string, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *Leaf {
	t.Helper()
	key := newKey(t)
	tmpl := template(cn)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := &Leaf{CertPEM: encode("CERTIFICATE", der), KeyPEM: encode("PRIVATE KEY", keyDER)}
	if l.TLS, err = tls.X509KeyPair([]byte(l.CertPEM), []byte(l.KeyPEM)); err != nil {
		t.Fatal(err)
	}
	return l
}

// template is a certificate for cn valid from an hour ago for a day; a nil
// serial number makes x509.CreateCertificate pick a random one.
func template(cn string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		Subject:   pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(24 * time.Hour),
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func encode(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
