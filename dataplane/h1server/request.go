package h1server

import (
	"context"
	"github.com/pingap-go/pingap/config"
	"net/http"
	"strings"
)

// parseRequest parses a head read by readHead into an *http.Request whose
// memory lives in rs. The request's Body and context are set by the caller.
func (c *conn) parseRequest(ctx context.Context, s string, rs *reqState) (*http.Request, head, *protoError) {
	var hd head
	line, rest := nextLine(s)
	method, target, minor, perr := parseRequestLine(line)
	if perr != nil {
		return nil, hd, perr
	}
	absHost, perr := parseTarget(method, target, &rs.url)
	if perr != nil {
		return nil, hd, perr
	}
	hd.minor = minor
	nLines := strings.Count(rest, "\n")
	if nLines > c.srv.cfg.MaxHeaderCount {
		return nil, hd, &protoError{status: http.StatusRequestHeaderFieldsTooLarge, reason: "too many header fields"}
	}
	h := make(http.Header, nLines)
	vals := rs.vals[:]
	if nLines > len(vals) {
		vals = make([]string, nLines)
	}
	var f fieldFlags
	for rest != "" {
		line, rest = nextLine(rest)
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			return nil, hd, badRequest("obsolete line folding")
		}
		key, value, bad := parseField(line)
		if bad != "" {
			return nil, hd, badRequest("invalid header field " + bad)
		}
		if !f.note(key, value, &hd) {
			continue
		}
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
		} else {
			vals[0] = value
			h[key] = vals[:1:1]
			vals = vals[1:]
		}
	}
	if perr := f.framing(&hd); perr != nil {
		return nil, hd, perr
	}
	if absHost != "" {
		hd.host = absHost
	}
	r := http.Request{
		Method: method, URL: &rs.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: minor,
		Header: h, Host: hd.host, RemoteAddr: c.remoteAddr, RequestURI: target, TLS: c.tlsState,
		Close: hd.close, ContentLength: hd.contentLength, Body: http.NoBody,
	}
	if minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	if hd.chunked {
		rs.te[0] = "chunked"
		r.TransferEncoding = rs.te[:]
		if f.trailer {
			t, perr := declaredTrailers(h["Trailer"])
			if perr != nil {
				return nil, hd, perr
			}
			r.Trailer = t
		}
	}
	return r.WithContext(ctx), hd, nil
}

// parseField splits a header or trailer field line into its canonical name
// and its value without surrounding whitespace. bad is "name" or "value"
// when that part is invalid, else empty.
func parseField(line string) (key, value, bad string) {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 || !config.ValidHeaderName(line[:colon]) {
		return "", "", "name"
	}
	value = trimOWS(line[colon+1:])
	if !validValue(value) {
		return "", "", "value"
	}
	return canonicalKey(line[:colon]), value, ""
}

// fieldFlags collects the header fields that decide framing.
type fieldFlags struct {
	nHost, nCL, nTE, nExpect int
	cl, te, expect           string
	connClose, connKeepAlive bool
	trailer                  bool
}

// note records a field; it reports false for fields kept out of
// Request.Header (Host and Transfer-Encoding, as net/http does).
func (f *fieldFlags) note(key, value string, hd *head) bool {
	switch key {
	case "Host":
		f.nHost++
		hd.host = value
		return false
	case "Transfer-Encoding":
		f.nTE++
		f.te = value
		return false
	case "Content-Length":
		f.nCL++
		f.cl = value
	case "Connection":
		forEachElement(value, func(e string) bool {
			if strings.EqualFold(e, "close") {
				f.connClose = true
			} else if strings.EqualFold(e, "keep-alive") {
				f.connKeepAlive = true
			}
			return true
		})
	case "Expect":
		f.nExpect++
		f.expect = value
	case "Trailer":
		f.trailer = true
	}
	return true
}

// framing applies the Host, Content-Length, Transfer-Encoding, Connection
// and Expect rules to hd.
func (f *fieldFlags) framing(hd *head) *protoError {
	switch {
	case f.nHost > 1:
		return badRequest("more than one Host")
	case f.nHost == 0 && hd.minor == 1:
		return badRequest("missing Host")
	case f.nHost == 1 && !validHost(hd.host):
		return badRequest("invalid Host")
	}
	hd.close = f.connClose || hd.minor == 0 && !f.connKeepAlive
	switch {
	case f.nTE > 0 && hd.minor == 0:
		return badRequest("Transfer-Encoding in an HTTP/1.0 request")
	case f.nTE > 0 && f.nCL > 0:
		return badRequest("both Content-Length and Transfer-Encoding")
	case f.nTE > 1:
		return badRequest("more than one Transfer-Encoding")
	case f.nTE == 1:
		if perr := parseTransferEncoding(f.te); perr != nil {
			return perr
		}
		hd.chunked = true
		hd.contentLength = -1
	case f.nCL > 1:
		return badRequest("more than one Content-Length")
	case f.nCL == 1:
		n, ok := parseContentLength(f.cl)
		if !ok {
			return badRequest("invalid Content-Length")
		}
		hd.contentLength = n
	}
	if f.nExpect > 0 {
		if f.nExpect > 1 || hd.minor == 0 || !strings.EqualFold(f.expect, "100-continue") {
			return &protoError{status: http.StatusExpectationFailed, reason: "unsupported expectation"}
		}
		hd.expectContinue = hd.chunked || hd.contentLength > 0
	}
	return nil
}

// declaredTrailers builds Request.Trailer from the Trailer header of a
// chunked request: every declared name with a nil value.
func declaredTrailers(vv []string) (http.Header, *protoError) {
	t := make(http.Header, 2)
	var perr *protoError
	for _, v := range vv {
		forEachElement(v, func(e string) bool {
			if !config.ValidHeaderName(e) {
				perr = badRequest("invalid Trailer")
				return false
			}
			k := canonicalKey(e)
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				perr = badRequest("bad trailer key " + k)
				return false
			}
			t[k] = nil
			return true
		})
		if perr != nil {
			return nil, perr
		}
	}
	return t, nil
}
