package cache

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// benchWriter is a ResponseWriter that keeps nothing, its header map
// reused like a server's per-request one.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchCache(b *testing.B) (http.Handler, *http.Request) {
	c, err := NewCache(plugin.BuildContext{}, &pb.CachePlugin{})
	if err != nil {
		b.Fatal(err)
	}
	h := c.Middleware(http.HandlerFunc(fixed(200, `{"ok":true,"items":[1,2,3]}`,
		"Cache-Control: max-age=3600", "Content-Type: application/json", `Etag: "abc"`)))
	r := httptest.NewRequest("GET", "/api/items?page=1", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	return h, r
}

// BenchmarkLookupHit is a whole HIT through the middleware: key, lookup,
// headers and a small body.
func BenchmarkLookupHit(b *testing.B) {
	h, r := benchCache(b)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
		if w.code != 200 || w.h.Get(HeaderXCache) != LabelHit {
			b.Fatalf("%d %v", w.code, w.h)
		}
	}
}

// BenchmarkLookupHitParallel is BenchmarkLookupHit from every P at once
// (one key: the store's mutex is the shared part).
func BenchmarkLookupHitParallel(b *testing.B) {
	h, r := benchCache(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkKey builds a primary key with one configured header.
func BenchmarkKey(b *testing.B) {
	c, err := NewCache(plugin.BuildContext{}, &pb.CachePlugin{Headers: []string{"X-Tenant"}})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/items?page=1&sort=desc", nil)
	r.Header.Set("X-Tenant", "acme")
	b.ReportAllocs()
	for b.Loop() {
		if c.primaryKey(r) == "" {
			b.Fatal("empty key")
		}
	}
}
