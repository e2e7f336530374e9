package limit

import (
	"fmt"
	"hash/maphash"
	"net/http"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/rawquery"
)

// keyFunc maps a request to the key it is counted by.
//
// Keys are 64-bit hashes with a seed chosen per instance, not the values
// themselves: a table entry costs the same whatever a client puts in a
// header, so max_keys bounds memory, and nobody outside the process can
// aim two values at one key (a chance collision among 100000 keys is about
// one in 10^9).
type keyFunc func(r *http.Request) uint64

// newKeyFunc returns the key function of tag ("ip", "header", "cookie",
// "query"; empty is "ip") and name (the header, cookie or parameter).
// Requests lacking the header, cookie or parameter share the key of the
// empty value.
func newKeyFunc(ctx plugin.BuildContext, tag, name string) (keyFunc, error) {
	seed := maphash.MakeSeed()
	if tag != "" && tag != "ip" && name == "" {
		return nil, fmt.Errorf("key: required with tag %q", tag)
	}
	switch tag {
	case "", "ip":
		clientIP := ctx.ClientAddr()
		return func(r *http.Request) uint64 {
			a := clientIP(r).As16()
			return maphash.Bytes(seed, a[:])
		}, nil
	case "header":
		if !config.ValidHeaderName(name) {
			return nil, fmt.Errorf("key: %q is not a header name", name)
		}
		name = http.CanonicalHeaderKey(name)
		return func(r *http.Request) uint64 {
			return maphash.String(seed, firstValue(r.Header[name]))
		}, nil
	case "cookie":
		if !config.ValidHeaderName(name) {
			return nil, fmt.Errorf("key: %q is not a cookie name", name)
		}
		return func(r *http.Request) uint64 {
			var v string
			if c, err := r.Cookie(name); err == nil {
				v = c.Value
			}
			return maphash.String(seed, v)
		}, nil
	case "query":
		return func(r *http.Request) uint64 {
			return maphash.String(seed, queryParam(r.URL.RawQuery, name))
		}, nil
	}
	return nil, fmt.Errorf("tag: %q is none of ip, header, cookie, query", tag)
}

func firstValue(vv []string) string {
	if len(vv) == 0 {
		return ""
	}
	return vv[0]
}

// queryParam is the first value of parameter name, "" when absent.
func queryParam(raw, name string) string {
	v, _ := rawquery.Get(raw, name)
	return v
}
