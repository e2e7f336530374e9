package router

import (
	"cmp"
	"slices"

	"github.com/pingap-go/pingap/config"
)

// hostTier is the kind of host pattern through which a location matches a
// host, in priority order.
type hostTier uint8

const (
	tierExact hostTier = iota
	tierWildcard
	tierRegex
	tierAny
)

// hostRank is how well a location's host patterns match one host.
type hostRank struct {
	tier      hostTier
	suffixLen int // length of the matching wildcard suffix, for tierWildcard
	pattern   string
}

// candKey identifies a candidate in the global priority order.
type candKey struct {
	loc  int32
	rank hostRank
}

// rankForHost returns the best rank of loc's host patterns for the
// normalized host h, and false when none matches.
func rankForHost(loc *location, h string) (hostRank, bool) {
	if len(loc.hosts) == 0 {
		return hostRank{tier: tierAny}, true
	}
	best, ok := hostRank{}, false
	for _, p := range loc.hosts {
		switch p.Kind {
		case config.HostExact:
			if p.Value == h {
				return hostRank{tier: tierExact, pattern: p.Value}, true
			}
		case config.HostWildcard:
			if wildcardMatches(h, p.Value) && (!ok || best.tier > tierWildcard || len(p.Value) > best.suffixLen) {
				best, ok = hostRank{tier: tierWildcard, suffixLen: len(p.Value), pattern: p.Value}, true
			}
		case config.HostRegex:
			if !ok && p.Regex.MatchString(h) {
				best, ok = hostRank{tier: tierRegex}, true
			}
		}
	}
	return best, ok
}

// rankForSuffix places loc in the table for hosts not named exactly whose
// longest matching wildcard suffix is s ("" for hosts no wildcard matches):
// known is true when loc matches every such host, with that rank, and
// regex is true when loc matches such a host only if a host regex does.
func rankForSuffix(loc *location, s string) (rank hostRank, known, regex bool) {
	if len(loc.hosts) == 0 {
		return hostRank{tier: tierAny}, true, false
	}
	for _, p := range loc.hosts {
		if p.Kind != config.HostWildcard || !(p.Value == s || wildcardMatches(s, p.Value)) {
			continue
		}
		if !known || len(p.Value) > rank.suffixLen {
			rank, known = hostRank{tier: tierWildcard, suffixLen: len(p.Value), pattern: p.Value}, true
		}
	}
	if known {
		return rank, true, false
	}
	if len(loc.regexes) > 0 {
		return hostRank{tier: tierRegex}, false, true
	}
	return hostRank{}, false, false
}

// buildTables computes the exact-host lists, the wildcard tiers and the
// tier for other hosts, each sorted in priority order.
func buildTables(locs []location) (map[string][]candidate, map[string]*tier, tier) {
	b := builder{locs: locs, ords: make(map[candKey]int32)}
	exactHosts := make(map[string]bool)
	suffixes := make(map[string]bool)
	for i := range locs {
		for _, p := range locs[i].hosts {
			switch p.Kind {
			case config.HostExact:
				exactHosts[p.Value] = true
			case config.HostWildcard:
				suffixes[p.Value] = true
			}
		}
	}
	exact := make(map[string][]candidate, len(exactHosts))
	for h := range exactHosts {
		var list []candidate
		for i := range locs {
			if rank, ok := rankForHost(&locs[i], h); ok {
				list = append(list, b.add(i, rank))
			}
		}
		exact[h] = list
	}
	wild := make(map[string]*tier, len(suffixes))
	for s := range suffixes {
		wild[s] = b.tier(s)
	}
	other := b.tier("")

	b.number()
	for h, list := range exact {
		exact[h] = b.sorted(list)
	}
	for _, t := range wild {
		t.static, t.regex = b.sorted(t.static), b.sorted(t.regex)
	}
	other.static, other.regex = b.sorted(other.static), b.sorted(other.regex)
	return exact, wild, *other
}

// builder collects candidates and numbers them in the global priority order.
type builder struct {
	locs []location
	ords map[candKey]int32
	keys []candKey
	pos  []int32
}

// add returns a candidate for locs[loc] with the given host rank; its ord is
// the index of its key until number runs.
func (b *builder) add(loc int, rank hostRank) candidate {
	k := candKey{loc: int32(loc), rank: rank}
	ord, ok := b.ords[k]
	if !ok {
		ord = int32(len(b.keys))
		b.ords[k] = ord
		b.keys = append(b.keys, k)
	}
	l := &b.locs[loc]
	c := candidate{ord: ord, loc: int32(loc), pathKind: l.path.Kind, pathValue: l.path.Value, pathRegex: l.path.Regex}
	if rank.tier == tierRegex {
		c.hostRegex = l.regexes
	}
	return c
}

// tier builds the table for hosts whose longest wildcard suffix is s.
func (b *builder) tier(s string) *tier {
	t := &tier{}
	for i := range b.locs {
		rank, known, regex := rankForSuffix(&b.locs[i], s)
		switch {
		case known:
			t.static = append(t.static, b.add(i, rank))
		case regex:
			t.regex = append(t.regex, b.add(i, rank))
		}
	}
	return t
}

// number sorts the collected keys and maps each key index to its position.
func (b *builder) number() {
	sorted := slices.Clone(b.keys)
	slices.SortFunc(sorted, func(x, y candKey) int { return compareKeys(b.locs, x, y) })
	pos := make([]int32, len(b.keys))
	for p, k := range sorted {
		pos[b.ords[k]] = int32(p)
	}
	b.keys = nil
	b.ords = nil
	b.pos = pos
}

// sorted replaces each candidate's key index with its position and sorts the
// list by it.
func (b *builder) sorted(list []candidate) []candidate {
	for i := range list {
		list[i].ord = b.pos[list[i].ord]
	}
	slices.SortFunc(list, func(x, y candidate) int { return cmp.Compare(x.ord, y.ord) })
	return slices.Clip(list)
}

// compareKeys orders candidates: explicit weight (higher first), host tier
// (longer wildcard suffix first), path kind (longer prefix first), name.
func compareKeys(locs []location, a, b candKey) int {
	la, lb := &locs[a.loc], &locs[b.loc]
	if la.weighted != lb.weighted {
		if la.weighted {
			return -1
		}
		return 1
	}
	if la.weighted && la.weight != lb.weight {
		return cmp.Compare(lb.weight, la.weight)
	}
	if c := cmp.Compare(a.rank.tier, b.rank.tier); c != 0 {
		return c
	}
	if c := cmp.Compare(b.rank.suffixLen, a.rank.suffixLen); c != 0 {
		return c
	}
	if c := cmp.Compare(la.path.Kind, lb.path.Kind); c != 0 {
		return c
	}
	if la.path.Kind == config.PathPrefix {
		if c := cmp.Compare(len(lb.path.Value), len(la.path.Value)); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(la.name, lb.name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.loc, b.loc); c != 0 {
		return c
	}
	return cmp.Compare(a.rank.pattern, b.rank.pattern)
}
