package testcert

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIssueVerifiesForServersAndClients(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, "test CA")
	l := ca.Issue(t, "label", "a.test", "127.0.0.1", "::1")
	c := l.TLS.Leaf
	if c.Subject.CommonName != "label" || !slices.Equal(c.DNSNames, []string{"a.test"}) || len(c.IPAddresses) != 2 ||
		!c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Fatalf("leaf: CN %q, DNS %v, IP %v", c.Subject.CommonName, c.DNSNames, c.IPAddresses)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: "a.test", KeyUsages: []x509.ExtKeyUsage{usage}}
		if _, err := c.Verify(opts); err != nil {
			t.Errorf("verify for %v: %v", usage, err)
		}
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: NewCA(t, "other").Pool()}); err == nil {
		t.Error("a leaf verified against another CA")
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM([]byte(ca.PEM())) {
		t.Errorf("CA PEM does not parse:\n%s", ca.PEM())
	}
}

func TestSelfSigned(t *testing.T) {
	t.Parallel()
	l := SelfSigned(t, "self", "self.test")
	pool := x509.NewCertPool()
	pool.AddCert(l.TLS.Leaf)
	if _, err := l.TLS.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "self.test"}); err != nil {
		t.Fatalf("self-signed leaf not trusted by a pool holding it: %v", err)
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	l := SelfSigned(t, "w", "w.test")
	dir := filepath.Join(t.TempDir(), "certs")
	certPath, keyPath := l.Write(t, dir, "w")
	for path, want := range map[string]string{filepath.Join(dir, "w.pem"): l.CertPEM, filepath.Join(dir, "w-key.pem"): l.KeyPEM} {
		data, err := os.ReadFile(path)
		if err != nil || string(data) != want {
			t.Errorf("%s: %v, content matches: %v", path, err, string(data) == want)
		}
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, fi.Mode())
		}
	}
	if certPath != filepath.Join(dir, "w.pem") || keyPath != filepath.Join(dir, "w-key.pem") {
		t.Errorf("Write = %q, %q", certPath, keyPath)
	}
}
