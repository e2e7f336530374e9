// Package iprestriction is the "ip_restriction" plugin: it allows or denies
// requests by the client's address, resolved through trusted_proxies.
package iprestriction

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "ip_restriction"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware; the address list is parsed once here.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetIpRestriction()
	if len(c.GetIpList()) == 0 {
		return nil, fmt.Errorf("ip_list: required")
	}
	prefixes := make([]netip.Prefix, 0, len(c.GetIpList()))
	for i, s := range c.GetIpList() {
		p, err := config.ParseIPPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("ip_list[%d]: %w", i, err)
		}
		prefixes = append(prefixes, p)
	}
	deny, err := plugin.AllowDeny(c.GetType(), "allow")
	if err != nil {
		return nil, err
	}
	body := c.GetMessage()
	if body == "" {
		body = "forbidden"
	}
	clientIP := ctx.ClientIP
	if clientIP == nil {
		clientIP = plugin.PeerIP
	}
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := clientIP(r)
			listed := false
			for _, p := range prefixes {
				if p.Contains(ip) {
					listed = true
					break
				}
			}
			if listed == deny {
				refused()
				plugin.Forbidden(w, body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
