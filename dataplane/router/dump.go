package router

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pingap-go/pingap/config"
)

// String prints the compiled tables: for each exact host, each wildcard
// suffix and for all other hosts, the locations in the order Match tries
// them. In the tables of hosts not named exactly, the host regexes of rows
// marked "(per request)" are tested when their turn comes. The output is stable and meant for golden tests and debugging.
func (r *Router[T]) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "router: %d locations\n", len(r.locs))
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	for _, h := range slices.Sorted(maps.Keys(r.exact)) {
		fmt.Fprintf(tw, "host %s:\n", h)
		for i, c := range r.exact[h] {
			rank, _ := rankForHost(&r.locs[c.loc], h)
			r.writeRow(tw, i+1, c.loc, rank, "")
		}
	}
	for _, s := range slices.Sorted(maps.Keys(r.wild)) {
		fmt.Fprintf(tw, "host *%s:\n", s)
		r.writeTier(tw, r.wild[s], s)
	}
	fmt.Fprintf(tw, "other hosts:\n")
	r.writeTier(tw, &r.other, "")
	tw.Flush()
	return sb.String()
}

// writeTier prints a tier's two lists merged in the order Match tries them.
func (r *Router[T]) writeTier(tw *tabwriter.Writer, t *tier, suffix string) {
	if len(t.static)+len(t.regex) == 0 {
		fmt.Fprintf(tw, "  (none)\n")
	}
	i, j := 0, 0
	for n := 1; i < len(t.static) || j < len(t.regex); n++ {
		if j == len(t.regex) || i < len(t.static) && t.static[i].ord < t.regex[j].ord {
			rank, _, _ := rankForSuffix(&r.locs[t.static[i].loc], suffix)
			r.writeRow(tw, n, t.static[i].loc, rank, "")
			i++
			continue
		}
		r.writeRow(tw, n, t.regex[j].loc, hostRank{tier: tierRegex}, " (per request)")
		j++
	}
}

// writeRow prints one candidate: position, name, weight, the host pattern it
// matches through (followed by note) and its path.
func (r *Router[T]) writeRow(tw *tabwriter.Writer, n int, loc int32, rank hostRank, note string) {
	l := &r.locs[loc]
	weight := "-"
	if l.weighted {
		weight = fmt.Sprintf("weight=%d", l.weight)
	}
	fmt.Fprintf(tw, "  %d.\t%s\t%s\tpath %s\thost %s%s\n", n, quoteName(l.name), weight, pathString(l.path), l.rankString(rank), note)
}

// rankString shows the host pattern through which l matches with rank.
func (l *location) rankString(rank hostRank) string {
	switch rank.tier {
	case tierExact:
		return rank.pattern
	case tierWildcard:
		return "*" + rank.pattern
	case tierRegex:
		var parts []string
		for _, p := range l.hosts {
			if p.Kind == config.HostRegex {
				parts = append(parts, "~"+p.Value)
			}
		}
		return strings.Join(parts, ",")
	default:
		return "(any)"
	}
}

func pathString(p config.PathPattern) string {
	switch p.Kind {
	case config.PathExact:
		return "=" + p.Value
	case config.PathRegex:
		return "~" + p.Value
	default:
		return p.Value
	}
}

// quoteName quotes a name only when it would not read as one word.
func quoteName(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
