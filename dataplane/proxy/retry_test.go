package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testbin"
)

// statusBackend answers every request with status and counts them.
func statusBackend(t *testing.T, status int, hits *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// proxyTwo fronts two targets with round robin, so consecutive requests
// start on alternating targets.
func proxyTwo(t *testing.T, a, b string, maxRetries *uint32) *httptest.Server {
	t.Helper()
	return proxyFor(t, a, &pb.Location{}, nil, &pb.Upstream{Addrs: []string{a, b}, MaxRetries: maxRetries,
		OutlierDetection: &pb.OutlierDetection{Disabled: true}})
}

func TestRetries(t *testing.T) {
	t.Parallel()
	zero := uint32(0)
	tests := []struct {
		desc       string
		first      func(t *testing.T, hits *atomic.Int64) string
		method     string
		body       string
		maxRetries *uint32
		want       []int // statuses of 4 consecutive requests
		wantBad    int64 // requests the failing target sees; -1 when it cannot count (dead)
	}{
		{"dead target, GET", func(t *testing.T, _ *atomic.Int64) string { return testbin.FreeAddr(t) }, "GET", "", nil, []int{200, 200, 200, 200}, -1},
		{"dead target, POST with body is retried (nothing was sent)", func(t *testing.T, _ *atomic.Int64) string { return testbin.FreeAddr(t) }, "POST", "data", nil, []int{200, 200, 200, 200}, -1},
		{"503 GET is retried", func(t *testing.T, h *atomic.Int64) string { return statusBackend(t, 503, h) }, "GET", "", nil, []int{200, 200, 200, 200}, 4}, // round robin starts every request on it
		{"503 POST with body is not retried", func(t *testing.T, h *atomic.Int64) string { return statusBackend(t, 503, h) }, "POST", "data", nil, []int{503, 200, 503, 200}, 2},
		{"500 is not retried", func(t *testing.T, h *atomic.Int64) string { return statusBackend(t, 500, h) }, "GET", "", nil, []int{500, 200, 500, 200}, 2},
		{"max_retries 0", func(t *testing.T, _ *atomic.Int64) string { return testbin.FreeAddr(t) }, "GET", "", &zero, []int{502, 200, 502, 200}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var badHits, goodHits atomic.Int64
			ps := proxyTwo(t, tt.first(t, &badHits), statusBackend(t, 200, &goodHits), tt.maxRetries)
			for i, want := range tt.want {
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				req, _ := http.NewRequest(tt.method, ps.URL+"/", body)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, want)
				}
			}
			if tt.wantBad >= 0 && badHits.Load() != tt.wantBad {
				t.Errorf("failing target saw %d requests, want %d", badHits.Load(), tt.wantBad)
			}
		})
	}
}
