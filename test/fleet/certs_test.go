package fleet

// Throwaway certificates: a CA per test and the leaves it signs
// (internal/testcert), written as PEM files.

import (
	"testing"

	"github.com/pingap-go/pingap/internal/testcert"
)

// testCA signs the certificates of one test.
type testCA struct {
	t   testing.TB
	ca  *testcert.CA
	pem string
}

// keyPair is a PEM certificate and its PEM private key.
type keyPair struct{ cert, key string }

func newCA(t testing.TB) *testCA {
	t.Helper()
	ca := testcert.NewCA(t, "fleet test CA")
	return &testCA{t: t, ca: ca, pem: ca.PEM()}
}

// issue makes a certificate with common name cn for names (IP addresses
// or DNS names), usable by servers and by clients.
func (ca *testCA) issue(cn string, names ...string) keyPair {
	ca.t.Helper()
	l := ca.ca.Issue(ca.t, cn, names...)
	return keyPair{cert: l.CertPEM, key: l.KeyPEM}
}

// write writes the pair to dir/name.pem and dir/name-key.pem and returns
// both paths.
func (k keyPair) write(t testing.TB, dir, name string) (certPath, keyPath string) {
	t.Helper()
	return writeFile(t, dir, name+".pem", k.cert), writeFile(t, dir, name+"-key.pem", k.key)
}
