package cache

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// revalidating answers 200 with validator v and max-age=10 to an
// unconditional request, 304 when the request's validator matches.
func revalidating(header, cond string) func(http.ResponseWriter, *http.Request) {
	calls := 0
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if r.Header.Get(cond) != "" {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("X-Refreshed", fmt.Sprint(n))
			w.Header().Set("Content-Length", "99") // a 304's Content-Length never replaces the stored one
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fixed(200, "original", "Cache-Control: max-age=10", header)(w, r)
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	lm := newClock().now().Add(-time.Hour).Format(http.TimeFormat)
	for _, tt := range []struct{ desc, header, cond, want string }{
		{"ETag", `Etag: "v1"`, "If-None-Match", `"v1"`},
		{"Last-Modified", "Last-Modified: " + lm, "If-Modified-Since", lm},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, &pb.CachePlugin{}, revalidating(tt.header, tt.cond))
			f.want(f.do("GET", "/r"), 200, LabelMiss, "original", 1)
			if got := f.up.lastHeader().Get(tt.cond); got != "" {
				t.Fatalf("first request carried %s %q", tt.cond, got)
			}
			f.clk.advance(10 * time.Second)
			rec := f.do("GET", "/r")
			f.want(rec, 200, LabelRevalidated, "original", 2)
			if got := f.up.lastHeader().Get(tt.cond); got != tt.want {
				t.Fatalf("revalidation sent %s %q, want %q", tt.cond, got, tt.want)
			}
			if rec.Header().Get("X-Refreshed") != "2" || rec.Header().Get("Content-Length") != "8" {
				t.Fatalf("refreshed header %v", rec.Header())
			}
			// Fresh again for max-age from the 304, with its headers.
			f.clk.advance(9 * time.Second)
			rec = f.do("GET", "/r")
			f.want(rec, 200, LabelHit, "original", 2)
			if rec.Header().Get("X-Refreshed") != "2" || rec.Header().Get("Age") != "9" {
				t.Fatalf("hit after refresh: %v", rec.Header())
			}
			// A client that already has it gets 304 from the revalidation.
			f.clk.advance(time.Second)
			rec = f.do("GET", "/r", tt.cond+": "+tt.want)
			f.want(rec, 304, LabelRevalidated, "", 3)
			if ev := f.events(); ev["revalidated"] != 2 {
				t.Errorf("events %v", ev)
			}
		})
	}
}

// A stale entry whose upstream sends a new response is replaced.
func TestStaleReplaced(t *testing.T) {
	t.Parallel()
	version := "one"
	var mu sync.Mutex
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fixed(200, version, "Cache-Control: max-age=5", `Etag: "`+version+`"`)(w, r)
	})
	f.want(f.do("GET", "/x"), 200, LabelMiss, "one", 1)
	mu.Lock()
	version = "two"
	mu.Unlock()
	f.clk.advance(5 * time.Second)
	f.want(f.do("GET", "/x"), 200, LabelExpired, "two", 2)
	f.want(f.do("GET", "/x"), 200, LabelHit, "two", 2)
}

// A response that must be revalidated every time (no-cache) is stored,
// and every use asks upstream.
func TestResponseNoCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"n"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fixed(200, "nc", "Cache-Control: no-cache", `Etag: "n"`)(w, r)
	})
	f.want(f.do("GET", "/nc"), 200, LabelMiss, "nc", 1)
	f.want(f.do("GET", "/nc"), 200, LabelRevalidated, "nc", 2)
	f.want(f.do("GET", "/nc"), 200, LabelRevalidated, "nc", 3)
}

func TestRequestNoCacheRevalidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, revalidating(`Etag: "e"`, "If-None-Match"))
	f.want(f.do("GET", "/q"), 200, LabelMiss, "original", 1)
	f.want(f.do("GET", "/q", "Cache-Control: no-cache"), 200, LabelRevalidated, "original", 2)
	f.want(f.do("GET", "/q", "Pragma: no-cache"), 200, LabelRevalidated, "original", 3)
	f.want(f.do("GET", "/q", "Cache-Control: max-age=0"), 200, LabelRevalidated, "original", 4)
	f.want(f.do("GET", "/q", "Cache-Control: max-age=5"), 200, LabelHit, "original", 4)
	f.want(f.do("GET", "/q"), 200, LabelHit, "original", 4)
}

func TestOnlyIfCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, fixed(200, "o", "Cache-Control: max-age=60"))
	f.want(f.do("GET", "/o", "Cache-Control: only-if-cached"), 504, "", "gateway timeout", 0)
	f.do("GET", "/o")
	f.want(f.do("GET", "/o", "Cache-Control: only-if-cached"), 200, LabelHit, "o", 1)
}

func TestClientConditional(t *testing.T) {
	t.Parallel()
	lm := newClock().now().Add(-time.Hour)
	f := newFixture(t, &pb.CachePlugin{}, fixed(200, "cond", "Cache-Control: max-age=60", `Etag: W/"abc"`,
		"Last-Modified: "+lm.Format(http.TimeFormat), "Content-Type: text/plain"))
	// A miss strips the client's conditional, stores the full response
	// and answers the client 304 itself.
	rec := f.do("GET", "/c", `If-None-Match: "abc"`)
	f.want(rec, 304, LabelMiss, "", 1)
	if f.up.lastHeader().Get("If-None-Match") != "" {
		t.Fatal("the client's conditional went upstream")
	}
	tests := []struct {
		desc   string
		header []string
		want   int
	}{
		{"etag", []string{`If-None-Match: "abc"`}, 304},
		{"etag in a list", []string{`If-None-Match: "x", W/"abc"`}, 304},
		{"star", []string{`If-None-Match: *`}, 304},
		{"other etag", []string{`If-None-Match: "abd"`}, 200},
		{"not modified since", []string{"If-Modified-Since: " + lm.Format(http.TimeFormat)}, 304},
		{"modified since", []string{"If-Modified-Since: " + lm.Add(-time.Second).Format(http.TimeFormat)}, 200},
		{"etag decides over date", []string{`If-None-Match: "x"`, "If-Modified-Since: " + lm.Format(http.TimeFormat)}, 200},
	}
	for _, tt := range tests {
		rec := f.do("GET", "/c", tt.header...)
		if rec.Code != tt.want || rec.Header().Get(HeaderXCache) != LabelHit {
			t.Errorf("%s: %d %q, want %d HIT", tt.desc, rec.Code, rec.Header().Get(HeaderXCache), tt.want)
		}
		if tt.want == 304 && (rec.Body.Len() != 0 || rec.Header().Get("Etag") != `W/"abc"` || rec.Header().Get("Content-Type") != "") {
			t.Errorf("%s: 304 with body %q header %v", tt.desc, rec.Body.String(), rec.Header())
		}
	}
	if got := f.up.calls.Load(); got != 1 {
		t.Errorf("upstream reached %d times", got)
	}
}
