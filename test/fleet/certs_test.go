package fleet

// Throwaway certificates: a CA per test and the leaves it signs
// (internal/testcert).

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

func newCA(t testing.TB) *testCA {
	t.Helper()
	ca := testcert.NewCA(t, "fleet test CA")
	return &testCA{t: t, ca: ca, pem: ca.PEM()}
}

// issue makes a certificate with common name cn for names (IP addresses
// or DNS names), usable by servers and by clients; Leaf.Write writes it as
// PEM files.
func (ca *testCA) issue(cn string, names ...string) *testcert.Leaf {
	ca.t.Helper()
	return ca.ca.Issue(ca.t, cn, names...)
}
