// Package redirect is the "redirect" plugin: it sends plain-HTTP requests
// to HTTPS and/or requests outside a path prefix to that prefix, with a
// configurable status.
package redirect

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "redirect"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetRedirect()
	status := int(c.GetStatus())
	if status == 0 {
		status = http.StatusMovedPermanently
	}
	if !config.RedirectStatus(status) {
		return nil, fmt.Errorf("status: %d is not a redirect status (301, 302, 303, 307, 308)", status)
	}
	prefix := strings.TrimSuffix(c.GetPrefix(), "/")
	toHTTPS, host := c.GetHttpToHttps(), c.GetHost()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			path := r.URL.EscapedPath()
			moved := false
			if toHTTPS && r.TLS == nil {
				scheme, moved = "https", true
			}
			if prefix != "" && path != prefix && !strings.HasPrefix(path, prefix+"/") {
				path, moved = prefix+path, true
			}
			if !moved {
				next.ServeHTTP(w, r)
				return
			}
			target := host
			if target == "" {
				target = r.Host
			}
			url := scheme + "://" + target + path
			if r.URL.RawQuery != "" {
				url += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", url)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(status)
		})
	}, nil
}
