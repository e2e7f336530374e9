package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// BenchmarkProxy measures a whole proxied request over loopback: client →
// proxy → backend and back, keep-alive on both sides, 13-byte body.
func BenchmarkProxy(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, world!")
	}))
	defer be.Close()
	ps := proxyForBench(b, be.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(ps.URL + "/bench")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func proxyForBench(b *testing.B, addr string) *httptest.Server {
	b.Helper()
	loc := &pb.Location{ProxySetHeaders: []string{"X-Env:bench"}}
	return proxyFor(b, addr, loc, nil, nil)
}
