package limit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// nopWriter is a ResponseWriter that keeps its header map, so a benchmark
// measures the check and not the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkAllow measures the per-request check of an allowed request:
// key, table lookup, bucket (or count) and the RateLimit headers. "one
// key" hits one existing key; "rotating keys" cycles 10000 keys, all
// held in the table.
func BenchmarkAllow(b *testing.B) {
	const keys = 10000
	reqs := make([]*http.Request, keys)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].Header.Set("X-Client", "client-"+strconv.Itoa(i))
	}
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, typ := range []string{"rate", "inflight"} {
		// Enough tokens that nothing is refused: the allowed path.
		l, err := build(plugin.BuildContext{Now: time.Now}, &pb.LimitPlugin{
			Type: typ, Tag: "header", Key: "X-Client", Max: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		h := l.middleware(nop)
		for _, rotate := range []bool{false, true} {
			name := typ + "/one_key"
			n := 1
			if rotate {
				name, n = typ+"/rotating_keys", keys
			}
			b.Run(name, func(b *testing.B) {
				w := &nopWriter{h: http.Header{}}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					h.ServeHTTP(w, reqs[i])
					if i++; i == n {
						i = 0
					}
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					w := &nopWriter{h: http.Header{}}
					i := 0
					for pb.Next() {
						h.ServeHTTP(w, reqs[i])
						if i++; i == n {
							i = 0
						}
					}
				})
			})
		}
	}
}
