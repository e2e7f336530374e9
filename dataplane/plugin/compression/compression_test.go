package compression

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func level(n uint32) *uint32 { return &n }

func build(t testing.TB, c *pb.CompressionPlugin, h http.Handler) http.Handler {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "compress", &pb.Plugin{Category: Category, Config: &pb.Plugin_Compression{Compression: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw(h)
}

// jsonBody is about 16 KiB of JSON, compressible like an API answer.
func jsonBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 16<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["alpha","beta"],"price":%d.%02d,"in_stock":%t}`, i, i, i*7%500, i%100, i%3 == 0)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// serveBody answers body with header set, in chunks of 1000 bytes.
func serveBody(body []byte, header ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Add(header[i], header[i+1])
		}
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		for rest := body; len(rest) > 0; {
			n := min(1000, len(rest))
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
	})
}

func decode(t testing.TB, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "", "identity":
		return body
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(body))
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return out
}

func encode(t testing.TB, coding string, body []byte) []byte {
	t.Helper()
	cd, err := newCodec(coding, 3)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pe := cd.get(&b)
	_, _ = pe.Write(body)
	_ = pe.Close()
	return b.Bytes()
}

func send(h http.Handler, method, accept string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	h := build(t, &pb.CompressionPlugin{}, serveBody(body, "Content-Type", "application/json",
		"Content-Length", strconv.Itoa(len(body)), "ETag", `"v1"`, "Accept-Ranges", "bytes"))
	for _, coding := range []string{Gzip, Brotli, Zstd} {
		t.Run(coding, func(t *testing.T) {
			t.Parallel()
			// Several rounds: pooled encoders are reused and must be reset.
			for range 3 {
				rec := send(h, "GET", coding)
				hd := rec.Header()
				if hd.Get("Content-Encoding") != coding || hd.Get("Content-Length") != "" || hd.Get("Vary") != "Accept-Encoding" ||
					hd.Get("ETag") != `W/"v1"` || hd.Get("Accept-Ranges") != "" {
					t.Fatalf("headers %v", hd)
				}
				if rec.Body.Len() >= len(body)/3 {
					t.Errorf("%s: %d bytes from %d", coding, rec.Body.Len(), len(body))
				}
				if got := decode(t, coding, rec.Body.Bytes()); !bytes.Equal(got, body) {
					t.Fatalf("%s round trip: got %d bytes, want %d", coding, len(got), len(body))
				}
			}
		})
	}
}

func TestNegotiation(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	all := build(t, &pb.CompressionPlugin{}, serveBody(body, "Content-Type", "text/html; charset=utf-8"))
	noZstd := build(t, &pb.CompressionPlugin{ZstdLevel: level(0)}, serveBody(body, "Content-Type", "text/html"))
	tests := []struct {
		desc, accept string
		h            http.Handler
		want         string
	}{
		{"q-values", "gzip;q=0.5, br", all, Brotli},
		{"refusal and star", "br;q=0, *", all, Zstd},
		{"identity", "identity", all, ""},
		{"star refused", "*;q=0", all, ""},
		{"absent", "", all, ""},
		{"tie order", "gzip, br, zstd", all, Zstd},
		{"ties without zstd", "gzip, br, zstd", noZstd, Brotli},
		{"only a disabled coding", "zstd", noZstd, ""},
		{"unknown codings", "deflate, compress", all, ""},
		{"x-gzip", "x-gzip", all, Gzip},
		{"identity preferred", "identity;q=1, gzip;q=0.5", all, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := send(tt.h, "GET", tt.accept)
			if got := rec.Header().Get("Content-Encoding"); got != tt.want {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want %q", tt.accept, got, tt.want)
			}
			if got := decode(t, tt.want, rec.Body.Bytes()); !bytes.Equal(got, body) {
				t.Error("body changed")
			}
			if rec.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary = %q", rec.Header().Values("Vary"))
			}
		})
	}
}

// Responses the plugin must leave alone, byte for byte and header for
// header (except Vary where the type is eligible).
func TestSkips(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	small := []byte(strings.Repeat("x", 100))
	gz := encode(t, Gzip, body)
	status := func(code int, b []byte, header ...string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(code)
			_, _ = w.Write(b)
		})
	}
	tests := []struct {
		desc     string
		cfg      *pb.CompressionPlugin
		h        http.Handler
		header   []string // request headers
		wantBody []byte
		wantVary bool
	}{
		{"already encoded", nil, serveBody(gz, "Content-Type", "text/html", "Content-Encoding", "gzip"), nil, gz, false},
		{"small body", nil, serveBody(small, "Content-Type", "text/html", "Content-Length", "100"), nil, small, true},
		{"under a custom min_length", &pb.CompressionPlugin{MinLength: 64 << 10},
			serveBody(body, "Content-Type", "text/html", "Content-Length", strconv.Itoa(len(body))), nil, body, true},
		{"image", nil, serveBody(body, "Content-Type", "image/png"), nil, body, false},
		{"no content type and not sniffed as text", nil, serveBody([]byte("\x89PNG\r\n\x1a\n" + string(body))), nil, []byte("\x89PNG\r\n\x1a\n" + string(body)), false},
		{"type not on a custom list", &pb.CompressionPlugin{ContentTypes: []string{"text/css"}},
			serveBody(body, "Content-Type", "text/html"), nil, body, false},
		{"no-transform", nil, serveBody(body, "Content-Type", "text/html", "Cache-Control", "public, No-Transform"), nil, body, false},
		{"206", nil, status(http.StatusPartialContent, body, "Content-Type", "text/html", "Content-Range", "bytes 0-9/100"), nil, body, false},
		{"range request", nil, serveBody(body, "Content-Type", "text/html"), []string{"Range", "bytes=0-"}, body, true},
		{"gRPC response", nil, serveBody(body, "Content-Type", "application/grpc+json"), nil, body, false},
		{"gRPC request", nil, serveBody(body, "Content-Type", "text/html"), []string{"Content-Type", "application/grpc"}, body, false},
		{"upgrade request", nil, serveBody(body, "Content-Type", "text/html"), []string{"Connection", "Upgrade", "Upgrade", "websocket"}, body, false},
		{"404 small", nil, status(http.StatusNotFound, small, "Content-Type", "text/plain", "Content-Length", "100"), nil, small, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			if cfg == nil {
				cfg = &pb.CompressionPlugin{}
			}
			rec := send(build(t, cfg, tt.h), "GET", "gzip, br, zstd", tt.header...)
			if ce := rec.Header().Get("Content-Encoding"); ce != "" && !strings.Contains(tt.desc, "encoded") {
				t.Fatalf("compressed with %s", ce)
			}
			if !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("body changed: %d bytes, want %d", rec.Body.Len(), len(tt.wantBody))
			}
			if got := rec.Header().Get("Vary") == "Accept-Encoding"; got != tt.wantVary {
				t.Errorf("Vary %q, want it: %v", rec.Header().Values("Vary"), tt.wantVary)
			}
		})
	}
}

func TestStatusesWithoutBody(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusNoContent, http.StatusNotModified} {
		h := build(t, &pb.CompressionPlugin{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(code)
		}))
		rec := send(h, "GET", "gzip")
		if rec.Code != code || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("ETag") != `"x"` || rec.Body.Len() != 0 {
			t.Errorf("%d: got %d %v %q", code, rec.Code, rec.Header(), rec.Body.Bytes())
		}
	}
}

func TestUnknownLengthAndSniffing(t *testing.T) {
	t.Parallel()
	html := []byte("<!DOCTYPE html><html><body>" + strings.Repeat("<p>hello</p>", 10) + "</body></html>")
	// No Content-Length (so compressed even though short) and no
	// Content-Type: the plugin sniffs it, since the server could not sniff
	// compressed bytes.
	h := build(t, &pb.CompressionPlugin{}, serveBody(html))
	rec := send(h, "GET", "gzip")
	if rec.Header().Get("Content-Encoding") != Gzip || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("headers %v", rec.Header())
	}
	if got := decode(t, Gzip, rec.Body.Bytes()); !bytes.Equal(got, html) {
		t.Errorf("body %q", got)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	h := build(t, &pb.CompressionPlugin{}, serveBody(body, "Content-Type", "application/json",
		"Content-Length", strconv.Itoa(len(body)), "ETag", `"e"`))
	rec := send(h, "HEAD", "br")
	hd := rec.Header()
	if hd.Get("Content-Encoding") != Brotli || hd.Get("Content-Length") != "" || hd.Get("Vary") != "Accept-Encoding" ||
		hd.Get("ETag") != `W/"e"` || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %v, %d body bytes", hd, rec.Body.Len())
	}
}

func TestVary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		existing []string
		want     []string
	}{
		{nil, []string{"Accept-Encoding"}},
		{[]string{"Origin"}, []string{"Origin, Accept-Encoding"}},
		{[]string{"Origin", "Cookie"}, []string{"Origin", "Cookie, Accept-Encoding"}},
		{[]string{"Origin, accept-encoding"}, []string{"Origin, accept-encoding"}},
		{[]string{"Accept-Encoding", "Origin"}, []string{"Accept-Encoding", "Origin"}},
		{[]string{"*"}, []string{"*"}},
		{[]string{""}, []string{"Accept-Encoding"}},
	}
	body := jsonBody()
	for _, tt := range tests {
		shared := append([]string(nil), tt.existing...)
		h := build(t, &pb.CompressionPlugin{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			if shared != nil {
				w.Header()["Vary"] = shared // as the mock plugin does: a shared slice
			}
			_, _ = w.Write(body)
		}))
		rec := send(h, "GET", "gzip")
		if got := rec.Header().Values("Vary"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Vary %q -> %q, want %q", tt.existing, got, tt.want)
		}
		if strings.Join(shared, "|") != strings.Join(tt.existing, "|") {
			t.Errorf("the handler's slice changed: %q", shared)
		}
	}
}

// A stream is flushed through the encoder: the client reads the first
// event while the handler still waits for it to do so.
func TestStreamingFlush(t *testing.T) {
	t.Parallel()
	for _, coding := range []string{Gzip, Brotli, Zstd} {
		t.Run(coding, func(t *testing.T) {
			t.Parallel()
			read := make(chan struct{})
			h := build(t, &pb.CompressionPlugin{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: first\n\n")
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				select {
				case <-read:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "data: second\n\n")
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", coding)
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Header.Get("Content-Encoding") != coding {
				t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			dr := streamDecoder(t, coding, resp.Body)
			first := make([]byte, len("data: first\n\n"))
			if _, err := io.ReadFull(dr, first); err != nil || string(first) != "data: first\n\n" {
				t.Fatalf("first event %q, %v (the flush did not pass the encoder)", first, err)
			}
			close(read)
			rest, err := io.ReadAll(dr)
			if err != nil || string(rest) != "data: second\n\n" {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

func streamDecoder(t *testing.T, coding string, r io.Reader) io.Reader {
	t.Helper()
	switch coding {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		return zr
	case Brotli:
		return brotli.NewReader(r)
	default:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zr.Close)
		return zr
	}
}

func TestDecompression(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	for _, upstream := range []string{Gzip, Brotli, Zstd} {
		encoded := encode(t, upstream, body)
		h := build(t, &pb.CompressionPlugin{Decompression: true, BrLevel: level(0)}, serveBody(encoded,
			"Content-Type", "application/json", "Content-Encoding", upstream, "Content-Length", strconv.Itoa(len(encoded)), "ETag", `"u"`))
		tests := []struct{ accept, want string }{
			{"", ""},                           // no header: identity
			{upstream, upstream},               // accepted: passes as it is
			{"gzip;q=0, br;q=0, zstd", "zstd"}, // re-encoded when upstream's is not accepted
			{"identity", ""},
		}
		if upstream == Zstd {
			tests[2].want = Zstd
		}
		if upstream == Brotli {
			tests = append(tests, struct{ accept, want string }{"gzip", Gzip})
		}
		for _, tt := range tests {
			rec := send(h, "GET", tt.accept)
			hd := rec.Header()
			if got := hd.Get("Content-Encoding"); got != tt.want {
				t.Errorf("%s upstream, Accept-Encoding %q: Content-Encoding %q, want %q", upstream, tt.accept, got, tt.want)
				continue
			}
			if got := decode(t, tt.want, rec.Body.Bytes()); !bytes.Equal(got, body) {
				t.Errorf("%s upstream, Accept-Encoding %q: body differs (%d bytes)", upstream, tt.accept, len(got))
			}
			if hd.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", hd.Values("Vary"))
			}
			if changed := tt.want != upstream; changed != (hd.Get("Content-Length") == "") || changed != (hd.Get("ETag") == `W/"u"`) {
				t.Errorf("%s upstream, Accept-Encoding %q: Content-Length %q, ETag %q", upstream, tt.accept, hd.Get("Content-Length"), hd.Get("ETag"))
			}
		}
	}
	// Off by default: an encoded body passes whatever the client accepts.
	gz := encode(t, Gzip, body)
	h := build(t, &pb.CompressionPlugin{}, serveBody(gz, "Content-Type", "text/html", "Content-Encoding", "gzip"))
	if rec := send(h, "GET", ""); rec.Header().Get("Content-Encoding") != Gzip || !bytes.Equal(rec.Body.Bytes(), gz) {
		t.Errorf("without decompression: %v", rec.Header())
	}
}

// A body that does not decode aborts the response (the client must not
// take a truncated body for a whole one), and the plugin goes on working.
func TestDecompressionCorrupt(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	gz := encode(t, Gzip, body)
	bad := append(append([]byte(nil), gz[:len(gz)/2]...), bytes.Repeat([]byte{0xff}, 100)...)
	h := build(t, &pb.CompressionPlugin{Decompression: true}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/bad" {
			_, _ = w.Write(bad)
			return
		}
		_, _ = w.Write(gz)
	}))
	func() {
		defer func() {
			if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
				t.Errorf("corrupt body: recovered %v, want http.ErrAbortHandler", err)
			}
		}()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/bad", nil))
	}()
	rec := send(h, "GET", "")
	if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Errorf("after a corrupt body: %v, %d bytes", rec.Header(), rec.Body.Len())
	}
}

// A handler that panics (the proxy does, with http.ErrAbortHandler, when
// upstream breaks mid-body) keeps its panic, the body is not terminated,
// and the encoder goes back to the pool in a usable state.
func TestAbort(t *testing.T) {
	t.Parallel()
	body := jsonBody()
	h := build(t, &pb.CompressionPlugin{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body[:5000])
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write(body[5000:])
	}))
	for _, coding := range []string{Gzip, Brotli, Zstd} {
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
					t.Errorf("recovered %v, want http.ErrAbortHandler", err)
				}
			}()
			req := httptest.NewRequest("GET", "/abort", nil)
			req.Header.Set("Accept-Encoding", coding)
			h.ServeHTTP(rec, req)
		}()
		full := send(h, "GET", coding)
		if got := decode(t, coding, full.Body.Bytes()); !bytes.Equal(got, body) {
			t.Errorf("%s after an abort: body differs", coding)
		}
	}
}

func TestHijackAndController(t *testing.T) {
	t.Parallel()
	h := build(t, &pb.CompressionPlugin{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		conn, brw, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if string(b) != "hi" {
		t.Errorf("hijacked answer %q", b)
	}
}

// A plugin with its category only has no options message: every default.
func TestNoOptions(t *testing.T) {
	t.Parallel()
	mw, err := New(plugin.BuildContext{}, "c", &pb.Plugin{Category: Category})
	if err != nil {
		t.Fatal(err)
	}
	body := jsonBody()
	rec := send(mw(serveBody(body, "Content-Type", "application/json")), "GET", "gzip, br, zstd")
	if rec.Header().Get("Content-Encoding") != Zstd || !bytes.Equal(decode(t, Zstd, rec.Body.Bytes()), body) {
		t.Errorf("defaults: %v", rec.Header())
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	_, err := New(plugin.BuildContext{}, "c", &pb.Plugin{Category: Category, Config: &pb.Plugin_Compression{
		Compression: &pb.CompressionPlugin{GzipLevel: level(12)}}})
	if err == nil || !strings.Contains(err.Error(), "gzip level 12") {
		t.Errorf("gzip level 12: %v", err)
	}
	_, err = New(plugin.BuildContext{}, "c", &pb.Plugin{Category: Category, Config: &pb.Plugin_Compression{
		Compression: &pb.CompressionPlugin{ContentTypes: []string{"a b"}}}})
	if err == nil {
		t.Error("bad content type accepted")
	}
}
