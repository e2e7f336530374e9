package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// maxPEMFile is the largest certificate or key file read.
const maxPEMFile = 1 << 20

// checkCertificates checks every certificate, and that no two serve one
// domain or are both the default.
func (v *validator) checkCertificates() {
	domains := make(map[string]string) // domain -> path of its certificate
	defaultCert := ""
	for _, name := range v.certificates {
		c := v.s.GetCertificates()[name]
		path := ObjectPath("certificates", name)
		v.keyPair(path, c)
		for i, d := range c.GetDomains() {
			p := indexPath(path+".domains", i)
			if !validDomain(d) {
				v.fail(p, "invalid domain %q: want an exact name or a wildcard such as \"*.example.com\"", d)
				continue
			}
			d = strings.ToLower(d)
			if other, ok := domains[d]; ok {
				v.fail(p, "domain %q is also served by %s", d, other)
				continue
			}
			domains[d] = path
		}
		if c.GetIsDefault() {
			if defaultCert != "" {
				v.fail(path+".is_default", "only one certificate may be the default, %s is too", defaultCert)
			} else {
				defaultCert = path
			}
		}
	}
}

// validDomain reports whether d is a host name or "*." and a host name.
func validDomain(d string) bool {
	return validHostname(strings.TrimPrefix(d, "*."))
}

// keyPair checks that a certificate's cert and key are present and load.
func (v *validator) keyPair(path string, c *pb.Certificate) {
	certPEM, certOK := v.pemInput(path+".tls_cert", c.GetTlsCert())
	keyPEM, keyOK := v.pemInput(path+".tls_key", c.GetTlsKey())
	if certOK {
		if err := checkCertChain(certPEM); err != nil {
			v.fail(path+".tls_cert", "%v", err)
			certOK = false
		}
	}
	if !certOK || !keyOK {
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		msg := strings.TrimPrefix(err.Error(), "tls: ")
		if strings.Contains(msg, "does not match") {
			v.fail(path+".tls_key", "private key does not match the certificate in tls_cert")
			return
		}
		v.fail(path+".tls_key", "invalid private key: %s", msg)
	}
}

// pemInput reads value with ReadPEM, reporting a problem at path.
func (v *validator) pemInput(path, value string) ([]byte, bool) {
	if strings.TrimSpace(value) == "" {
		v.fail(path, "required: inline PEM or the path of a PEM file")
		return nil, false
	}
	data, err := ReadPEM(value)
	if err != nil {
		v.fail(path, "%v", err)
		return nil, false
	}
	return data, true
}

// readPEMFile reads a regular file of at most maxPEMFile bytes.
func readPEMFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %s", name, pathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %s", name, pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read %q: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %v", name, pathErr(err))
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("cannot read %q: larger than %d bytes", name, maxPEMFile)
	}
	return data, nil
}

// pathErr drops the operation and path that fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkCertChain checks that data holds at least one CERTIFICATE block and
// that every certificate parses.
func checkCertChain(data []byte) error {
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("invalid certificate %d: %v", n, err)
		}
	}
	if n == 0 {
		return errors.New("no CERTIFICATE PEM block found")
	}
	return nil
}
