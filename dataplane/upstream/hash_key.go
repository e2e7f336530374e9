package upstream

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/rawquery"
)

// A hashKeyFunc returns the hash of a request's key for consistent hashing,
// and false when the request has no key (missing or empty). name is the
// header, cookie or query parameter name of the algo.
type hashKeyFunc func(r *http.Request, clientIP netip.Addr, name string) (uint64, bool)

// hashKeys maps each hash algorithm to its key; read-only.
var hashKeys = map[config.AlgoKind]hashKeyFunc{
	config.AlgoHashIP:     hashIPKey,
	config.AlgoHashURL:    hashURLKey,
	config.AlgoHashHeader: hashHeaderKey,
	config.AlgoHashCookie: hashCookieKey,
	config.AlgoHashQuery:  hashQueryKey,
}

// 64-bit FNV-1a, finished with murmur3's fmix64 so that short keys and keys
// differing only in their last bytes still spread over the whole ring.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashString is the ring position of a key.
func hashString(s string) uint64 { return mix64(fnvString(fnvOffset64, s)) }

// hashIPKey hashes the client address: 4 bytes for IPv4 (also when mapped into
// IPv6), 16 for IPv6; the zone is ignored.
func hashIPKey(_ *http.Request, ip netip.Addr, _ string) (uint64, bool) {
	ip = ip.Unmap()
	switch {
	case ip.Is4():
		b := ip.As4()
		return mix64(fnvBytes(fnvOffset64, b[:])), true
	case ip.Is6():
		b := ip.As16()
		return mix64(fnvBytes(fnvOffset64, b[:])), true
	}
	return 0, false
}

// hashURLKey hashes r.URL.RequestURI() without building the string.
func hashURLKey(r *http.Request, _ netip.Addr, _ string) (uint64, bool) {
	if r == nil || r.URL == nil {
		return 0, false
	}
	u := r.URL
	if u.Opaque != "" {
		return hashString(u.RequestURI()), true
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	h := fnvString(fnvOffset64, p)
	if u.ForceQuery || u.RawQuery != "" {
		h = fnvString(h, "?")
		h = fnvString(h, u.RawQuery)
	}
	return mix64(h), true
}

// hashHeaderKey hashes the first value of the header name (canonical form, as
// config.ParseAlgo returns it).
func hashHeaderKey(r *http.Request, _ netip.Addr, name string) (uint64, bool) {
	if r == nil {
		return 0, false
	}
	if v := r.Header[name]; len(v) > 0 && v[0] != "" {
		return hashString(v[0]), true
	}
	return 0, false
}

// hashCookieKey hashes the value of the first cookie called name (case
// sensitive, surrounding double quotes removed), found by scanning the Cookie
// headers without parsing every cookie.
func hashCookieKey(r *http.Request, _ netip.Addr, name string) (uint64, bool) {
	if r == nil {
		return 0, false
	}
	if v, ok := cookieValue(r.Header["Cookie"], name); ok && v != "" {
		return hashString(v), true
	}
	return 0, false
}

func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.Trim(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// hashQueryKey hashes the first value of the query parameter name, unescaped
// as r.URL.Query().Get(name) would return it; the raw query is scanned in
// place and only an escaped key or value allocates.
func hashQueryKey(r *http.Request, _ netip.Addr, name string) (uint64, bool) {
	if r == nil || r.URL == nil {
		return 0, false
	}
	if v, ok := rawquery.Get(r.URL.RawQuery, name); ok && v != "" {
		return hashString(v), true
	}
	return 0, false
}
