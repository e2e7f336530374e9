package directory

import (
	"strconv"
	"strings"
)

// coding is a precompressed variant: its Content-Encoding token and the
// suffix of its file next to the original.
type coding struct {
	token, suffix string
}

// codings are the precompressed variants, in the server's order of
// preference when the client weighs them equally.
var codings = [...]coding{{"br", ".br"}, {"gzip", ".gz"}}

// acceptedCodings returns the indexes into codings the client accepts
// (q > 0), best first, in order[:n], per RFC 9110 section 12.5.3: a coding listed by name
// takes its own q-value (q=0 refuses it even when "*" is accepted), an
// unlisted one takes the q-value of "*" if present and is refused
// otherwise. "x-gzip" is gzip. Equal q-values keep the server's order. A
// malformed q-value counts as 0.
//
// TODO: merge with the compression plugin's parser once it lands (this one
// only needs the two codings a precompressed file may have).
func acceptedCodings(values []string) (order [len(codings)]int, n int) {
	q := [len(codings)]float64{}
	listed := [len(codings)]bool{}
	star, haveStar := 0.0, false
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(elem, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			w := qValue(params)
			if name == "*" {
				star, haveStar = max(star, w), true
				continue
			}
			if name == "x-gzip" {
				name = "gzip"
			}
			for i, c := range codings {
				if c.token == name {
					if !listed[i] || w > q[i] {
						q[i] = w
					}
					listed[i] = true
				}
			}
		}
	}
	for i := range codings {
		if !listed[i] && haveStar {
			q[i] = star
		}
		if q[i] > 0 {
			order[n] = i
			n++
		}
	}
	// There are two codings: order them by q, keeping ties.
	if n == 2 && q[order[1]] > q[order[0]] {
		order[0], order[1] = order[1], order[0]
	}
	return order, n
}

// qValue reads the "q" parameter of an Accept-Encoding element's
// parameters (";q=0.5"); it is 1 when absent, 0 when malformed or out of
// 0..1.
func qValue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return 0
		}
		return f
	}
	return 1
}
