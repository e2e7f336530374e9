package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/dataplane/proxy"
)

// This file holds the HTTP caching rules (RFC 9111, and the conditional
// requests of RFC 9110 section 13): Cache-Control parsing, whether a
// response may be stored and for how long, and whether a client's
// conditional request is answered with 304.

// directives are the Cache-Control directives the cache acts on, of a
// request or a response.
type directives struct {
	noStore, noCache, private, public, mustRevalidate, onlyIfCached bool
	// maxAge and sMaxAge are in seconds; -1 when absent.
	maxAge, sMaxAge int64
}

// maxDelta is the largest delta-seconds value used (RFC 9111 1.2.2: a
// larger one means 2^31).
const maxDelta = 1 << 31

// parseCacheControl reads the directives of every Cache-Control field
// value. Qualified no-cache and private (no-cache="Set-Cookie") count as
// their unqualified forms: the cache does not store partial responses. An
// unparsable max-age or s-maxage counts as 0 (stale), never as fresh.
func parseCacheControl(values []string) directives {
	d := directives{maxAge: -1, sMaxAge: -1}
	for _, v := range values {
		for v != "" {
			var item string
			item, v = nextDirective(v)
			name, arg, _ := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			switch name {
			case "no-store":
				d.noStore = true
			case "no-cache":
				d.noCache = true
			case "private":
				d.private = true
			case "public":
				d.public = true
			case "must-revalidate", "proxy-revalidate":
				d.mustRevalidate = true
			case "only-if-cached":
				d.onlyIfCached = true
			case "max-age":
				if d.maxAge < 0 {
					d.maxAge = deltaSeconds(arg)
				}
			case "s-maxage":
				if d.sMaxAge < 0 {
					d.sMaxAge = deltaSeconds(arg)
				}
			}
		}
	}
	return d
}

// nextDirective splits the first directive off a Cache-Control value; a
// comma inside a quoted argument does not end it.
func nextDirective(s string) (item, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				return strings.TrimSpace(s[:i]), s[i+1:]
			}
		}
	}
	return strings.TrimSpace(s), ""
}

// deltaSeconds parses a directive's delta-seconds argument (quotes
// tolerated); anything invalid is 0.
func deltaSeconds(s string) int64 {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxDelta {
		return maxDelta // only overflow fails once the digits are checked
	}
	return n
}

// requestDirectives are a request's Cache-Control directives, with
// max-age=0 (a browser's reload) and, when there is no Cache-Control,
// "Pragma: no-cache" (RFC 9111 5.4) counting as no-cache.
func requestDirectives(r *http.Request) directives {
	cc := r.Header["Cache-Control"]
	d := parseCacheControl(cc)
	if d.maxAge == 0 {
		d.noCache = true // a reload: whatever the age, ask upstream
	}
	if len(cc) == 0 {
		for _, p := range r.Header["Pragma"] {
			if strings.Contains(strings.ToLower(p), "no-cache") {
				d.noCache = true
			}
		}
	}
	return d
}

// heuristicStatus reports whether a status may be cached without explicit
// freshness, with default_ttl (RFC 9110 15.1's heuristically cacheable
// codes, less 206: the cache does not store partial content).
func heuristicStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// explicitStatus reports whether a status may be cached with explicit
// freshness: the heuristic set and the temporary redirects 302 and 307.
func explicitStatus(code int) bool {
	return heuristicStatus(code) || code == http.StatusFound || code == http.StatusTemporaryRedirect
}

// plan is how a storable response is kept.
type plan struct {
	// ttl is the freshness left when it was received (the lifetime less its
	// Age, capped by max_ttl); zero or less is stale at once.
	ttl time.Duration
	// age is the Age the upstream sent.
	age time.Duration
	// noCache means it must be revalidated before every use.
	noCache bool
	// mustRevalidate forbids serving it stale.
	mustRevalidate bool
	// vary lists the request headers it varies on, canonical and sorted.
	vary []string
}

// decide tells whether a response with status and header h, received at
// now for r, may be stored, and how. Headers alone decide: the body size
// is checked while it is read.
func (c *Cache) decide(r *http.Request, status int, h http.Header, now time.Time) (plan, bool) {
	if !explicitStatus(status) {
		return plan{}, false
	}
	d := parseCacheControl(h["Cache-Control"])
	if d.noStore || d.private || len(h["Set-Cookie"]) > 0 {
		return plan{}, false
	}
	vary, ok := varyNames(h)
	if !ok {
		return plan{}, false
	}
	// RFC 9111 3.5: a response to an authenticated request is shared only
	// when it says so.
	if len(r.Header["Authorization"]) > 0 && !d.public && d.sMaxAge < 0 && !d.mustRevalidate {
		return plan{}, false
	}
	life, explicit := lifetime(d, h, now)
	switch {
	case explicit:
	case d.noCache:
		life = 0 // kept only to be revalidated, with its validator
	case c.opts.defaultTTL > 0 && heuristicStatus(status):
		life = c.opts.defaultTTL
	default:
		return plan{}, false
	}
	age := time.Duration(deltaSeconds(firstValue(h, "Age"))) * time.Second
	p := plan{ttl: min(life-age, c.opts.maxTTL), age: age, noCache: d.noCache, mustRevalidate: d.mustRevalidate, vary: vary}
	if (p.ttl <= 0 || p.noCache) && firstValue(h, "Etag") == "" && firstValue(h, "Last-Modified") == "" {
		return plan{}, false // it could never be used without a full fetch
	}
	return p, true
}

// lifetime is a response's explicit freshness lifetime (RFC 9111 4.2.1):
// s-maxage, else max-age, else Expires less Date (less now without a
// Date). An invalid Expires means already expired.
func lifetime(d directives, h http.Header, now time.Time) (time.Duration, bool) {
	switch {
	case d.sMaxAge >= 0:
		return time.Duration(d.sMaxAge) * time.Second, true
	case d.maxAge >= 0:
		return time.Duration(d.maxAge) * time.Second, true
	}
	exp, ok := h["Expires"]
	if !ok {
		return 0, false
	}
	t, err := http.ParseTime(firstOf(exp))
	if err != nil {
		return 0, true
	}
	base := now
	if date, err := http.ParseTime(firstValue(h, "Date")); err == nil {
		base = date
	}
	return max(t.Sub(base), 0), true
}

// varyNames returns the header names of a response's Vary, canonical,
// sorted and without duplicates; ok is false for "Vary: *", which nothing
// can match.
func varyNames(h http.Header) (names []string, ok bool) {
	for _, v := range h["Vary"] {
		for _, n := range strings.Split(v, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "*":
				return nil, false
			case n != "":
				names = append(names, http.CanonicalHeaderKey(n))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), true
}

// notModified reports whether r's own conditional headers match a
// response with header h (RFC 9110 13.2.2): If-None-Match against its
// ETag (weak comparison), else If-Modified-Since against its
// Last-Modified.
func notModified(r *http.Request, h http.Header) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		etag := firstValue(h, "Etag")
		if etag == "" {
			return false
		}
		for _, v := range inm {
			if etagListMatches(v, etag) {
				return true
			}
		}
		return false
	}
	ims := firstValue(r.Header, "If-Modified-Since")
	lm := firstValue(h, "Last-Modified")
	if ims == "" || lm == "" {
		return false
	}
	since, err1 := http.ParseTime(ims)
	modified, err2 := http.ParseTime(lm)
	return err1 == nil && err2 == nil && !modified.After(since)
}

// etagListMatches reports whether the If-None-Match value list (or "*")
// holds etag, comparing weakly (W/ ignored).
func etagListMatches(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for list != "" {
		list = strings.TrimLeft(list, " \t,")
		if list == "" {
			return false
		}
		if list[0] == '*' {
			return true
		}
		list = strings.TrimPrefix(list, "W/")
		if list == "" || list[0] != '"' {
			return false // malformed: no match rather than a guess
		}
		end := strings.IndexByte(list[1:], '"')
		if end < 0 {
			return false
		}
		if list[:end+2] == etag {
			return true
		}
		list = list[end+2:]
	}
	return false
}

// notModifiedHeaders are the stored fields a 304 carries (RFC 9110 15.4.5).
var notModifiedHeaders = [...]string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Last-Modified", "Vary"}

// storedHeader copies h for storing, without hop-by-hop fields (and those
// named in Connection), Age (recomputed on every hit) and X-Cache. The
// copy's value slices are clipped, so a writer appending to a served
// header cannot reach the stored one.
func storedHeader(h http.Header) http.Header {
	out := h.Clone()
	proxy.RemoveHopHeaders(out)
	delete(out, "Age")
	delete(out, HeaderXCache)
	return out
}

// mergeHeaders updates a stored header with a 304's fields (RFC 9111
// 3.2), all but Content-Length and the ones never stored; the 304's Age
// is kept in the result for the freshness arithmetic.
func mergeHeaders(stored, fresh http.Header) http.Header {
	merged := stored.Clone()
	update := storedHeader(fresh)
	delete(update, "Content-Length")
	for k, v := range update {
		merged[k] = v
	}
	if age, ok := fresh["Age"]; ok {
		merged["Age"] = age
	}
	return merged
}

func firstValue(h http.Header, name string) string { return firstOf(h[name]) }

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
