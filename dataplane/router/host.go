package router

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pingap-go/pingap/config"
)

// NormalizeHost turns a Host header value into the form patterns are matched
// against: without the port, the brackets of an IPv6 literal and one trailing
// dot, in lower case. It allocates only when the host has upper-case letters.
func NormalizeHost(h string) string {
	if len(h) > 0 && h[0] == '[' {
		// "[v6]" or "[v6]:port".
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		// Exactly one colon: "name:port". More than one is a bare IPv6
		// address, which has no port.
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	return strings.ToLower(h)
}

// normalizePatterns applies the request host normalization to the exact and
// wildcard patterns config.ParseHosts returned, and refuses patterns that can
// never match a normalized host.
func normalizePatterns(pats []config.HostPattern) ([]config.HostPattern, error) {
	out := make([]config.HostPattern, 0, len(pats))
	for _, p := range pats {
		switch p.Kind {
		case config.HostExact:
			v := strings.TrimSuffix(p.Value, ".")
			if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
				v = v[1 : len(v)-1]
			}
			if v == "" {
				return nil, fmt.Errorf("invalid host %q: empty name", p.Value)
			}
			if strings.Contains(v, ":") {
				if _, err := netip.ParseAddr(v); err != nil {
					return nil, fmt.Errorf("invalid host %q: hosts match without the port", p.Value)
				}
			}
			p.Value = v
		case config.HostWildcard:
			v := strings.TrimSuffix(p.Value, ".")
			if len(v) < 2 || strings.Contains(v, "..") || strings.Contains(v, ":") || strings.Contains(v, "[") {
				return nil, fmt.Errorf("invalid wildcard host %q", "*"+p.Value)
			}
			p.Value = v
		}
		out = append(out, p)
	}
	return out, nil
}

// wildcardMatches reports whether the wildcard suffix (".a.com") matches the
// normalized host: the host ends with it and has at least one byte before it.
func wildcardMatches(host, suffix string) bool {
	return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
}
