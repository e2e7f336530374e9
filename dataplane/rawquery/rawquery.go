// Package rawquery reads and edits a request's raw query string in place:
// reading a parameter decodes only that parameter (no url.Values, no
// allocation unless it is escaped), and removing parameters leaves the
// others byte for byte as the client sent them (a parsed and re-encoded
// query would be sorted, turn %20 into + and drop pairs with a ";").
package rawquery

import (
	"net/url"
	"slices"
	"strings"
)

// Get returns the first value of parameter name in raw, decoded, as
// url.ParseQuery(raw).Get(name) would: a pair whose name or value does not
// decode, or that holds a ";", is skipped. ok reports whether the
// parameter is present.
func Get(raw, name string) (value string, ok bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // url.ParseQuery rejects pairs with a semicolon
		}
		k, v, _ := strings.Cut(pair, "=")
		if !keyIs(k, name) {
			continue
		}
		if !strings.ContainsAny(v, "%+") {
			return v, true
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		return u, true
	}
	return "", false
}

// keyIs reports whether the raw key decodes to name.
func keyIs(raw, name string) bool {
	if !strings.ContainsAny(raw, "%+") {
		return raw == name
	}
	k, err := url.QueryUnescape(raw)
	return err == nil && k == name
}

// Remove returns raw without the parameters named names (compared
// decoded); the others keep their order and their exact encoding.
func Remove(raw string, names ...string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if !slices.Contains(names, k) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}
