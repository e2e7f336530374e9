package h1server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/config"
)

// parseRaw runs the server's head parser and, for an accepted request, its
// body reader over data, without a network.
func parseRaw(data []byte) (*http.Request, []byte, error) {
	s := New(Config{Handler: http.NotFoundHandler(), MaxHeaderBytes: 64 << 10})
	c := &conn{srv: s, ctx: context.Background()}
	c.resp.c = c
	c.br = bufio.NewReaderSize(bytes.NewReader(data), 4096)
	raw, err := readHead(c.br, s.cfg.MaxHeaderBytes)
	if err != nil {
		return nil, nil, err
	}
	rs := new(reqState)
	rs.ctx.parent = c.ctx
	req, hd, perr := c.parseRequest(&rs.ctx, raw, rs)
	if perr != nil {
		return nil, nil, perr
	}
	rs.hd = hd
	if !hd.chunked && hd.contentLength == 0 {
		return req, nil, nil
	}
	rs.body = body{c: c, req: req, chunked: hd.chunked, remaining: max(hd.contentLength, 0)}
	b, err := io.ReadAll(&rs.body)
	return req, b, err
}

// serialize writes an accepted request back in wire form.
func serialize(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(r.Method + " " + r.RequestURI + " " + r.Proto + "\r\n")
	if r.Host != "" || r.ProtoMinor == 1 {
		b.WriteString("Host: " + r.Host + "\r\n")
	}
	for k, vv := range r.Header {
		for _, v := range vv {
			if k == "Content-Length" && len(r.TransferEncoding) > 0 {
				continue
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	if len(r.TransferEncoding) > 0 {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		b.Write(httputilChunk(body))
		return b.Bytes()
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

func httputilChunk(p []byte) []byte {
	var b bytes.Buffer
	w := httputil.NewChunkedWriter(&b)
	_, _ = w.Write(p)
	_ = w.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a%2Fb?q=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://example.com:80/p?x HTTP/1.1\r\nHost: b\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, body, err := parseRaw(data)
		if err != nil || req == nil {
			return
		}
		// An accepted request is well-formed by the standard library's
		// rules as well.
		if !config.ValidHeaderName(req.Method) || req.URL == nil || strings.ContainsAny(req.Host, " /\r\n") {
			t.Fatalf("accepted bad request: %+v", req)
		}
		for k, vv := range req.Header {
			if http.CanonicalHeaderKey(k) != k {
				t.Fatalf("key %q not canonical", k)
			}
			for _, v := range vv {
				if strings.ContainsAny(v, "\r\n\x00") || v != strings.TrimSpace(v) && strings.Trim(v, " \t") != v {
					t.Fatalf("bad value %q", v)
				}
			}
		}
		if req.RequestURI[0] == '/' {
			u, uerr := url.ParseRequestURI(req.RequestURI)
			if uerr != nil || u.Path != req.URL.Path || u.RawPath != req.URL.RawPath || u.RawQuery != req.URL.RawQuery {
				t.Fatalf("URL %+v, ParseRequestURI %+v %v", req.URL, u, uerr)
			}
		}
		// Round trip: what we accepted, written back, parses the same.
		again, body2, err := parseRaw(serialize(req, body))
		if err != nil {
			t.Fatalf("round trip rejected: %v\n%q", err, serialize(req, body))
		}
		if again.Method != req.Method || again.RequestURI != req.RequestURI || again.Host != req.Host ||
			again.ContentLength != req.ContentLength || again.Close != req.Close ||
			!reflect.DeepEqual(again.Header, req.Header) || !bytes.Equal(body, body2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", req, again)
		}
		// net/http agrees on the basics of what we accept (it is more
		// lenient, never stricter, on these shapes).
		std, serr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if serr == nil && (std.Method != req.Method || std.Host != req.Host || std.URL.Path != req.URL.Path) {
			t.Fatalf("net/http reads %s %q %q, we read %s %q %q", std.Method, std.Host, std.URL.Path,
				req.Method, req.Host, req.URL.Path)
		}
	})
}

func TestCanonicalKeyMatchesNetHTTP(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"a", "content-type", "CONTENT-TYPE", "X-Forwarded-For", "x-forwarded-for", "x_y-z",
		"WWW-Authenticate", "a-", "-a", "1abc-2DEF", "user-agent", strings.Repeat("ab-", 40)} {
		if got, want := canonicalKey(k), http.CanonicalHeaderKey(k); got != want {
			t.Errorf("canonicalKey(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestFastOriginFormMatchesParseRequestURI(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/", "/a/b", "/a?b=c&d", "/a?", "/a??", "//x", "/a:b@c;d=e,f$g&h+i~j",
		"/a%2Fb", "/é", "/a b", "/a#frag", "/a?q#f", "/~!"} {
		var u url.URL
		want, err := url.ParseRequestURI(target)
		if !fastOriginForm(target, &u) {
			continue
		}
		if err != nil || u != *want {
			t.Errorf("%q: fast %+v, ParseRequestURI %+v %v", target, u, want, err)
		}
	}
}
