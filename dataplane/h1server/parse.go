package h1server

import (
	"bufio"
	"bytes"
	"github.com/pingap-go/pingap/config"
	"math"
	"net/http"
	"net/url"
	"strings"
)

// protoError is a request the server refuses before its handler: it is
// answered with status and the connection is closed.
type protoError struct {
	status int
	reason string
}

func (e *protoError) Error() string { return "h1server: " + e.reason }

func badRequest(reason string) *protoError {
	return &protoError{status: http.StatusBadRequest, reason: reason}
}

var errHeadTooLarge = &protoError{status: http.StatusRequestHeaderFieldsTooLarge, reason: "request head too large"}

// reqState is the per-request memory the server allocates in one piece.
type reqState struct {
	url  url.URL
	ctx  reqCtx
	body body
	hd   head
	te   [1]string
	vals [12]string
}

// head is what parseHead extracts beyond the http.Request fields.
type head struct {
	minor          int
	host           string
	contentLength  int64
	chunked        bool
	close          bool
	expectContinue bool
}

// readHead reads the request line and headers and returns them as one
// string, each line with its terminator, without the final empty line.
// Leading empty lines are skipped. A clean EOF before any byte returns io.EOF.
func readHead(br *bufio.Reader, maxBytes int) (string, error) {
	skipped := 0
	for {
		b, err := br.Peek(1)
		if err != nil {
			return "", err
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		n := 1
		if b[0] == '\r' {
			if b, err = br.Peek(2); err != nil {
				return "", err
			}
			if b[1] != '\n' {
				return "", badRequest("bare CR")
			}
			n = 2
		}
		if skipped += n; skipped > maxBytes {
			return "", errHeadTooLarge
		}
		_, _ = br.Discard(n)
	}
	from := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if end, hl := findHeadEnd(buf, from); end >= 0 {
			if hl > maxBytes {
				return "", errHeadTooLarge
			}
			s := string(buf[:hl])
			_, _ = br.Discard(end)
			return s, nil
		}
		if len(buf) > maxBytes {
			return "", errHeadTooLarge
		}
		if len(buf) == br.Size() {
			return readLongHead(br, maxBytes)
		}
		from = max(0, len(buf)-3)
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return "", err
		}
	}
}

// readLongHead is readHead's path for a head larger than the read buffer.
func readLongHead(br *bufio.Reader, maxBytes int) (string, error) {
	acc := make([]byte, 0, 2*br.Size())
	from := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		acc = append(acc, buf...)
		if end, hl := findHeadEnd(acc, from); end >= 0 {
			if hl > maxBytes {
				return "", errHeadTooLarge
			}
			_, _ = br.Discard(len(buf) - (len(acc) - end))
			return string(acc[:hl]), nil
		}
		_, _ = br.Discard(len(buf))
		if len(acc) > maxBytes {
			return "", errHeadTooLarge
		}
		from = max(0, len(acc)-3)
		if _, err := br.Peek(1); err != nil {
			return "", err
		}
	}
}

// findHeadEnd looks in b, from offset from, for the empty line that ends a
// head. It returns the offset just past that line and the length of the head
// before it, or -1.
func findHeadEnd(b []byte, from int) (end, headLen int) {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, 0
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1, i
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2, i
		}
	}
	return -1, 0
}

// nextLine splits s at its first LF, dropping a CR before it.
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	if line != "" && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// parseRequestLine splits "METHOD SP target SP HTTP/1.x".
func parseRequestLine(line string) (method, target string, minor int, perr *protoError) {
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return "", "", 0, badRequest("malformed request line")
	}
	method, line = line[:sp], line[sp+1:]
	if !config.ValidHeaderName(method) {
		return "", "", 0, badRequest("invalid method")
	}
	sp = strings.IndexByte(line, ' ')
	if sp <= 0 {
		return "", "", 0, badRequest("malformed request line")
	}
	target, version := line[:sp], line[sp+1:]
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return "", "", 0, badRequest("invalid request target")
		}
	}
	switch version {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
		minor = 0
	default:
		if len(version) == 8 && strings.HasPrefix(version, "HTTP/") && isDigit(version[5]) &&
			version[6] == '.' && isDigit(version[7]) {
			return "", "", 0, &protoError{status: http.StatusHTTPVersionNotSupported, reason: "unsupported version " + version}
		}
		return "", "", 0, badRequest("malformed HTTP version")
	}
	return method, target, minor, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseTarget fills u from the request target and returns the host of an
// absolute-form target.
func parseTarget(method, target string, u *url.URL) (absHost string, perr *protoError) {
	switch {
	case target[0] == '/':
		if fastOriginForm(target, u) {
			return "", nil
		}
		pu, err := url.ParseRequestURI(target)
		if err != nil {
			return "", badRequest("invalid request target")
		}
		*u = *pu
		return "", nil
	case target == "*":
		if method != http.MethodOptions {
			return "", badRequest("asterisk-form target for " + method)
		}
		u.Path = "*"
		return "", nil
	}
	pu, err := url.ParseRequestURI(target)
	if err != nil || pu.Host == "" || pu.User != nil || pu.Opaque != "" || !validHost(pu.Host) ||
		!strings.EqualFold(pu.Scheme, "http") && !strings.EqualFold(pu.Scheme, "https") {
		return "", badRequest("invalid request target")
	}
	*u = *pu
	return pu.Host, nil
}

// fastOriginForm parses an origin-form target whose path needs no escaping
// the way url.ParseRequestURI would, without allocating. It reports false
// when the target needs the general parser.
func fastOriginForm(target string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	if hasQuery && query == "" {
		return false // ParseRequestURI sets ForceQuery
	}
	for i := 0; i < len(path); i++ {
		if !pathSafe[path[i]] {
			return false
		}
	}
	u.Path, u.RawQuery = path, query
	return true
}

// parseContentLength parses a Content-Length value: one or more decimal
// digits, no sign, no list, no overflow.
func parseContentLength(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isDigit(c) {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseTransferEncoding accepts a single Transfer-Encoding whose final coding
// is chunked; other codings before it are reported as 501.
func parseTransferEncoding(v string) *protoError {
	var last string
	n, bad := 0, false
	forEachElement(v, func(e string) bool {
		// A coding may carry parameters ("gzip;q=1" is not valid for TE in
		// requests, but be lenient in what we call malformed).
		name, _, _ := strings.Cut(e, ";")
		if name = trimOWS(name); !config.ValidHeaderName(name) {
			bad = true
			return false
		}
		last = name
		n++
		return true
	})
	switch {
	case bad || n == 0:
		return badRequest("malformed Transfer-Encoding")
	case !strings.EqualFold(last, "chunked"):
		return badRequest("Transfer-Encoding without final chunked")
	case n > 1:
		return &protoError{status: http.StatusNotImplemented, reason: "unsupported transfer coding " + v}
	}
	return nil
}
