// Package router compiles a configuration's locations into host/path routing
// tables and picks the location for a request.
//
// A [Router] is built once per configuration with [New] and is immutable
// afterwards, so one Router may serve any number of goroutines. [Router.Match]
// parses nothing and allocates nothing for a lower-case Host header.
//
// # Patterns
//
// An [Entry] carries a location's host and path in the configuration syntax
// parsed by config.ParseHosts and config.ParsePath:
//
//   - host "" matches any host; "a.com" matches that name exactly; "*.a.com"
//     matches "x.a.com" and "x.y.a.com" but not "a.com"; "~regex" matches
//     when the expression matches the normalized host (see below) anywhere,
//     unless anchored. A comma-separated list matches when any entry does.
//   - path "" is the prefix "/"; "/api" is a plain string prefix, so it
//     matches "/api", "/api/x" and also "/apix" (as in nginx and Pingap);
//     "=/login" matches that path only; "~regex" matches when the expression
//     matches the path anywhere, unless anchored.
//
// The request host is normalized before it is compared: the port is removed
// ("a.com:8080", "[::1]:8080"), so are the brackets of an IPv6 literal and one
// trailing dot ("a.com."), and letters are lower-cased. Exact and wildcard
// patterns are normalized the same way, and a host regex is matched against
// the normalized host. The path is compared as given (the caller passes
// r.URL.Path) and is case-sensitive.
//
// # Priority
//
// Match returns the first location, in this total order, whose host and path
// both match the request:
//
//  1. Locations with an explicit weight come before all others, the higher
//     weight first. A weight overrides the computed priority below; a weight
//     of zero or less is still explicit and still comes first.
//  2. Then by the kind of the host pattern that matched: exact, then wildcard
//     (the longer suffix first), then regex, then locations without a host.
//     A location with a host list ranks by its best pattern that matches this
//     request's host, so one location can rank differently for two hosts.
//  3. Then by path kind: exact, then prefix (the longer prefix first), then
//     regex.
//  4. Ties are broken by location name, so regexes are tried in name order.
//     Names must be unique.
//
// A request falls through host tiers: if no location of the best matching
// host tier matches the path, locations of lower tiers, down to those without
// a host, are tried. With locations {host "a.com", path "/x"} and {host "",
// path "/"}, a request for a.com/y gets the second.
//
// # Compiled tables
//
// For every exact host named in some pattern, New precomputes the complete
// ordered candidate list: the exact locations and every wildcard, regex and
// any-host location that matches that host, decided at build time. For every
// wildcard suffix it precomputes the ordered list of wildcard and any-host
// locations that match a host whose longest matching suffix is that one,
// plus, separately, the regex-host locations left to check. A request whose
// host is not named exactly is looked up by its longest wildcard suffix (or
// the table for hosts no wildcard matches), and the two lists are merged in
// priority order, testing a host regex only when its location's turn comes
// and its path already matched. [Router.String] prints these tables.
//
// The exact-host lists repeat the wildcard, regex and any-host locations for
// every exact host, so memory grows with (exact hosts) x (locations that are
// not exact-host); a few thousand hosts with a few dozen shared locations are
// well within reason. Within a list candidates are tried one by one: Match
// costs grow with the number of locations a host shares, not with the total.
package router
