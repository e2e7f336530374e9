// Package subfilter is the "sub_filter" plugin: it replaces strings in
// text response bodies while they stream, like nginx's sub_filter, with
// Pingap's rule syntax ("subs_filter 'FROM' 'TO' FLAGS").
//
// Rules apply in the order listed, each to the output of the one before,
// as if each ran over the whole body. A rule without the "g" flag replaces
// the first match of a response only. A match may span writes: each rule
// holds back the bytes a match could still start in, the longest literal
// pattern minus one byte (four times that for a case-insensitive one, as
// case folding may change the length of a character), and RegexWindow − 1
// bytes for a regex rule. A regex match is decided with RegexWindow bytes
// after its start: a longer match may be cut short or missed, and "^" and
// "\b" may match at the start of the held-back window.
//
// Only responses that are not encoded (no Content-Encoding) are filtered:
// list compression before sub_filter so that it compresses the filtered
// body. Filtered responses lose Content-Length and a strong ETag becomes
// weak.
package subfilter

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/transform"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "sub_filter"

// DefaultContentTypes returns the types filtered when content_types is
// empty.
func DefaultContentTypes() []string { return []string{"text/html"} }

// RegexWindow is how far past its start a regex match is looked for, and
// so the most a regex rule holds back between writes (minus one byte).
const RegexWindow = 4096

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// filter is the compiled plugin.
type filter struct {
	path  *regexp.Regexp // nil: every path
	rules []rule
	types config.MediaTypes
}

// rule is a compiled sub_filter rule.
type rule struct {
	from   []byte         // literal rules
	re     *regexp.Regexp // regex and case-insensitive rules
	to     []byte
	expand bool // "$1" in to refers to the regex's groups
	global bool
	window int // longest match looked for
}

// New compiles the plugin's options.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetSubFilter()
	f := &filter{}
	if p := c.GetPath(); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("path: %w", err)
		}
		f.path = re
	}
	if len(c.GetFilters()) == 0 {
		return nil, fmt.Errorf("filters: required")
	}
	for i, s := range c.GetFilters() {
		r, err := config.ParseSubFilter(s)
		if err != nil {
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		f.rules = append(f.rules, compile(r))
	}
	types := c.GetContentTypes()
	if len(types) == 0 {
		types = DefaultContentTypes()
	}
	var err error
	if f.types, err = config.ParseMediaTypes(types); err != nil {
		return nil, fmt.Errorf("content_types: %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(next, w, r) })
	}, nil
}

func compile(r config.SubFilterRule) rule {
	c := rule{to: []byte(r.To), global: r.Global}
	switch {
	case r.Regex:
		c.re, c.expand, c.window = r.Pattern, true, RegexWindow
	case r.IgnoreCase:
		c.re, c.window = r.Pattern, 4*len(r.From)
	default:
		c.from, c.window = []byte(r.From), len(r.From)
	}
	return c
}

func (f *filter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if transform.Passes(r) || f.path != nil && !f.path.MatchString(r.URL.Path) {
		next.ServeHTTP(w, r)
		return
	}
	fw := &filterWriter{rw: w, f: f, head: r.Method == http.MethodHead}
	next.ServeHTTP(fw, r)
	fw.finish()
}
