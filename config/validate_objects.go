package config

import (
	"net"
	"net/netip"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// listener is one listen address and who uses it.
type listener struct {
	host     string // normalized; "" for all interfaces
	port     string
	addr     string
	owner    string // "servers.web" or "settings.admin_addr"
	wildcard bool
}

// overlaps reports whether two listen addresses cannot both be bound.
func (l listener) overlaps(o listener) bool {
	if l.port != o.port || l.port == "0" {
		return false
	}
	return l.host == o.host || l.wildcard || o.wildcard
}

func newListener(addr, owner string) listener {
	host, port, _ := net.SplitHostPort(addr)
	l := listener{host: strings.ToLower(host), port: strings.TrimLeft(port, "0"), addr: addr, owner: owner}
	if l.port == "" {
		l.port = "0"
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		l.host, l.wildcard = ip.String(), ip.IsUnspecified()
	}
	if host == "" {
		l.wildcard = true
	}
	return l
}

// checkServers checks every server, and that no two listen on one address.
func (v *validator) checkServers() {
	var used []listener
	if a := v.s.GetSettings().GetAdminAddr(); a != "" {
		if addrs, err := ParseListenAddrs(a); err == nil && len(addrs) == 1 {
			used = append(used, newListener(addrs[0], "settings.admin_addr"))
		}
	}
	for _, name := range v.servers {
		srv := v.s.GetServers()[name]
		path := ObjectPath("servers", name)
		used = v.listen(path, srv.GetAddr(), used)
		v.reference(path+".locations", "location", srv.GetLocations(), v.locations)
		v.reference(path+".plugins", "plugin", srv.GetPlugins(), v.plugins)
		v.serverTLS(path, srv)
		v.serverAccessLog(path, srv)
	}
}

// listen checks a server's addr against the addresses already used.
func (v *validator) listen(path, addr string, used []listener) []listener {
	p := path + ".addr"
	if strings.TrimSpace(addr) == "" {
		v.fail(p, "required")
		return used
	}
	addrs, err := ParseListenAddrs(addr)
	if err != nil {
		v.fail(p, "%v", err)
		return used
	}
	for _, a := range addrs {
		l := newListener(a, path)
		for _, u := range used {
			if !l.overlaps(u) {
				continue
			}
			if u.owner == path {
				v.fail(p, "listen address %q is listed twice", a)
			} else {
				v.fail(p, "listen address %q is also used by %s (%q)", a, u.owner, u.addr)
			}
			break
		}
		used = append(used, l)
	}
	return used
}

func (v *validator) location(path string, loc *pb.Location) {
	if _, err := ParseHosts(loc.GetHost()); err != nil {
		v.fail(path+".host", "%v", err)
	}
	if _, err := ParsePath(loc.GetPath()); err != nil {
		v.fail(path+".path", "%v", err)
	}
	switch up := loc.GetUpstream(); {
	case up == "" && len(loc.GetPlugins()) == 0:
		v.fail(path+".upstream", "required unless the location has plugins")
	case up != "":
		if !contains(v.upstreams, up) {
			v.fail(path+".upstream", "unknown upstream %q%s", up, suggestName(up, v.upstreams))
		}
	}
	if rw := loc.GetRewrite(); rw != "" {
		if _, err := ParseRewrite(rw); err != nil {
			v.fail(path+".rewrite", "%v", err)
		}
	}
	for _, field := range []struct {
		name string
		list []string
	}{{"proxy_set_headers", loc.GetProxySetHeaders()}, {"proxy_add_headers", loc.GetProxyAddHeaders()}} {
		for i, h := range field.list {
			if _, err := ParseHeader(h); err != nil {
				v.fail(indexPath(path+"."+field.name, i), "%v", err)
			}
		}
	}
	for i, h := range loc.GetProxyRemoveHeaders() {
		if !ValidHeaderName(strings.TrimSpace(h)) {
			v.fail(indexPath(path+".proxy_remove_headers", i), "invalid header name %q", h)
		}
	}
	v.reference(path+".plugins", "plugin", loc.GetPlugins(), v.plugins)
}

func (v *validator) upstream(path string, up *pb.Upstream) {
	if len(up.GetAddrs()) == 0 {
		v.fail(path+".addrs", "required: at least one address")
	}
	seen := make(map[string]int)
	for i, a := range up.GetAddrs() {
		p := indexPath(path+".addrs", i)
		t, err := ParseTarget(a)
		if err != nil {
			v.fail(p, "%v", err)
			continue
		}
		if first, ok := seen[t.Addr]; ok {
			v.fail(p, "duplicate address %q (also addrs[%d])", t.Addr, first)
			continue
		}
		seen[t.Addr] = i
	}
	if _, err := ParseAlgo(up.GetAlgo()); err != nil {
		v.fail(path+".algo", "%v", err)
	}
	v.upstreamTLS(path, up)
}
