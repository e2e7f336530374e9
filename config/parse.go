package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// This file holds the parsers of the small string syntaxes the schema uses
// (sizes, durations, targets, header pairs, host and path patterns, rewrites,
// algorithms). Validation and the data plane's build step both call them, so
// a string means the same thing everywhere.

// ParseSize parses a size such as "1mb", "512kb", "64KiB", "1.5 GB" or a plain
// number of bytes. Units are powers of 1024 (b, kb/kib/k, mb/mib/m, gb/gib/g).
func ParseSize(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("invalid size %q: want a number and an optional unit (b, kb, mb, gb)", s)
	}
	var mult float64
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use b, kb, mb, gb)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	v := f * mult
	if v >= 1<<63 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return uint64(v), nil
}

// humanUnits maps humantime unit names to Go duration units.
var humanUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nsec": time.Nanosecond,
	"us": time.Microsecond, "µs": time.Microsecond, "usec": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond, "millis": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseDuration parses a Go duration ("1m30s", "250ms") or a humantime one
// ("1min 30s", "2 hours", "1d"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if d, err := time.ParseDuration(t); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("invalid duration %q: negative", s)
		}
		return d, nil
	}
	var total time.Duration
	for rest := t; rest != ""; rest = strings.TrimLeft(rest, " ") {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. \"30s\", \"1m30s\" or \"2h\"", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		num := rest[:i]
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9') && rest[j] != ' ' {
			j++
		}
		if j == 0 {
			return 0, fmt.Errorf("invalid duration %q: missing unit after %s (e.g. \"%ss\")", s, num, num)
		}
		unit, ok := humanUnits[strings.ToLower(rest[:j])]
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q", s, rest[:j])
		}
		rest = rest[j:]
		if n > int64(math.MaxInt64-total)/int64(unit) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// Target is one parsed entry of an upstream's addrs.
type Target struct {
	// Addr is "host:port".
	Addr string
	// Weight is 1..1000; 1 when not given.
	Weight int
}

// ParseTarget parses an upstream address "host:port [weight]".
func ParseTarget(s string) (Target, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return Target{}, fmt.Errorf("invalid address %q: want \"host:port\" or \"host:port weight\"", s)
	}
	host, port, err := net.SplitHostPort(fields[0])
	if err != nil {
		return Target{}, fmt.Errorf("invalid address %q: %v", s, unwrapAddrErr(err))
	}
	if host == "" {
		return Target{}, fmt.Errorf("invalid address %q: missing host", s)
	}
	if !validHost(host) {
		return Target{}, fmt.Errorf("invalid address %q: %q is not a host name or IP address", s, host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Target{}, fmt.Errorf("invalid address %q: port must be 1..65535", s)
	}
	t := Target{Addr: net.JoinHostPort(host, port), Weight: 1}
	if len(fields) == 2 {
		w, err := strconv.Atoi(fields[1])
		if err != nil || w < 1 || w > 1000 {
			return Target{}, fmt.Errorf("invalid address %q: weight must be an integer 1..1000", s)
		}
		t.Weight = w
	}
	return t, nil
}

// ParseListenAddrs splits a server's comma-separated addr into listen
// addresses, each "host:port" (host may be empty for all interfaces).
func ParseListenAddrs(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, fmt.Errorf("invalid listen address %q: empty entry", s)
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("invalid listen address %q: %v", a, unwrapAddrErr(err))
		}
		if host != "" && !validHost(host) {
			return nil, fmt.Errorf("invalid listen address %q: %q is not a host name or IP address", a, host)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("invalid listen address %q: port must be 0..65535", a)
		}
		out = append(out, a)
	}
	return out, nil
}

// validHost reports whether s is an IP address (IPv6 without brackets, zone
// allowed) or a host name.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return validHostname(s)
}

// validHostname reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_', at most 253 characters, with an optional
// trailing dot.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func unwrapAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// Header is a parsed "Name:value" pair.
type Header struct {
	// Name is the canonical header name.
	Name string
	// Value is the raw value; it may contain variables such as $host.
	Value string
}

// ParseHeader parses "Name:value" (spaces around the value are trimmed).
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Header{}, fmt.Errorf("invalid header %q: want \"Name:value\"", s)
	}
	if !ValidHeaderName(name) {
		return Header{}, fmt.Errorf("invalid header %q: %q is not a valid header name", s, name)
	}
	value = strings.TrimSpace(value)
	if err := checkHeaderValue(value); err != nil {
		return Header{}, fmt.Errorf("invalid header %q: %v", s, err)
	}
	return Header{Name: http.CanonicalHeaderKey(name), Value: value}, nil
}

// ParseHeaderRename parses a response_headers rename_headers entry,
// "Old:New", into the two canonical header names (spaces around each are
// trimmed).
func ParseHeaderRename(s string) (from, to string, err error) {
	from, to, ok := strings.Cut(s, ":")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !ok || !ValidHeaderName(from) || !ValidHeaderName(to) {
		return "", "", fmt.Errorf("want \"Old:New\", got %q", s)
	}
	return http.CanonicalHeaderKey(from), http.CanonicalHeaderKey(to), nil
}

// headerVariables are the variables a header value may use, besides
// $http_<name> (a request header, '_' standing for '-').
var headerVariables = map[string]bool{
	"host": true, "scheme": true, "remote_addr": true, "remote_port": true,
	"server_addr": true, "server_port": true, "proxy_add_x_forwarded_for": true,
}

// checkHeaderValue refuses control characters (other than tab) and unknown
// variables. A variable is '$' followed by a letter or '_' and then letters,
// digits and '_'; a '$' followed by anything else is literal.
func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("control character %q in value", c)
		}
		if c != '$' || i+1 >= len(v) || !isVarStart(v[i+1]) {
			continue
		}
		j := i + 1
		for j < len(v) && (isVarStart(v[j]) || v[j] >= '0' && v[j] <= '9') {
			j++
		}
		name := v[i+1 : j]
		if !headerVariables[name] && !(strings.HasPrefix(name, "http_") && len(name) > len("http_")) {
			return fmt.Errorf("unknown variable $%s", name)
		}
		i = j - 1
	}
	return nil
}

func isVarStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// ValidHeaderName reports whether s is a valid HTTP header field name (an
// RFC 9110 token).
//
// Methods are tokens too; the HTTP engines use it for both.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}

// IsTokenChar reports whether c may appear in an RFC 9110 token (tchar).
func IsTokenChar(c byte) bool { return tokenChars[c] }

// tokenChars marks the RFC 9110 tchar bytes. Read-only.
var tokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// HostKind is the kind of a host pattern, in priority order (exact first).
type HostKind int

// Host pattern kinds.
const (
	HostExact HostKind = iota
	HostWildcard
	HostRegex
)

// HostPattern is one parsed entry of a location's host list.
type HostPattern struct {
	// Kind is exact, wildcard or regex.
	Kind HostKind
	// Value is the lower-cased host for exact patterns, the suffix including
	// the leading dot (".example.com") for wildcards, and the expression for
	// regexes.
	Value string
	// Regex is the compiled expression of a regex pattern.
	Regex *regexp.Regexp
}

// ParseHosts parses a location's host field: a comma-separated list of exact
// names, "*.suffix" wildcards and "~regex" patterns. An empty string means any
// host and yields no patterns.
func ParseHosts(s string) ([]HostPattern, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []HostPattern
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			return nil, fmt.Errorf("invalid host list %q: empty entry", s)
		case strings.HasPrefix(h, "~"):
			if h == "~" {
				return nil, fmt.Errorf("invalid regex %q: empty expression", h)
			}
			// Host matching ignores case, regexes too.
			re, err := regexp.Compile("(?i)" + h[1:])
			if err != nil {
				return nil, fmt.Errorf("invalid regex %q: %s", h, regexErr(err, "(?i)"+h[1:]))
			}
			out = append(out, HostPattern{Kind: HostRegex, Value: h[1:], Regex: re})
		case strings.HasPrefix(h, "*."):
			suffix := strings.ToLower(h[1:])
			if !validHostname(suffix[1:]) {
				return nil, fmt.Errorf("invalid wildcard host %q: want \"*.\" and a domain name", h)
			}
			out = append(out, HostPattern{Kind: HostWildcard, Value: suffix})
		case strings.Contains(h, "*"):
			return nil, fmt.Errorf("invalid host %q: wildcards must be a leading \"*.\"", h)
		default:
			if !validHost(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) {
				return nil, fmt.Errorf("invalid host %q: want a host name or IP address, without port", h)
			}
			out = append(out, HostPattern{Kind: HostExact, Value: strings.ToLower(h)})
		}
	}
	return out, nil
}

// PathKind is the kind of a path pattern, in priority order (exact first).
type PathKind int

// Path pattern kinds.
const (
	PathExact PathKind = iota
	PathPrefix
	PathRegex
)

// PathPattern is a parsed location path.
type PathPattern struct {
	// Kind is exact, prefix or regex.
	Kind PathKind
	// Value is the path for exact and prefix patterns and the expression for
	// regexes.
	Value string
	// Regex is the compiled expression of a regex pattern.
	Regex *regexp.Regexp
}

// ParsePath parses a location's path: "/prefix", "=/exact" or "~regex". An
// empty path is the prefix "/".
func ParsePath(s string) (PathPattern, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return PathPattern{Kind: PathPrefix, Value: "/"}, nil
	case strings.HasPrefix(s, "="):
		p := strings.TrimSpace(s[1:])
		if !strings.HasPrefix(p, "/") {
			return PathPattern{}, fmt.Errorf("invalid exact path %q: must start with \"/\"", s)
		}
		return PathPattern{Kind: PathExact, Value: p}, nil
	case strings.HasPrefix(s, "~"):
		if s == "~" {
			return PathPattern{}, fmt.Errorf("invalid regex %q: empty expression", s)
		}
		re, err := regexp.Compile(s[1:])
		if err != nil {
			return PathPattern{}, fmt.Errorf("invalid regex %q: %s", s, regexErr(err, s[1:]))
		}
		return PathPattern{Kind: PathRegex, Value: s[1:], Regex: re}, nil
	case strings.HasPrefix(s, "/"):
		return PathPattern{Kind: PathPrefix, Value: s}, nil
	default:
		return PathPattern{}, fmt.Errorf("invalid path %q: want \"/prefix\", \"=/exact\" or \"~regex\"", s)
	}
}

// Rewrite is a parsed location rewrite.
type Rewrite struct {
	// Regex matches the request path.
	Regex *regexp.Regexp
	// Replacement is expanded with Regexp.Expand semantics ($1, ${name}).
	Replacement string
}

// ParseRewrite parses "regex replacement".
func ParseRewrite(s string) (Rewrite, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return Rewrite{}, fmt.Errorf("invalid rewrite %q: want \"regex replacement\"", s)
	}
	re, err := regexp.Compile(fields[0])
	if err != nil {
		return Rewrite{}, fmt.Errorf("invalid regex %q: %s", fields[0], regexErr(err, fields[0]))
	}
	return Rewrite{Regex: re, Replacement: fields[1]}, nil
}

// regexErr renders a regexp error without the "error parsing regexp:" prefix,
// and without the offending part when that is the whole expression expr.
func regexErr(err error, expr string) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		if se.Expr == expr {
			return string(se.Code)
		}
		return string(se.Code) + " at " + strconv.Quote(se.Expr)
	}
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// AlgoKind is a load-balancing algorithm.
type AlgoKind int

// Load-balancing algorithms.
const (
	AlgoRoundRobin AlgoKind = iota
	AlgoLeastConn
	AlgoRandom
	AlgoHashIP
	AlgoHashURL
	AlgoHashHeader
	AlgoHashCookie
	AlgoHashQuery
)

// Algo is a parsed upstream algo.
type Algo struct {
	// Kind is the algorithm.
	Kind AlgoKind
	// Key is the header, cookie or query parameter name for hash:header,
	// hash:cookie and hash:query.
	Key string
}

// ParseAlgo parses an upstream's algo; the empty string is round_robin.
func ParseAlgo(s string) (Algo, error) {
	switch s {
	case "", "round_robin":
		return Algo{Kind: AlgoRoundRobin}, nil
	case "least_conn":
		return Algo{Kind: AlgoLeastConn}, nil
	case "random":
		return Algo{Kind: AlgoRandom}, nil
	case "hash:ip":
		return Algo{Kind: AlgoHashIP}, nil
	case "hash:url":
		return Algo{Kind: AlgoHashURL}, nil
	}
	kinds := map[string]AlgoKind{"hash:header:": AlgoHashHeader, "hash:cookie:": AlgoHashCookie, "hash:query:": AlgoHashQuery}
	for prefix, kind := range kinds {
		if key, ok := strings.CutPrefix(s, prefix); ok {
			if key == "" {
				return Algo{}, fmt.Errorf("invalid algo %q: missing name after %q", s, prefix)
			}
			if kind == AlgoHashHeader {
				if !ValidHeaderName(key) {
					return Algo{}, fmt.Errorf("invalid algo %q: %q is not a valid header name", s, key)
				}
				key = http.CanonicalHeaderKey(key)
			}
			return Algo{Kind: kind, Key: key}, nil
		}
	}
	return Algo{}, fmt.Errorf("unknown algo %q: want round_robin, least_conn, random, hash:ip, hash:url, hash:header:NAME, hash:cookie:NAME or hash:query:NAME", s)
}

// ParseIPPrefix parses an IP address or a CIDR ("10.0.0.0/8", "::1"); an
// address is the prefix of just itself. IPv4-mapped IPv6 addresses are
// unmapped, so they match IPv4 clients.
func ParseIPPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR such as \"10.0.0.0/8\"", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// OTLPEndpoint is a parsed settings.tracing.otlp_exporter.
type OTLPEndpoint struct {
	// HostPort is the collector's "host:port".
	HostPort string
	// Path is the URL path of OTLP/HTTP ("" for the default /v1/traces).
	Path string
	// GRPC selects OTLP/gRPC, else OTLP/HTTP.
	GRPC bool
	// TLS connects with TLS.
	TLS bool
}

// ParseOTLPEndpoint parses an OTLP exporter address: "host:port" or an
// http(s) URL, with protocol "grpc" (default) or "http". A URL's scheme
// decides TLS; for "host:port", tls does.
func ParseOTLPEndpoint(s, protocol string, tls bool) (OTLPEndpoint, error) {
	var ep OTLPEndpoint
	switch protocol {
	case "", "grpc":
		ep.GRPC = true
	case "http":
	default:
		return ep, fmt.Errorf("protocol %q is neither grpc nor http", protocol)
	}
	if s == "" {
		return ep, fmt.Errorf("empty: want host:port or a URL")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ep, fmt.Errorf("%q is not an http(s) URL", s)
		}
		ep.TLS = u.Scheme == "https"
		ep.HostPort = u.Host
		if !ep.GRPC && u.Path != "" && u.Path != "/" {
			ep.Path = u.Path
		}
	} else {
		ep.HostPort, ep.TLS = s, tls
	}
	if _, port, err := net.SplitHostPort(ep.HostPort); err != nil || port == "" {
		return ep, fmt.Errorf("%q has no port", s)
	}
	return ep, nil
}

// IPList is a parsed list of IP addresses and CIDRs (trusted proxies,
// access lists).
type IPList []netip.Prefix

// ParseIPList parses each entry with ParseIPPrefix; an error names the
// entry's index ("[2]: ...").
func ParseIPList(list []string) (IPList, error) {
	out := make(IPList, 0, len(list))
	for i, s := range list {
		p, err := ParseIPPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Contains reports whether ip (an IPv4-mapped IPv6 address counts as IPv4)
// is in the list.
func (l IPList) Contains(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range l {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
