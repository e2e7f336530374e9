package h1server

import (
	"net/http"
	"strconv"
	"strings"
)

// pathSafe reports the bytes an origin-form path may hold and still be
// stored unchanged by url.ParseRequestURI (Path == raw, RawPath == "").
// Read-only after init.
var pathSafe [256]bool

// hostByte reports the bytes allowed in a Host header value. Read-only
// after init.
var hostByte [256]bool

// statusLines holds "HTTP/1.1 NNN Text\r\n" for every code with a standard
// text. Read-only after init.
var statusLines [600]string

// commonHeaders interns the canonical form of frequent header names so that
// canonicalizing a lower-case name costs no allocation. Read-only after init.
var commonHeaders map[string]string

func init() {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		pathSafe[c] = alnum || strings.IndexByte("-_.~$&+,/:;=@", byte(c)) >= 0
		hostByte[c] = alnum || strings.IndexByte("-._~!$&'()*+,;=:[]%", byte(c)) >= 0
	}
	for code := 100; code < len(statusLines); code++ {
		if t := http.StatusText(code); t != "" {
			statusLines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	names := []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
		"Authorization", "Cache-Control", "Cdn-Loop", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Location",
		"Content-Range", "Content-Type", "Cookie", "Date", "Dnt", "Etag", "Expect", "Expires",
		"Forwarded", "From", "Host", "If-Match", "If-Modified-Since", "If-None-Match",
		"If-Range", "If-Unmodified-Since", "Keep-Alive", "Last-Modified", "Link", "Location",
		"Max-Forwards", "Origin", "Pragma", "Priority", "Proxy-Authorization", "Range",
		"Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Sec-Websocket-Extensions",
		"Sec-Websocket-Key", "Sec-Websocket-Protocol", "Sec-Websocket-Version", "Te",
		"Trailer", "Transfer-Encoding", "Upgrade", "Upgrade-Insecure-Requests", "User-Agent",
		"Via", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
		"X-Request-Id", "Traceparent", "Tracestate",
	}
	commonHeaders = make(map[string]string, len(names))
	for _, n := range names {
		commonHeaders[n] = n
	}
}

// validValue reports whether s may be a field value: no control bytes other
// than horizontal tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS trims spaces and horizontal tabs from both ends of s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// canonicalKey returns the canonical form of the token s, as
// http.CanonicalHeaderKey does, without allocating when s is already
// canonical or is a common header name.
func canonicalKey(s string) string {
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return canonicalSlow(s)
		}
		upper = c == '-'
	}
	return s
}

func canonicalSlow(s string) string {
	var buf [64]byte
	var b []byte
	if len(s) <= len(buf) {
		b = buf[:len(s)]
	} else {
		b = make([]byte, len(s))
	}
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	if v, ok := commonHeaders[string(b)]; ok {
		return v
	}
	return string(b)
}

// forEachElement calls f with every non-empty, OWS-trimmed element of a
// comma-separated list; f returns false to stop.
func forEachElement(v string, f func(string) bool) {
	for v != "" {
		var e string
		e, v, _ = strings.Cut(v, ",")
		if e = trimOWS(e); e != "" && !f(e) {
			return
		}
	}
}

// validHost reports whether h may be a Host header value.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostByte[h[i]] {
			return false
		}
	}
	return true
}

// sanitizeValue replaces CR and LF in a response field value with spaces, as
// net/http does, so a handler cannot split a response.
func sanitizeValue(v string) string {
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}
