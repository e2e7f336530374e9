package cache

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// switchable answers with the current handler, so a test can make the
// upstream fail after it filled the cache.
type switchable struct {
	h atomic.Pointer[func(http.ResponseWriter, *http.Request)]
}

func (s *switchable) set(h func(http.ResponseWriter, *http.Request)) { s.h.Store(&h) }
func (s *switchable) serve(w http.ResponseWriter, r *http.Request)   { (*s.h.Load())(w, r) }

func TestStaleIfError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc      string
		cc        string
		failure   func(http.ResponseWriter, *http.Request)
		after     time.Duration // past expiry
		wantStale bool
	}{
		{"a 503 within the grace", "max-age=10", fixed(503, "down"), 30 * time.Second, true},
		{"a 502 from the proxy itself", "max-age=10", fixed(502, "bad gateway"), 30 * time.Second, true},
		{"past the grace", "max-age=10", fixed(503, "down"), 61 * time.Second, false},
		{"must-revalidate forbids it", "max-age=10, must-revalidate", fixed(503, "down"), 30 * time.Second, false},
		{"a 404 is an answer, not a failure", "max-age=10", fixed(404, "gone"), 30 * time.Second, false},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			up := &switchable{}
			up.set(fixed(200, "v1", "Cache-Control: "+tt.cc))
			f := newFixture(t, &pb.CachePlugin{StaleIfError: dur(time.Minute)}, up.serve)
			f.want(f.do("GET", "/p"), 200, LabelMiss, "v1", 1)
			up.set(tt.failure)
			f.clk.advance(10*time.Second + tt.after)
			rec := f.do("GET", "/p")
			if tt.wantStale {
				f.want(rec, 200, LabelStale, "v1", 2)
				// The stale entry is still there for the next failure, and a
				// recovered upstream replaces it.
				f.want(f.do("GET", "/p"), 200, LabelStale, "v1", 3)
				up.set(fixed(200, "v2", "Cache-Control: max-age=10"))
				f.want(f.do("GET", "/p"), 200, LabelExpired, "v2", 4)
				f.want(f.do("GET", "/p"), 200, LabelHit, "v2", 4)
				return
			}
			if rec.Code == 200 || rec.Header().Get(HeaderXCache) == LabelStale {
				t.Fatalf("served %d X-Cache %q; the failure should pass through", rec.Code, rec.Header().Get(HeaderXCache))
			}
		})
	}
}

// Without stale_if_error, a failure reaches the client.
func TestNoStaleByDefault(t *testing.T) {
	t.Parallel()
	up := &switchable{}
	up.set(fixed(200, "v1", "Cache-Control: max-age=10"))
	f := newFixture(t, &pb.CachePlugin{}, up.serve)
	f.want(f.do("GET", "/p"), 200, LabelMiss, "v1", 1)
	up.set(fixed(503, "down"))
	f.clk.advance(11 * time.Second)
	if rec := f.do("GET", "/p"); rec.Code != 503 {
		t.Fatalf("got %d, want the upstream's 503", rec.Code)
	}
}
