// Package iprestriction is the "ip_restriction" plugin: it allows or denies
// requests by the client's address, resolved through trusted_proxies.
package iprestriction

import (
	"fmt"
	"net/http"

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
	list, err := config.ParseIPList(c.GetIpList())
	if err != nil {
		return nil, fmt.Errorf("ip_list%w", err)
	}
	deny, err := config.ParseAccessType(c.GetType(), "allow")
	if err != nil {
		return nil, fmt.Errorf("type: %w", err)
	}
	body := c.GetMessage()
	if body == "" {
		body = "forbidden"
	}
	clientIP := ctx.ClientAddr()
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if list.Contains(clientIP(r)) == deny {
				refused()
				plugin.Forbidden(w, body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
