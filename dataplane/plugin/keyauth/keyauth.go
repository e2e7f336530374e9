// Package keyauth is the "key_auth" plugin: only requests carrying one of
// the configured keys, in a header or a query parameter, pass.
package keyauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/rawquery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "key_auth"

// DefaultName is the header or parameter name when none is configured.
const DefaultName = "X-Api-Key"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware. Keys are kept as SHA-256 digests and compared
// in constant time against every one, so neither a key's length nor which
// key nearly matched shows in the timing.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetKeyAuth()
	if len(c.GetKeys()) == 0 {
		return nil, fmt.Errorf("keys: required")
	}
	digests := make([][32]byte, 0, len(c.GetKeys()))
	for i, k := range c.GetKeys() {
		if k == "" {
			return nil, fmt.Errorf("keys[%d]: empty", i)
		}
		digests = append(digests, sha256.Sum256([]byte(k)))
	}
	name := c.GetName()
	if name == "" {
		name = DefaultName
	}
	var inQuery bool
	switch c.GetLookup() {
	case "", "header":
		if !config.ValidHeaderName(name) {
			return nil, fmt.Errorf("name: %q is not a header name", name)
		}
		name = http.CanonicalHeaderKey(name)
	case "query":
		inQuery = true
	default:
		return nil, fmt.Errorf("lookup: %q is neither header nor query", c.GetLookup())
	}
	hide := c.GetHideCredential()
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var key string
			if inQuery {
				key, _ = rawquery.Get(r.URL.RawQuery, name)
			} else {
				key = r.Header.Get(name)
			}
			if !match(digests, key) {
				refused()
				plugin.Answer(w, http.StatusUnauthorized, "unauthorized")
				return
			}
			if hide {
				if inQuery {
					r.URL.RawQuery = rawquery.Remove(r.URL.RawQuery, name)
				} else {
					delete(r.Header, name)
				}
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

func match(digests [][32]byte, key string) bool {
	d := sha256.Sum256([]byte(key))
	ok := 0
	for i := range digests {
		ok |= subtle.ConstantTimeCompare(d[:], digests[i][:])
	}
	return ok == 1 && key != ""
}
