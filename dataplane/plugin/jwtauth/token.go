package jwtauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/rawquery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// source is where a token was found.
type source int

const (
	fromHeader source = iota + 1
	fromCookie
	fromQuery
)

// finder reads the token from the header, then the cookie, then the query
// parameter; an empty name is not looked at.
type finder struct {
	header, cookie, query string
}

func newFinder(c *pb.JwtPlugin) (finder, error) {
	f := finder{header: c.GetHeader(), cookie: c.GetCookie(), query: c.GetQuery()}
	if f.header == "" && f.cookie == "" && f.query == "" {
		f.header = DefaultHeader
	}
	if f.header != "" {
		if !config.ValidHeaderName(f.header) {
			return finder{}, fmt.Errorf("header: %q is not a header name", f.header)
		}
		f.header = http.CanonicalHeaderKey(f.header)
	}
	if f.cookie != "" && !config.ValidHeaderName(f.cookie) {
		return finder{}, fmt.Errorf("cookie: %q is not a cookie name", f.cookie)
	}
	return f, nil
}

// token returns the first token found and where; "" when there is none.
func (f finder) token(r *http.Request) (string, source) {
	if f.header != "" {
		if v := bearer(r.Header.Get(f.header)); v != "" {
			return v, fromHeader
		}
	}
	if f.cookie != "" {
		if c, err := r.Cookie(f.cookie); err == nil && c.Value != "" {
			return c.Value, fromCookie
		}
	}
	if f.query != "" {
		if v, _ := rawquery.Get(r.URL.RawQuery, f.query); v != "" {
			return v, fromQuery
		}
	}
	return "", 0
}

// bearer trims v and removes a "Bearer" scheme, in any case.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	const scheme = "bearer"
	if len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) &&
		(len(v) == len(scheme) || v[len(scheme)] == ' ' || v[len(scheme)] == '\t') {
		return strings.TrimSpace(v[len(scheme):])
	}
	return v
}

// remove takes the token out of the request, where it was found; other
// cookies and query parameters stay as they were.
func (f finder) remove(r *http.Request, src source) {
	switch src {
	case fromHeader:
		delete(r.Header, f.header)
	case fromCookie:
		dropCookie(r.Header, f.cookie)
	case fromQuery:
		r.URL.RawQuery = rawquery.Remove(r.URL.RawQuery, f.query)
	}
}

// dropCookie removes the cookie called name from the Cookie header(s).
func dropCookie(h http.Header, name string) {
	var lines []string
	for _, line := range h["Cookie"] {
		var kept []string
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if n, _, _ := strings.Cut(part, "="); part != "" && strings.TrimSpace(n) != name {
				kept = append(kept, part)
			}
		}
		if len(kept) > 0 {
			lines = append(lines, strings.Join(kept, "; "))
		}
	}
	if len(lines) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = lines
}

// claimHeader forwards a verified claim as a request header.
type claimHeader struct {
	claim  string
	header string // canonical
}

// claimValue renders a claim for a header: a string as is, a number or a
// boolean plainly, an array or object as compact JSON. A missing or null
// claim, or one that cannot be a header value, gives false.
func claimValue(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case json.Number:
		s = x.String()
		if strings.ContainsAny(s, ".eE") {
			f, err := x.Float64()
			if err != nil {
				return "", false
			}
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return "", false
		}
		s = strings.TrimSuffix(b.String(), "\n")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return "", false
		}
	}
	return s, true
}
