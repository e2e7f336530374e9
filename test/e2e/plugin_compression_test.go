package e2e

// End-to-end cases of the body and encoding plugins: compression,
// accept_encoding and sub_filter. TestPluginsEndToEnd runs them.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pingap-go/pingap/internal/testbackend"
)

// compressionPluginCases cover a compression round trip per coding, a
// stream, an upstream body decoded for a client that does not accept it,
// the Accept-Encoding accept_encoding sends upstream, and sub_filter's
// replacements compressed on the way out.
func compressionPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	html := `<!DOCTYPE html><html><body>` + strings.Repeat(`<p><a href="http://example.com/">example</a></p>`, 40) + `</body></html>`
	var gzHTML bytes.Buffer
	zw := gzip.NewWriter(&gzHTML)
	_, _ = zw.Write([]byte(html))
	_ = zw.Close()
	encodedApp := startLocal(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(gzHTML.Len()))
		_, _ = w.Write(gzHTML.Bytes())
	}), localOpts{})
	// The shared backend sees "/NAME/echo", not its "/echo": this one gets
	// the path without the location's prefix, so its /echo, /bytes and
	// /stream endpoints answer.
	bodies := startLocal(t, withoutFirstSegment(testbackend.New("compression_bodies")), localOpts{})
	return []pluginCase{{
		name: "compression", category: "compression", plugins: []string{"compression_all"},
		upstream: "compression_bodies",
		toml: upstreamTOML("compression_bodies", "", bodies.addr) + `[plugins.compression_all]
category = "compression"
gzip_level = 5
br_level = 5
zstd_level = 3
`,
		check: func(t *testing.T, c *http.Client, base string) {
			body := jsonDocument()
			for _, coding := range []string{"gzip", "br", "zstd"} {
				res := mustSend(t, c, req{method: "POST", url: base + "/echo", body: bytes.NewReader(body), contentLength: int64(len(body)),
					header: http.Header{"Content-Type": {"application/json"}, "Accept-Encoding": {coding + ", identity;q=0.5"}}})
				// The server may count a short compressed body before sending it.
				if cl := res.Header.Get("Content-Length"); res.Code != http.StatusOK || res.Header.Get("Content-Encoding") != coding ||
					res.Header.Get("Vary") != "Accept-Encoding" || cl != "" && cl != strconv.Itoa(len(res.Body)) {
					t.Fatalf("%s: %d %v", coding, res.Code, res.Header)
				}
				if got := decodeBody(t, coding, res.Body); !bytes.Equal(got, body) {
					t.Errorf("%s: decoded %d bytes, want the %d sent", coding, len(got), len(body))
				}
				if len(res.Body) > len(body)/2 {
					t.Errorf("%s: %d bytes for %d", coding, len(res.Body), len(body))
				}
			}
			// A client that accepts nothing gets the body as it is.
			res := mustSend(t, c, req{method: "POST", url: base + "/echo", body: bytes.NewReader(body), contentLength: int64(len(body)),
				header: http.Header{"Content-Type": {"application/json"}}})
			if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(res.Body, body) || res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("no Accept-Encoding: %v", res.Header)
			}
			// Octet streams are not on the list.
			res = mustSend(t, c, req{url: base + "/bytes/4096", header: http.Header{"Accept-Encoding": {"gzip"}}})
			if res.Header.Get("Content-Encoding") != "" || len(res.Body) != 4096 {
				t.Errorf("bytes: %v, %d bytes", res.Header, len(res.Body))
			}
			// A stream (unknown length, flushed line by line) decodes whole.
			res = mustSend(t, c, req{url: base + "/stream?n=4&interval=10ms", header: http.Header{"Accept-Encoding": {"br"}}})
			if res.Header.Get("Content-Encoding") != "br" || string(decodeBody(t, "br", res.Body)) != "chunk 0\nchunk 1\nchunk 2\nchunk 3\n" {
				t.Errorf("stream: %v %q", res.Header, decodeBody(t, "br", res.Body))
			}
		},
	}, {
		name: "compression_decode", category: "compression", plugins: []string{"compression_decode"},
		upstream: "compression_encoded_app",
		toml: upstreamTOML("compression_encoded_app", "", encodedApp.addr) + `[plugins.compression_decode]
category = "compression"
decompression = true
`,
		check: func(t *testing.T, c *http.Client, base string) {
			for _, tt := range []struct{ accept, want string }{{"", ""}, {"gzip", "gzip"}, {"gzip;q=0, br", "br"}} {
				res := mustSend(t, c, req{url: base + "/page", header: http.Header{"Accept-Encoding": {tt.accept}}})
				if res.Code != http.StatusOK || res.Header.Get("Content-Encoding") != tt.want {
					t.Fatalf("Accept-Encoding %q: %d, Content-Encoding %q, want %q", tt.accept, res.Code, res.Header.Get("Content-Encoding"), tt.want)
				}
				if got := decodeBody(t, tt.want, res.Body); string(got) != html {
					t.Errorf("Accept-Encoding %q: body %.60q…", tt.accept, got)
				}
			}
		},
	}, {
		name: "accept_encoding", category: "accept_encoding", plugins: []string{"accept_encoding_norm"},
		toml: `[plugins.accept_encoding_norm]
category = "accept_encoding"
encodings = "zstd, br, gzip"
`,
		check: func(t *testing.T, c *http.Client, base string) {
			for accept, want := range map[string]string{
				"gzip, deflate, br;q=0.5, zstd;q=0": "br, gzip",
				"*":                                 "zstd, br, gzip",
				"deflate":                           "",
				"":                                  "",
			} {
				h := http.Header{}
				if accept != "" {
					h.Set("Accept-Encoding", accept)
				}
				res := mustSend(t, c, req{url: base + "/page", header: h})
				got, sent := res.echo(t).Headers["Accept-Encoding"]
				if res.Code != http.StatusOK || got != want || sent != (want != "") {
					t.Errorf("client %q: upstream got %q (sent %v), want %q", accept, got, sent, want)
				}
			}
		},
	}, {
		name: "sub_filter", category: "sub_filter", plugins: []string{"sub_filter_gzip", "sub_filter_links"},
		upstream: "compression_bodies",
		toml: `[plugins.sub_filter_gzip]
category = "compression"
zstd_level = 0
br_level = 0

[plugins.sub_filter_links]
category = "sub_filter"
filters = ["subs_filter 'http://' 'https://' g", "subs_filter '>EXAMPLE<' '>Example<' gi"]
`,
		check: func(t *testing.T, c *http.Client, base string) {
			want := strings.ReplaceAll(strings.ReplaceAll(html, "http://", "https://"), ">example<", ">Example<")
			res := mustSend(t, c, req{method: "POST", url: base + "/echo", body: strings.NewReader(html), contentLength: int64(len(html)),
				header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Accept-Encoding": {"gzip"}}})
			if res.Code != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("%d %v", res.Code, res.Header)
			}
			if got := string(decodeBody(t, "gzip", res.Body)); got != want {
				t.Errorf("filtered body %.80q…, want %.80q…", got, want)
			}
			// Another type passes untouched.
			res = mustSend(t, c, req{method: "POST", url: base + "/echo", body: strings.NewReader(html), contentLength: int64(len(html)),
				header: http.Header{"Content-Type": {"text/plain"}}})
			if string(res.Body) != html {
				t.Errorf("text/plain changed: %.80q…", res.Body)
			}
		},
	}}
}

// withoutFirstSegment serves h with the request path's first segment
// ("/NAME") removed.
func withoutFirstSegment(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		if i := strings.IndexByte(r.URL.Path[1:], '/'); i >= 0 {
			r2.URL.Path = r.URL.Path[1+i:]
			r2.URL.RawPath = ""
		}
		h.ServeHTTP(w, r2)
	})
}

// jsonDocument is a few KiB of JSON.
func jsonDocument() []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b"]}`, i, i)
	}
	b.WriteString("]")
	return b.Bytes()
}

// decodeBody decodes body from coding ("" is none).
func decodeBody(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return out
}
