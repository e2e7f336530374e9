// Package responseheaders is the "response_headers" plugin: it removes,
// renames, sets and adds headers of the response, or of the request sent
// upstream.
package responseheaders

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "response_headers"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// edits are the compiled operations, applied in field order.
type edits struct {
	remove    []string
	rename    [][2]string
	set, add  []config.Header
	setAbsent []config.Header
}

func (e *edits) apply(h http.Header) {
	for _, n := range e.remove {
		delete(h, n)
	}
	for _, rn := range e.rename {
		if vv, ok := h[rn[0]]; ok {
			delete(h, rn[0])
			h[rn[1]] = append(h[rn[1]], vv...)
		}
	}
	for _, s := range e.set {
		h[s.Name] = []string{s.Value}
	}
	for _, s := range e.setAbsent {
		if _, ok := h[s.Name]; !ok {
			h[s.Name] = []string{s.Value}
		}
	}
	for _, a := range e.add {
		h[a.Name] = append(h[a.Name], a.Value)
	}
}

func headers(field string, list []string) ([]config.Header, error) {
	out := make([]config.Header, 0, len(list))
	for i, s := range list {
		h, err := config.ParseHeader(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// New compiles the operations once.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetResponseHeaders()
	e := &edits{}
	var err error
	if e.add, err = headers("add_headers", c.GetAddHeaders()); err != nil {
		return nil, err
	}
	if e.set, err = headers("set_headers", c.GetSetHeaders()); err != nil {
		return nil, err
	}
	if e.setAbsent, err = headers("set_headers_not_exists", c.GetSetHeadersNotExists()); err != nil {
		return nil, err
	}
	for i, n := range c.GetRemoveHeaders() {
		n = strings.TrimSpace(n)
		if !config.ValidHeaderName(n) {
			return nil, fmt.Errorf("remove_headers[%d]: %q is not a header name", i, n)
		}
		e.remove = append(e.remove, http.CanonicalHeaderKey(n))
	}
	for i, s := range c.GetRenameHeaders() {
		from, to, err := config.ParseHeaderRename(s)
		if err != nil {
			return nil, fmt.Errorf("rename_headers[%d]: %w", i, err)
		}
		e.rename = append(e.rename, [2]string{from, to})
	}
	if c.GetOnRequest() {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				e.apply(r.Header)
				next.ServeHTTP(w, r)
			})
		}, nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(plugin.OnHeaders(w, e.apply), r)
		})
	}, nil
}
