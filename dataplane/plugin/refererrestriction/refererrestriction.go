// Package refererrestriction is the "referer_restriction" plugin: it allows
// or denies requests by the host of their Referer (hot-link protection),
// with the host patterns of locations.
package refererrestriction

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/router"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "referer_restriction"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New parses the host patterns once, exact and wildcard ones in the form
// a Referer's host is compared in (router.NormalizeHost: no brackets, no
// trailing dot).
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetRefererRestriction()
	if len(c.GetRefererList()) == 0 {
		return nil, fmt.Errorf("referer_list: required")
	}
	var patterns []config.HostPattern
	for i, s := range c.GetRefererList() {
		ps, err := config.ParseHosts(s)
		if err != nil {
			return nil, fmt.Errorf("referer_list[%d]: %w", i, err)
		}
		for _, p := range ps {
			if p.Kind != config.HostRegex {
				p.Value = router.NormalizeHost(p.Value)
			}
			patterns = append(patterns, p)
		}
	}
	deny, err := config.ParseAccessType(c.GetType(), "allow")
	if err != nil {
		return nil, fmt.Errorf("type: %w", err)
	}
	body := c.GetMessage()
	if body == "" {
		body = "forbidden"
	}
	blockEmpty := c.GetBlockEmpty()
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ref := r.Header.Get("Referer")
			if ref == "" {
				if !deny && blockEmpty {
					refused()
					plugin.Forbidden(w, body)
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			if matches(patterns, refererHost(ref)) == deny {
				refused()
				plugin.Forbidden(w, body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// refererHost is the host of a Referer URL as router.NormalizeHost gives
// it, "" if it has none.
func refererHost(ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return router.NormalizeHost(u.Host)
}

func matches(patterns []config.HostPattern, host string) bool {
	if host == "" {
		return false
	}
	for _, p := range patterns {
		switch p.Kind {
		case config.HostExact:
			if host == p.Value {
				return true
			}
		case config.HostWildcard:
			if strings.HasSuffix(host, p.Value) {
				return true
			}
		case config.HostRegex:
			if p.Regex.MatchString(host) {
				return true
			}
		}
	}
	return false
}
