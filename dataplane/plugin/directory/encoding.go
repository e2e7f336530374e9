package directory

import "github.com/pingap-go/pingap/dataplane/plugin/internal/encoding"

// coding is a precompressed variant: its Content-Encoding token and the
// suffix of its file next to the original.
type coding struct {
	token, suffix string
}

// codings are the precompressed variants, in the server's order of
// preference when the client weighs them equally.
var codings = [...]coding{{"br", ".br"}, {"gzip", ".gz"}}

// acceptedCodings returns the indexes into codings the client accepts
// (weight above 0, by the shared Accept-Encoding parser), best first, in
// order[:n]; equal weights keep the server's order.
func acceptedCodings(values []string) (order [len(codings)]int, n int) {
	var q [len(codings)]int
	for i, c := range codings {
		if q[i] = encoding.Preference(values, c.token); q[i] > 0 {
			order[n] = i
			n++
		}
	}
	// There are two codings: order them by weight, keeping ties.
	if n == 2 && q[order[1]] > q[order[0]] {
		order[0], order[1] = order[1], order[0]
	}
	return order, n
}
