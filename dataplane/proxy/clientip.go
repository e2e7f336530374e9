package proxy

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
)

// TrustedProxies is a compiled settings.trusted_proxies list.
type TrustedProxies struct {
	list config.IPList
}

// ParseTrustedProxies compiles CIDRs or single IPs.
func ParseTrustedProxies(list []string) (*TrustedProxies, error) {
	l, err := config.ParseIPList(list)
	if err != nil {
		return nil, fmt.Errorf("settings.trusted_proxies%w", err)
	}
	return &TrustedProxies{list: l}, nil
}

// Contains reports whether a is a trusted proxy.
func (t *TrustedProxies) Contains(a netip.Addr) bool {
	return t != nil && t.list.Contains(a)
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

// RequestClientIP resolves r's client address: the peer, or the address
// behind it when the peer is a trusted proxy.
func (t *TrustedProxies) RequestClientIP(r *http.Request) netip.Addr {
	return t.ClientIP(plugin.PeerIP(r), r.Header["X-Forwarded-For"])
}
