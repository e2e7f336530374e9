// Package ping is the "ping" plugin: it answers a liveness path itself with
// "pong", so whatever checks the proxy (a load balancer, Kubernetes) does not
// depend on an upstream.
package ping

import (
	"io"
	"net/http"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "ping"

// DefaultPath is the path answered when the config sets none.
const DefaultPath = "/ping"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware: GET or HEAD of the path is answered with 200
// "pong"; everything else passes on.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	path := cfg.GetPing().GetPath()
	if path == "" {
		path = DefaultPath
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h["Content-Type"] = []string{"text/plain; charset=utf-8"}
			h["Content-Length"] = []string{"5"}
			h["Cache-Control"] = []string{"no-store"}
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = io.WriteString(w, "pong\n")
			}
		})
	}, nil
}
