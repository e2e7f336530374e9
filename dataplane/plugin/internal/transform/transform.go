// Package transform holds the rules the plugins that change a response
// body while it streams (compression and sub_filter) share: which
// exchanges they leave alone, which responses have a whole body to change,
// and what changing it does to the headers. It is the one copy of those
// rules.
package transform

import (
	"net/http"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/encoding"
)

// Passes reports whether the exchange of r must pass untouched: a CONNECT
// tunnel, an upgrade (WebSocket) or a gRPC call.
func Passes(r *http.Request) bool {
	return r.Method == http.MethodConnect || r.Header.Get("Upgrade") != "" || config.IsGRPCContentType(r.Header.Get("Content-Type"))
}

// Changeable reports whether a response with the final status code has a
// whole body to change: not 204 or 304 (no body), nor 206 (a part of one).
func Changeable(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified && code != http.StatusPartialContent
}

// Encoding is the response's Content-Encoding, trimmed and in lower case;
// "" when there is none or it is "identity".
func Encoding(h http.Header) string {
	ce := strings.TrimSpace(h.Get("Content-Encoding"))
	if strings.EqualFold(ce, encoding.Identity) {
		return ""
	}
	return strings.ToLower(ce)
}

// ContentType is the response's Content-Type ("" for none). A response
// without the field whose body starts with first gets the type sniffed
// from it, as the server would sniff it: once the body is changed, the
// server cannot.
func ContentType(h http.Header, first []byte) string {
	ct, typed := h["Content-Type"]
	if !typed && len(first) > 0 {
		ct = []string{http.DetectContentType(first)}
		h["Content-Type"] = ct
	}
	if len(ct) == 0 {
		return ""
	}
	return ct[0]
}

// BodyChanged adjusts the headers of a response whose body is changed: its
// length is no longer known, and it is no longer byte for byte the
// representation a strong ETag names, so the ETag becomes weak.
func BodyChanged(h http.Header) {
	h.Del("Content-Length")
	if et := h.Get("ETag"); strings.HasPrefix(et, `"`) {
		h.Set("ETag", "W/"+et)
	}
}
