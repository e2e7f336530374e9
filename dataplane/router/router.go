package router

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pingap-go/pingap/config"
)

// Entry is one location to route to.
type Entry[T any] struct {
	// Name is the location name. Names must be unique; the name is the final
	// tie-breaker of the priority order.
	Name string
	// Host is the location's host in configuration syntax: "" (any host),
	// "a.com", "*.a.com", "~regex" or a comma-separated list of these.
	Host string
	// Path is the location's path in configuration syntax: "" (the prefix
	// "/"), "/prefix", "=/exact" or "~regex".
	Path string
	// Weight is the explicit priority; nil when unset. Locations with a
	// weight are tried before all others, the higher weight first.
	Weight *int32
	// Value is what Match returns for this location.
	Value T
}

// Router is a compiled, immutable routing table. It is safe for concurrent
// use.
type Router[T any] struct {
	locs   []location
	values []T
	// exact holds, per normalized exact host, every location that can match
	// that host, in priority order.
	exact map[string][]candidate
	// wild holds, per wildcard suffix (".a.com"), the table for hosts whose
	// longest matching wildcard suffix it is.
	wild map[string]*tier
	// other is the table for hosts that no exact or wildcard pattern names.
	other tier
}

// location is the compiled form of an Entry, without its value.
type location struct {
	name     string
	host     string // as configured, for String
	weighted bool
	weight   int32
	hosts    []config.HostPattern
	path     config.PathPattern
	regexes  []*regexp.Regexp // the host regexes, in configuration order
}

// tier is the table for a class of hosts not named exactly: static holds the
// candidates known to match the host (wildcard and any-host locations) and
// regex those whose host regexes remain to be checked, both in priority
// order.
type tier struct {
	static []candidate
	regex  []candidate
}

// candidate is one location in one table, with the rank its host has there.
type candidate struct {
	ord       int32 // position in the global priority order; lower wins
	loc       int32 // index into Router.locs and Router.values
	pathKind  config.PathKind
	pathValue string
	pathRegex *regexp.Regexp
	hostRegex []*regexp.Regexp // for tier.regex candidates only
}

// matchPath reports whether the candidate's path pattern matches path.
func (c *candidate) matchPath(path string) bool {
	switch c.pathKind {
	case config.PathPrefix:
		return strings.HasPrefix(path, c.pathValue)
	case config.PathExact:
		return path == c.pathValue
	default:
		return c.pathRegex.MatchString(path)
	}
}

// matchHostRegex reports whether one of the candidate's host regexes matches
// the normalized host.
func (c *candidate) matchHostRegex(host string) bool {
	for _, re := range c.hostRegex {
		if re.MatchString(host) {
			return true
		}
	}
	return false
}

// New compiles entries into a Router. An error names the entry and the field
// at fault, e.g. `location "api": host: invalid regex "~(": ...`.
func New[T any](entries []Entry[T]) (*Router[T], error) {
	r := &Router[T]{
		locs:   make([]location, 0, len(entries)),
		values: make([]T, 0, len(entries)),
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if seen[e.Name] {
			return nil, fmt.Errorf("location %q: duplicate name", e.Name)
		}
		seen[e.Name] = true
		loc, err := compileLocation(e.Name, e.Host, e.Path, e.Weight)
		if err != nil {
			return nil, err
		}
		r.locs = append(r.locs, loc)
		r.values = append(r.values, e.Value)
	}
	r.exact, r.wild, r.other = buildTables(r.locs)
	return r, nil
}

func compileLocation(name, host, path string, weight *int32) (location, error) {
	hosts, err := config.ParseHosts(host)
	if err == nil {
		hosts, err = normalizePatterns(hosts)
	}
	if err != nil {
		return location{}, fmt.Errorf("location %q: host: %w", name, err)
	}
	p, err := config.ParsePath(path)
	if err != nil {
		return location{}, fmt.Errorf("location %q: path: %w", name, err)
	}
	loc := location{name: name, host: host, hosts: hosts, path: p}
	if weight != nil {
		loc.weighted, loc.weight = true, *weight
	}
	for _, h := range hosts {
		if h.Kind == config.HostRegex {
			loc.regexes = append(loc.regexes, h.Regex)
		}
	}
	return loc, nil
}

// Len returns the number of locations.
func (r *Router[T]) Len() int { return len(r.locs) }

// Match returns the value of the location with the highest priority whose
// host and path patterns both match, and whether there is one. host is the
// Host header as received (any case, maybe with a port or a trailing dot);
// path is the request's URL path.
func (r *Router[T]) Match(host, path string) (T, bool) {
	h := NormalizeHost(host)
	if list, ok := r.exact[h]; ok {
		for i := range list {
			if list[i].matchPath(path) {
				return r.values[list[i].loc], true
			}
		}
		var zero T
		return zero, false
	}
	t := r.lookupTier(h)
	if i := t.match(h, path); i >= 0 {
		return r.values[i], true
	}
	var zero T
	return zero, false
}

// lookupTier returns the table of the longest wildcard suffix matching the
// normalized host h, or the table for hosts no wildcard matches.
func (r *Router[T]) lookupTier(h string) *tier {
	if len(r.wild) > 0 {
		for i := 1; i < len(h); i++ {
			if h[i] == '.' {
				if t, ok := r.wild[h[i:]]; ok {
					return t
				}
			}
		}
	}
	return &r.other
}

// match merges the tier's two lists in priority order and returns the
// location index of the first candidate that matches, or -1.
func (t *tier) match(host, path string) int32 {
	s, x := t.static, t.regex
	i, j := 0, 0
	for i < len(s) || j < len(x) {
		if j == len(x) || i < len(s) && s[i].ord < x[j].ord {
			c := &s[i]
			i++
			if c.matchPath(path) {
				return c.loc
			}
			continue
		}
		c := &x[j]
		j++
		if c.matchPath(path) && c.matchHostRegex(host) {
			return c.loc
		}
	}
	return -1
}
