// Package acceptencoding is the "accept_encoding" plugin: it rewrites the
// Accept-Encoding sent upstream to the codings the client accepts among
// the configured ones, in the configured order, so upstream servers and
// caches see few variants of it.
package acceptencoding

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/encoding"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "accept_encoding"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// normaliser is the compiled plugin.
type normaliser struct {
	encodings []string // in order of preference
	all       string   // every encoding, joined: the common answer
	onlyOne   bool
}

// New compiles the plugin's options.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetAcceptEncoding()
	list, err := config.ParseEncodings(c.GetEncodings())
	if err != nil {
		return nil, fmt.Errorf("encodings: %w", err)
	}
	n := &normaliser{encodings: list, all: strings.Join(list, ", "), onlyOne: c.GetOnlyOneEncoding()}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.rewrite(r.Header)
			next.ServeHTTP(w, r)
		})
	}, nil
}

// rewrite replaces h's Accept-Encoding with the kept codings, or removes
// it when none is kept.
func (n *normaliser) rewrite(h http.Header) {
	if v := n.value(h["Accept-Encoding"]); v != "" {
		h["Accept-Encoding"] = []string{v}
	} else {
		delete(h, "Accept-Encoding")
	}
}

// value is the Accept-Encoding to send for the client's lines: the
// configured codings the client accepts (weight above 0, "*" included), in
// the configured order, joined with ", "; only the first when
// only_one_encoding is set; "" when none is.
func (n *normaliser) value(accept []string) string {
	var b strings.Builder
	kept := 0
	for _, e := range n.encodings {
		if encoding.Preference(accept, e) == 0 {
			continue
		}
		if n.onlyOne {
			return e
		}
		if kept > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e)
		kept++
	}
	if kept == len(n.encodings) {
		return n.all
	}
	return b.String()
}
