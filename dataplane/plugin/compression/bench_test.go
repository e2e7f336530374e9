package compression

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the plugin and the encoder, not a recorder's buffers.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// benchCompress sends a ~16 KiB JSON body (written in 1000-byte chunks, as
// a proxied body arrives) through the middleware with coding accepted.
func benchCompress(b *testing.B, coding string) {
	body := jsonBody()
	h := build(b, &pb.CompressionPlugin{}, serveBody(body, "Content-Type", "application/json",
		"Content-Length", strconv.Itoa(len(body))))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Encoding", coding)
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.n = 0
		h.ServeHTTP(w, req)
	}
	if w.h.Get("Content-Encoding") != coding {
		b.Fatalf("not compressed with %s: %v", coding, w.h)
	}
	b.ReportMetric(float64(w.n), "out-bytes")
}

func BenchmarkCompressGzip(b *testing.B)   { benchCompress(b, Gzip) }
func BenchmarkCompressBrotli(b *testing.B) { benchCompress(b, Brotli) }
func BenchmarkCompressZstd(b *testing.B)   { benchCompress(b, Zstd) }

// BenchmarkUnpooled compresses the same body with a new encoder each time:
// what every response would cost without the pools, for comparison.
func BenchmarkUnpooled(b *testing.B) {
	body := jsonBody()
	for _, coding := range []string{Gzip, Brotli, Zstd} {
		b.Run(coding, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				cd, err := newCodec(coding, map[string]int{Gzip: DefaultGzipLevel, Brotli: DefaultBrotliLevel, Zstd: DefaultZstdLevel}[coding])
				if err != nil {
					b.Fatal(err)
				}
				pe := cd.get(w)
				for rest := body; len(rest) > 0; {
					n := min(1000, len(rest))
					_, _ = pe.Write(rest[:n])
					rest = rest[n:]
				}
				_ = pe.Close()
			}
		})
	}
}
