// Package encoding reads a request's Accept-Encoding (RFC 9110 section
// 12.5.3) for the plugins that negotiate content codings: compression picks
// the coding of a response with it, accept_encoding rewrites the header
// sent upstream with it, directory picks a precompressed file with it. It
// is the one copy of that parser.
//
// Coding names compare case-insensitively and "x-gzip" means "gzip". A
// q-value is kept in thousandths (0..1000). An entry whose q-value does not
// parse is ignored.
package encoding

import "strings"

// Identity is the coding name of an unencoded representation.
const Identity = "identity"

// MaxQ is the q-value of "q=1", the default weight.
const MaxQ = 1000

// Preference is the client's weight for coding (0..1000), by RFC 9110: the
// coding's own entry, else the "*" entry's, else 1000 for "identity" (an
// unencoded body is acceptable unless refused) and 0 for any other coding.
//
// A request without Accept-Encoding (values nil or empty) accepts identity
// only: the RFC would allow any coding, but clients that send no header
// (curl, scripts) rarely decode one, and every browser sends it.
func Preference(values []string, coding string) int {
	q, explicit := lookup(values, coding)
	if explicit {
		return q
	}
	if strings.EqualFold(coding, Identity) {
		return MaxQ
	}
	return 0
}

// Negotiate returns the offered coding the client prefers: the one with
// the highest weight above 0, ties going to the earlier offer. It returns
// "" (send the body unencoded) when no offer is acceptable, or when the
// client lists "identity" explicitly with a higher weight than the best
// offer.
func Negotiate(values []string, offers []string) string {
	best, bestQ := "", 0
	for _, o := range offers {
		if q := Preference(values, o); q > bestQ {
			best, bestQ = o, q
		}
	}
	if best == "" {
		return ""
	}
	if q, ok := explicitOnly(values, Identity); ok && q > bestQ {
		return ""
	}
	return best
}

// lookup finds coding's weight: its own entry (the first one), else the
// first "*" entry. explicit is false when neither is listed.
func lookup(values []string, coding string) (q int, explicit bool) {
	starQ, star := 0, false
	found := false
	each(values, func(c string, cq int) bool {
		switch {
		case equalCoding(c, coding):
			q, found = cq, true
			return false
		case c == "*" && !star:
			starQ, star = cq, true
		}
		return true
	})
	if found {
		return q, true
	}
	return starQ, star
}

// explicitOnly is coding's own entry, ignoring "*".
func explicitOnly(values []string, coding string) (q int, ok bool) {
	each(values, func(c string, cq int) bool {
		if equalCoding(c, coding) {
			q, ok = cq, true
			return false
		}
		return true
	})
	return q, ok
}

// equalCoding compares coding names as RFC 9110 does: case-insensitively,
// with "x-gzip" the same as "gzip".
func equalCoding(a, b string) bool {
	return strings.EqualFold(alias(a), alias(b))
}

func alias(c string) string {
	if strings.EqualFold(c, "x-gzip") {
		return "gzip"
	}
	return c
}

// each calls fn with every well-formed entry of values, in order, until fn
// returns false. It does not allocate.
func each(values []string, fn func(coding string, q int) bool) {
	for _, line := range values {
		for line != "" {
			var item string
			item, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.TrimSpace(coding)
			if coding == "" {
				continue
			}
			q, ok := weight(params)
			if !ok {
				continue
			}
			if !fn(coding, q) {
				return
			}
		}
	}
}

// weight reads the q parameter among an entry's parameters ("q=0.5");
// without one the weight is 1000. ok is false when q does not parse.
func weight(params string) (q int, ok bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		return parseQ(strings.TrimSpace(val))
	}
	return MaxQ, true
}

// parseQ parses a qvalue: "0", "0.", "0.5", "0.125", "1", "1.000".
func parseQ(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0]-'0') * MaxQ
	if len(s) == 1 {
		return whole, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	frac, scale := 0, 100
	for i := 2; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' || whole == MaxQ && d != '0' {
			return 0, false
		}
		frac += int(d-'0') * scale
		scale /= 10
	}
	return whole + frac, true
}
