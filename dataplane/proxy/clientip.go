package proxy

import (
	"fmt"
	"net/netip"
	"strings"
)

// TrustedProxies is a compiled settings.trusted_proxies list.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies compiles CIDRs or single IPs.
func ParseTrustedProxies(list []string) (*TrustedProxies, error) {
	t := &TrustedProxies{}
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("settings.trusted_proxies[%d]: %q is not an IP or CIDR", i, s)
		}
		a = a.Unmap()
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// Contains reports whether a is a trusted proxy.
func (t *TrustedProxies) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP resolves the real client address, in the manner of nginx's realip
// module: when the peer is trusted, X-Forwarded-For is walked from the right
// and the first address that is not a trusted proxy is the client.
func (t *TrustedProxies) ClientIP(peer netip.Addr, xff []string) netip.Addr {
	if !t.Contains(peer) || len(xff) == 0 {
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client
			}
			client = a.Unmap()
			if !t.Contains(client) {
				return client
			}
		}
	}
	return client
}
