package config

import (
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// checkTrafficSplittingPlugin validates a "traffic_splitting" plugin's
// options.
func checkTrafficSplittingPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetTrafficSplitting()
	if c.GetUpstream() == "" {
		v.fail(path+".upstream", "required: the upstream that receives the share")
	} else if !contains(v.upstreams, c.GetUpstream()) {
		v.fail(path+".upstream", "unknown upstream %q%s", c.GetUpstream(), suggestName(c.GetUpstream(), v.upstreams))
	}
	if c.GetWeight() > 100 {
		v.fail(path+".weight", "%d is not a percentage (0..100)", c.GetWeight())
	}
	if n := c.GetStickyCookie(); n != "" && !ValidHeaderName(n) {
		v.fail(path+".sticky_cookie", "invalid cookie name %q", n)
	}
	if n := c.GetStickyHeader(); n != "" && !ValidHeaderName(n) {
		v.fail(path+".sticky_header", "invalid header name %q", n)
	}
	if c.GetStickyCookie() != "" && c.GetStickyHeader() != "" {
		v.fail(path+".sticky_header", "set sticky_cookie or sticky_header, not both")
	}
}
