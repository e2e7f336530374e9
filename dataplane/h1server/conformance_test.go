package h1server

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// strictHandler reads the whole body and answers only if that worked, so a
// body error leaves the response to the server.
type strictHandler struct{ calls atomic.Int64 }

func (h *strictHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-Path", r.URL.Path)
	_, _ = io.WriteString(w, "ok:"+string(b))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	const h = "Host: a\r\n"
	tests := []struct {
		desc   string
		raw    string
		status int  // 0: the server closes without a response
		called bool // the handler must (true) or must not (false) run
		cfg    func(*Config)
		eof    bool // half-close after writing raw
	}{
		{desc: "plain GET", raw: "GET / HTTP/1.1\r\n" + h + "\r\n", status: 200, called: true},
		{desc: "bare LF line ends", raw: "GET / HTTP/1.1\n" + h[:7] + "\n\n", status: 200, called: true},
		{desc: "leading empty lines skipped", raw: "\r\n\r\nGET / HTTP/1.1\r\n" + h + "\r\n", status: 200, called: true},
		{desc: "HTTP/1.0 without Host", raw: "GET / HTTP/1.0\r\n\r\n", status: 200, called: true},
		{desc: "Content-Length body", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello", status: 200, called: true},
		{desc: "chunked body", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", status: 200, called: true},
		{desc: "chunked, case-insensitive", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: ChUnKeD\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n", status: 200, called: true},
		{desc: "absolute-form", raw: "GET http://example.com/p HTTP/1.1\r\n" + h + "\r\n", status: 200, called: true},
		{desc: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\n" + h + "\r\n", status: 200, called: true},

		// Request smuggling shapes.
		{desc: "CL then TE", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE then CL", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "duplicate CL identical", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", status: 400},
		{desc: "duplicate CL different", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", status: 400},
		{desc: "CL list", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\nhello", status: 400},
		{desc: "CL negative", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", status: 400},
		{desc: "CL plus sign", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", status: 400},
		{desc: "CL non-numeric", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: five\r\n\r\n", status: 400},
		{desc: "CL hex", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\nhello", status: 400},
		{desc: "CL overflow", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n", status: 400},
		{desc: "CL empty", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", status: 400},
		{desc: "CL space before colon", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length : 5\r\n\r\nhello", status: 400},
		{desc: "TE chunked, identity", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE identity", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", status: 400},
		{desc: "TE gzip, chunked", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", status: 501},
		{desc: "TE twice", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE space before colon", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE tab before colon", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE empty", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \r\n\r\n", status: 400},
		{desc: "TE in HTTP/1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "TE vertical tab", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "obs-fold", raw: "GET / HTTP/1.1\r\n" + h + "X-A: 1\r\n  continued\r\n\r\n", status: 400},
		{desc: "obs-fold of TE", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "whitespace before first header", raw: "GET / HTTP/1.1\r\n " + h + "\r\n", status: 400},
		{desc: "bare CR in value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", status: 400},
		{desc: "NUL in value", raw: "GET / HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", status: 400},
		{desc: "bare CR line end", raw: "GET / HTTP/1.1\r\n" + h + "X-A: b\r\r\n\r\n", status: 400},

		// Chunked framing errors: the handler runs, its Read fails, the
		// server answers 400.
		{desc: "chunk size 0x10", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x10\r\n0123456789abcdef\r\n0\r\n\r\n", status: 400, called: true},
		{desc: "chunk size -1", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n", status: 400, called: true},
		{desc: "chunk size huge", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx\r\n", status: 400, called: true},
		{desc: "chunk size empty", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n\r\nx\r\n", status: 400, called: true},
		{desc: "chunk size leading space", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", status: 400, called: true},
		{desc: "chunk size junk after", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n", status: 400, called: true},
		{desc: "chunk size bare LF", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", status: 400, called: true},
		{desc: "chunk extension too long", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;" + strings.Repeat("x", 2000) + "\r\nhello\r\n0\r\n\r\n", status: 400, called: true},
		{desc: "missing CRLF after chunk data", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", status: 400, called: true},
		{desc: "LF only after chunk data", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", status: 400, called: true},
		{desc: "missing final CRLF", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", status: 400, called: true, eof: true},
		{desc: "truncated chunk", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", status: 400, called: true, eof: true},
		{desc: "truncated Content-Length body", raw: "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhel", status: 400, called: true, eof: true},
		{desc: "truncated head", raw: "GET / HTTP/1.1\r\n" + h, status: 0, eof: true},
		{desc: "malformed trailer", raw: "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nX Y: z\r\n\r\n", status: 400, called: true},

		// Header names and limits.
		{desc: "name with space", raw: "GET / HTTP/1.1\r\n" + h + "X A: b\r\n\r\n", status: 400},
		{desc: "name with @", raw: "GET / HTTP/1.1\r\n" + h + "X@A: b\r\n\r\n", status: 400},
		{desc: "name with (", raw: "GET / HTTP/1.1\r\n" + h + "(x): b\r\n\r\n", status: 400},
		{desc: "empty name", raw: "GET / HTTP/1.1\r\n" + h + ": b\r\n\r\n", status: 400},
		{desc: "no colon", raw: "GET / HTTP/1.1\r\n" + h + "X-A\r\n\r\n", status: 400},
		{desc: "non-ASCII name", raw: "GET / HTTP/1.1\r\n" + h + "X-\xc3\xa9: b\r\n\r\n", status: 400},
		{desc: "too many headers", raw: "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-A: b\r\n", 100) + "\r\n", status: 431},
		{desc: "100 headers is fine", raw: "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-A: b\r\n", 99) + "\r\n", status: 200, called: true},
		{desc: "header over 1 MiB", raw: "GET / HTTP/1.1\r\n" + h + "X-A: " + strings.Repeat("b", 1<<20) + "\r\n\r\n", status: 431},
		{desc: "large header within limit", raw: "GET / HTTP/1.1\r\n" + h + "X-A: " + strings.Repeat("b", 64<<10) + "\r\n\r\n", status: 200, called: true},
		{desc: "header over configured limit", raw: "GET / HTTP/1.1\r\n" + h + "X-A: " + strings.Repeat("b", 200) + "\r\n\r\n", status: 431,
			cfg: func(c *Config) { c.MaxHeaderBytes = 128 }},
		{desc: "count over configured limit", raw: "GET / HTTP/1.1\r\n" + h + "A: 1\r\nB: 2\r\n\r\n", status: 431,
			cfg: func(c *Config) { c.MaxHeaderCount = 2 }},

		// Host.
		{desc: "missing Host", raw: "GET / HTTP/1.1\r\n\r\n", status: 400},
		{desc: "two Hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400},
		{desc: "two Hosts HTTP/1.0", raw: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", status: 400},
		{desc: "Host with space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400},
		{desc: "Host with slash", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400},

		// Request line.
		{desc: "lower-case version", raw: "GET / http/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "double space", raw: "GET  / HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "trailing space", raw: "GET / HTTP/1.1 \r\n" + h + "\r\n", status: 400},
		{desc: "tabs", raw: "GET\t/\tHTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "no version", raw: "GET /\r\n" + h + "\r\n", status: 400},
		{desc: "extra field", raw: "GET / HTTP/1.1 x\r\n" + h + "\r\n", status: 400},
		{desc: "method not a token", raw: "G@T / HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "HTTP/3.0", raw: "GET / HTTP/3.0\r\n" + h + "\r\n", status: 505},
		{desc: "HTTP/1.10", raw: "GET / HTTP/1.10\r\n" + h + "\r\n", status: 400},
		{desc: "relative target", raw: "GET foo HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "asterisk for GET", raw: "GET * HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "authority-form", raw: "CONNECT example.com:443 HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "absolute-form ftp", raw: "GET ftp://example.com/ HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "absolute-form userinfo", raw: "GET http://u@example.com/ HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "NUL in target", raw: "GET /\x00 HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "DEL in target", raw: "GET /\x7f HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "bad escape in target", raw: "GET /%zz HTTP/1.1\r\n" + h + "\r\n", status: 400},
		{desc: "HTTP/2 preface without H2", raw: h2Preface, status: 505},
		{desc: "PRI mid-connection", raw: "PRI * HTTP/2.0\r\n" + h + "\r\n", status: 505},
		{desc: "unknown expectation", raw: "POST / HTTP/1.1\r\n" + h + "Expect: teapot\r\nContent-Length: 1\r\n\r\nx", status: 417},
		{desc: "100-continue in HTTP/1.0", raw: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", status: 417},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			hd := &strictHandler{}
			cfg := Config{Handler: hd}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, addr := startServer(t, cfg)
			res, body := rawExchangeClose(t, addr, tc.raw, tc.eof)
			got := 0
			if res != nil {
				got = res.StatusCode
			}
			if got != tc.status {
				t.Errorf("status %d (body %q), want %d", got, body, tc.status)
			}
			if called := hd.calls.Load() > 0; called != tc.called {
				t.Errorf("handler called: %v, want %v", called, tc.called)
			}
			if res != nil && res.StatusCode >= 400 && !res.Close {
				t.Errorf("error response without Connection: close")
			}
		})
	}
}
