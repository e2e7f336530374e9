package runtime

import (
	"crypto/tls"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// certStore picks a server certificate by SNI: an exact domain first, then
// a wildcard one level up ("*.example.com" for "a.example.com"), then the
// default (the certificate marked is_default, else the server's first
// certificate by name).
type certStore struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // key: ".example.com"
	def      *tls.Certificate
}

func (s *certStore) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if c := s.exact[name]; c != nil {
		return c, nil
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := s.wildcard[name[i:]]; c != nil {
			return c, nil
		}
	}
	if s.def != nil {
		return s.def, nil
	}
	return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
}

// loadCertificates loads every certificate of the snapshot once.
func loadCertificates(snap *pb.Snapshot) (map[string]*tls.Certificate, error) {
	out := map[string]*tls.Certificate{}
	for _, name := range slices.Sorted(maps.Keys(snap.GetCertificates())) {
		pair, err := config.LoadKeyPair(snap.GetCertificates()[name])
		if err != nil {
			return nil, fmt.Errorf("certificates.%s.%w", name, err)
		}
		out[name] = &pair
	}
	return out, nil
}

// certDomains are the names a certificate serves: its configured domains,
// else the DNS names (or common name) of its leaf.
func certDomains(c *pb.Certificate, pair *tls.Certificate) []string {
	if len(c.GetDomains()) > 0 {
		return c.GetDomains()
	}
	if pair.Leaf == nil {
		return nil
	}
	if len(pair.Leaf.DNSNames) > 0 {
		return pair.Leaf.DNSNames
	}
	if cn := pair.Leaf.Subject.CommonName; cn != "" {
		return []string{cn}
	}
	return nil
}

// serverTLS builds the TLS config of a server, or nil for plain HTTP.
func serverTLS(name string, srv *pb.Server, snap *pb.Snapshot, certs map[string]*tls.Certificate) (*tls.Config, error) {
	if !config.ServerTLS(srv) {
		return nil, nil
	}
	names := srv.GetCertificates()
	if srv.GetGlobalCertificates() {
		names = slices.Sorted(maps.Keys(snap.GetCertificates()))
	} else {
		names = append([]string(nil), names...)
		sort.Strings(names)
	}
	store := &certStore{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	for _, cn := range names {
		pair := certs[cn]
		c := snap.GetCertificates()[cn]
		if pair == nil || c == nil {
			return nil, fmt.Errorf("servers.%s.certificates: unknown certificate %q", name, cn)
		}
		for _, d := range certDomains(c, pair) {
			d = strings.TrimSuffix(strings.ToLower(d), ".")
			if suffix, ok := strings.CutPrefix(d, "*"); ok {
				if store.wildcard[suffix] == nil {
					store.wildcard[suffix] = pair
				}
			} else if store.exact[d] == nil {
				store.exact[d] = pair
			}
		}
		if c.GetIsDefault() {
			store.def = pair
		}
	}
	if store.def == nil && len(names) > 0 {
		store.def = certs[names[0]]
	}
	minV, err := config.ParseTLSVersion(srv.GetTlsMinVersion(), tls.VersionTLS12)
	if err != nil {
		return nil, fmt.Errorf("servers.%s.tls_min_version: %w", name, err)
	}
	maxV, err := config.ParseTLSVersion(srv.GetTlsMaxVersion(), tls.VersionTLS13)
	if err != nil {
		return nil, fmt.Errorf("servers.%s.tls_max_version: %w", name, err)
	}
	suites, err := config.ParseCipherSuites(srv.GetTlsCipherList())
	if err != nil {
		return nil, fmt.Errorf("servers.%s.tls_cipher_list: %w", name, err)
	}
	return &tls.Config{
		MinVersion:     minV,
		MaxVersion:     maxV,
		CipherSuites:   suites,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: store.get,
	}, nil
}
