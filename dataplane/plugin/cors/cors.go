// Package cors is the "cors" plugin: it answers CORS preflight requests
// itself and adds the CORS response headers for allowed origins.
package cors

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "cors"

// DefaultMethods are the methods allowed when allow_methods is unset.
const DefaultMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// policy is the compiled plugin.
type policy struct {
	any, echo   bool // "*" or "$http_origin"
	origins     []config.CORSOrigin
	methods     string
	headers     string
	expose      string
	credentials bool
	maxAge      string
}

// New compiles the policy once.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetCors()
	anyOrigin, echo, list, err := config.ParseCORSOrigins(c.GetAllowOrigin())
	if err != nil {
		return nil, fmt.Errorf("allow_origin: %w", err)
	}
	p := &policy{any: anyOrigin, echo: echo, origins: list, methods: c.GetAllowMethods(),
		headers: c.GetAllowHeaders(), expose: c.GetExposeHeaders(), credentials: c.GetAllowCredential()}
	if p.methods == "" {
		p.methods = DefaultMethods
	}
	if d := c.GetMaxAge().AsDuration(); d > 0 {
		p.maxAge = strconv.Itoa(int(d.Seconds()))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(next, w, r) })
	}, nil
}

// allowed reports whether o may read responses.
func (p *policy) allowed(o string) bool {
	if p.any || p.echo {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, og := range p.origins {
		if og.Scheme != "" && og.Scheme != u.Scheme {
			continue
		}
		if og.Wildcard && strings.HasSuffix(host, og.Host) || !og.Wildcard && host == og.Host {
			return true
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for o.
func (p *policy) allowOrigin(o string) string {
	if p.any && !p.echo && !p.credentials {
		return "*"
	}
	return o
}

func (p *policy) common(h http.Header, o string) {
	h.Set("Access-Control-Allow-Origin", p.allowOrigin(o))
	h.Add("Vary", "Origin")
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (p *policy) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	if o == "" {
		next.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if !p.allowed(o) {
			plugin.Forbidden(w, "forbidden")
			return
		}
		h := w.Header()
		p.common(h, o)
		h.Set("Access-Control-Allow-Methods", p.methods)
		allowHeaders := p.headers
		if allowHeaders == "" {
			allowHeaders = r.Header.Get("Access-Control-Request-Headers")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if allowHeaders != "" {
			h.Set("Access-Control-Allow-Headers", allowHeaders)
		}
		if p.maxAge != "" {
			h.Set("Access-Control-Max-Age", p.maxAge)
		}
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !p.allowed(o) {
		next.ServeHTTP(w, r) // no CORS headers: the browser keeps the response from the page
		return
	}
	next.ServeHTTP(plugin.OnHeaders(w, func(h http.Header) {
		p.common(h, o)
		if p.expose != "" {
			h.Set("Access-Control-Expose-Headers", p.expose)
		}
	}), r)
}
