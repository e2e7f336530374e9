package h1client

import (
	"fmt"
	"github.com/pingap-go/pingap/config"
	"net/http"
	"net/url"
)

// validValueByte reports whether c may appear in a field value: visible
// ASCII, space, tab and obs-text; never CR, LF, NUL or other controls.
func validValueByte(c byte) bool {
	return c == '\t' || (c >= 0x20 && c != 0x7f)
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !validValueByte(s[i]) {
			return false
		}
	}
	return true
}

// validTargetPart reports whether s can go into a request target: no
// spaces, controls, DEL or '#'.
func validTargetPart(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// validHost reports whether s can be a Host header: no controls, spaces or
// URI delimiters that cannot appear in an authority.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == 0x7f, c == '/', c == '?', c == '#', c == '@', c == '\\':
			return false
		}
	}
	return true
}

func invalid(addr, format string, args ...any) error {
	return &Error{Op: OpRequest, Addr: addr, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)}
}

// checkRequest validates everything RoundTrip will write, so that an
// invalid request never reaches a connection, and returns the target
// address.
func (c *Client) checkRequest(req *http.Request) (string, error) {
	if req.URL == nil || req.URL.Host == "" {
		return "", invalid("", "missing target host in URL")
	}
	addr := c.targetAddr(req.URL.Host)
	if req.Method != "" && !config.ValidHeaderName(req.Method) {
		return addr, invalid(addr, "bad method %q", req.Method)
	}
	if !validHost(hostHeader(req)) {
		return addr, invalid(addr, "bad Host %q", hostHeader(req))
	}
	if err := checkTarget(req.URL); err != nil {
		return addr, invalid(addr, "%v", err)
	}
	for k, vv := range req.Header {
		if !config.ValidHeaderName(k) {
			return addr, invalid(addr, "bad header name %q", k)
		}
		for _, v := range vv {
			if !validValue(v) {
				return addr, invalid(addr, "bad value for header %s", k)
			}
		}
	}
	for k := range req.Trailer {
		if !config.ValidHeaderName(k) {
			return addr, invalid(addr, "bad trailer name %q", k)
		}
	}
	if req.ContentLength > 0 && !hasBody(req) {
		return addr, invalid(addr, "ContentLength=%d with no Body", req.ContentLength)
	}
	return addr, nil
}

func checkTarget(u *url.URL) error {
	if u.Opaque != "" {
		if !validTargetPart(u.Opaque) {
			return fmt.Errorf("bad opaque URL %q", u.Opaque)
		}
		return nil
	}
	if !validTargetPart(u.RawQuery) {
		return fmt.Errorf("bad query %q", u.RawQuery)
	}
	// EscapedPath escapes what Path needs and uses RawPath only when it is
	// a valid encoding of Path, so the path cannot inject anything; the
	// check is a second guard.
	if !validTargetPart(u.EscapedPath()) {
		return fmt.Errorf("bad path %q", u.Path)
	}
	return nil
}

func hostHeader(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody
}
