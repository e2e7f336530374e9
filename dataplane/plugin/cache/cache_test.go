package cache

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestHitServesStoredResponseWithoutUpstream(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, fixed(200, "hello",
		"Cache-Control: max-age=60", "Content-Type: text/plain", "X-Multi: a", "X-Multi: b", "Etag: \"v1\""))
	miss := f.do("GET", "/a?q=1")
	f.want(miss, 200, LabelMiss, "hello", 1)
	f.clk.advance(7 * time.Second)
	hit := f.do("GET", "/a?q=1")
	f.want(hit, 200, LabelHit, "hello", 1)
	if got := hit.Header().Get("Age"); got != "7" {
		t.Errorf("Age %q, want 7", got)
	}
	// Byte-identical but for Age and X-Cache.
	a, b := miss.Header().Clone(), hit.Header().Clone()
	for _, h := range []http.Header{a, b} {
		delete(h, "Age")
		delete(h, HeaderXCache)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("HIT header %v differs from the upstream's %v", b, a)
	}
	// The query and the host are part of the key.
	f.want(f.do("GET", "/a?q=2"), 200, LabelMiss, "hello", 2)
	r := httptest.NewRequest("GET", "/a?q=1", nil)
	r.Host = "other.example"
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	f.want(rec, 200, LabelMiss, "hello", 3)
	// The host is compared without case.
	r = httptest.NewRequest("GET", "/a?q=1", nil)
	r.Host = "EXAMPLE.com"
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	f.want(rec, 200, LabelHit, "hello", 3)
	if s, ev := f.cache.Stats(), f.events(); ev["hit"] != 2 || ev["miss"] != 3 || s.Entries != 3 || s.Bytes <= 0 {
		t.Errorf("stats %+v, events %v", s, ev)
	}
}

func TestConcurrentMissesCollapse(t *testing.T) {
	t.Parallel()
	const n = 100
	release := make(chan struct{})
	f := newFixture(t, &pb.CachePlugin{Lock: dur(time.Minute)}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		fixed(200, "filled once", "Cache-Control: max-age=60")(w, r)
	})
	var wg sync.WaitGroup
	recs := make([]*httptest.ResponseRecorder, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/hot", nil))
			recs[i] = rec
		}()
	}
	// One request is upstream (blocked), the others wait for it.
	for f.cache.Stats().Waiting != n-1 {
		if calls := f.up.calls.Load(); calls > 1 {
			close(release)
			t.Fatalf("misses not collapsed: %d upstream requests", calls)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := f.up.calls.Load(); got != 1 {
		t.Fatalf("upstream reached %d times, want 1", got)
	}
	labels := map[string]int{}
	for _, rec := range recs {
		if rec.Code != 200 || rec.Body.String() != "filled once" {
			t.Fatalf("a request got %d %q", rec.Code, rec.Body.String())
		}
		labels[rec.Header().Get(HeaderXCache)]++
	}
	if labels[LabelMiss] != 1 || labels[LabelHit] != n-1 {
		t.Errorf("X-Cache values %v, want one MISS and %d HIT", labels, n-1)
	}
}

// Waiters of a fill whose response cannot be stored go upstream
// themselves, in parallel, rather than one after the other.
func TestCollapsedWaitersOfUncacheableGoUpstream(t *testing.T) {
	t.Parallel()
	const n = 5
	release := make(chan struct{})
	var seen atomic.Int64
	f := newFixture(t, &pb.CachePlugin{Lock: dur(time.Minute)}, func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 1 {
			<-release // only the first (the leader) blocks
		}
		fixed(200, "personal", "Cache-Control: max-age=60", "Set-Cookie: s=1")(w, r)
	})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/me", nil))
			if rec.Body.String() != "personal" || rec.Header().Get(HeaderXCache) != LabelPass {
				t.Errorf("got %q X-Cache %q", rec.Body.String(), rec.Header().Get(HeaderXCache))
			}
		}()
	}
	for f.cache.Stats().Waiting != n-1 {
		if calls := f.up.calls.Load(); calls > 1 {
			close(release)
			t.Fatalf("misses not collapsed: %d upstream requests", calls)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := f.up.calls.Load(); got != n {
		t.Fatalf("upstream reached %d times, want %d", got, n)
	}
}

// A waiter whose lock time passes goes upstream itself.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var seen atomic.Int64
	f := newFixture(t, &pb.CachePlugin{Lock: dur(time.Millisecond)}, func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 1 {
			<-release
		}
		fixed(200, "slow", "Cache-Control: max-age=60")(w, r)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	}()
	for f.up.calls.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	f.want(f.do("GET", "/slow"), 200, LabelMiss, "slow", 2)
	close(release)
	<-done
}

func TestVaryKeepsVariantsApart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		fixed(200, "enc="+r.Header.Get("Accept-Encoding")+" lang="+r.Header.Get("Accept-Language"),
			"Cache-Control: max-age=60", "Vary: accept-encoding, Accept-Language")(w, r)
	})
	f.want(f.do("GET", "/v", "Accept-Encoding: gzip"), 200, LabelMiss, "enc=gzip lang=", 1)
	f.want(f.do("GET", "/v", "Accept-Encoding: br"), 200, LabelMiss, "enc=br lang=", 2)
	f.want(f.do("GET", "/v", "Accept-Encoding: gzip"), 200, LabelHit, "enc=gzip lang=", 2)
	f.want(f.do("GET", "/v", "Accept-Encoding: br"), 200, LabelHit, "enc=br lang=", 2)
	f.want(f.do("GET", "/v", "Accept-Encoding: gzip", "Accept-Language: fr"), 200, LabelMiss, "enc=gzip lang=fr", 3)
	f.want(f.do("GET", "/v"), 200, LabelMiss, "enc= lang=", 4)
	if s := f.cache.Stats(); s.Entries != 4 {
		t.Errorf("%d entries, want 4 variants", s.Entries)
	}
}

// Configured headers are part of the key.
func TestKeyHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{Headers: []string{"x-tenant"}}, func(w http.ResponseWriter, r *http.Request) {
		fixed(200, "tenant "+r.Header.Get("X-Tenant"), "Cache-Control: max-age=60")(w, r)
	})
	f.want(f.do("GET", "/k", "X-Tenant: a"), 200, LabelMiss, "tenant a", 1)
	f.want(f.do("GET", "/k", "X-Tenant: b"), 200, LabelMiss, "tenant b", 2)
	f.want(f.do("GET", "/k", "X-Tenant: a"), 200, LabelHit, "tenant a", 2)
}

func TestByteBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 1000)
	// Each entry is its body, "Cache-Control: max-age=60\r\n" (27),
	// "Content-Length: 1000\r\n" (22) and its key (about 20): three fit.
	f := newFixture(t, &pb.CachePlugin{MaxSize: 3300}, fixed(200, body, "Cache-Control: max-age=60"))
	for i, p := range []string{"/a", "/b", "/c"} {
		f.want(f.do("GET", p), 200, LabelMiss, body, int64(i+1))
	}
	f.want(f.do("GET", "/a"), 200, LabelHit, body, 3) // /a is now the most recent
	if s, ev := f.cache.Stats(), f.events(); ev["eviction"] != 0 || s.Entries != 3 || s.Bytes > 3300 {
		t.Fatalf("before: %+v, events %v", s, ev)
	}
	f.want(f.do("GET", "/d"), 200, LabelMiss, body, 4)
	if s, ev := f.cache.Stats(), f.events(); ev["eviction"] != 1 || s.Entries != 3 || s.Bytes > 3300 {
		t.Fatalf("after: %+v, events %v", s, ev)
	}
	f.want(f.do("GET", "/a"), 200, LabelHit, body, 4)
	f.want(f.do("GET", "/c"), 200, LabelHit, body, 4)
	f.want(f.do("GET", "/d"), 200, LabelHit, body, 4)
	f.want(f.do("GET", "/b"), 200, LabelMiss, body, 5) // the least recently used went
}

func TestMaxTTLCapsFreshness(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{MaxTtl: dur(10 * time.Second)}, fixed(200, "long", "Cache-Control: max-age=3600"))
	f.want(f.do("GET", "/m"), 200, LabelMiss, "long", 1)
	f.clk.advance(9 * time.Second)
	f.want(f.do("GET", "/m"), 200, LabelHit, "long", 1)
	f.clk.advance(time.Second)
	f.want(f.do("GET", "/m"), 200, LabelExpired, "long", 2)
	if ev := f.events(); ev["expired"] != 1 {
		t.Errorf("events %v", ev)
	}
}

// Freshness arithmetic: the response is a HIT until fresh has passed and
// EXPIRED from then on; Age on a hit adds the upstream's Age.
func TestFreshnessLifetime(t *testing.T) {
	t.Parallel()
	date := newClock().now()
	tests := []struct {
		desc    string
		cfg     *pb.CachePlugin
		header  []string
		fresh   time.Duration // 0: not stored
		wantAge string        // Age on a hit 1s later
		refetch string        // X-Cache once stale; default EXPIRED
	}{
		{"max-age", &pb.CachePlugin{}, []string{"Cache-Control: max-age=30"}, 30 * time.Second, "1", ""},
		{"s-maxage wins", &pb.CachePlugin{}, []string{"Cache-Control: max-age=300, s-maxage=20"}, 20 * time.Second, "1", ""},
		{"Age subtracted", &pb.CachePlugin{}, []string{"Cache-Control: max-age=60", "Age: 20"}, 40 * time.Second, "21", ""},
		{"Expires less Date", &pb.CachePlugin{}, []string{"Expires: " + date.Add(45*time.Second).Format(http.TimeFormat),
			"Date: " + date.Add(-5*time.Second).Format(http.TimeFormat)}, 50 * time.Second, "1", ""},
		{"Expires without Date", &pb.CachePlugin{}, []string{"Expires: " + date.Add(15*time.Second).Format(http.TimeFormat)}, 15 * time.Second, "1",
			LabelPass}, // the same Expires is in the past by then
		{"max-age over Expires", &pb.CachePlugin{}, []string{"Cache-Control: max-age=5", "Expires: " + date.Add(time.Hour).Format(http.TimeFormat)}, 5 * time.Second, "1", ""},
		{"default_ttl", &pb.CachePlugin{DefaultTtl: dur(12 * time.Second)}, nil, 12 * time.Second, "1", ""},
		{"default_ttl and Age", &pb.CachePlugin{DefaultTtl: dur(12 * time.Second)}, []string{"Age: 2"}, 10 * time.Second, "3", ""},
		{"no freshness", &pb.CachePlugin{}, nil, 0, "", ""},
		{"invalid Expires", &pb.CachePlugin{}, []string{"Expires: 0"}, 0, "", ""},
		{"Age beyond max-age", &pb.CachePlugin{}, []string{"Cache-Control: max-age=10", "Age: 30"}, 0, "", ""},
		{"max-age=0", &pb.CachePlugin{}, []string{"Cache-Control: max-age=0"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.cfg, fixed(200, "b", tt.header...))
			if tt.fresh == 0 {
				f.want(f.do("GET", "/f"), 200, LabelPass, "b", 1)
				f.want(f.do("GET", "/f"), 200, LabelPass, "b", 2)
				return
			}
			f.want(f.do("GET", "/f"), 200, LabelMiss, "b", 1)
			f.clk.advance(time.Second)
			hit := f.do("GET", "/f")
			f.want(hit, 200, LabelHit, "b", 1)
			if got := hit.Header().Get("Age"); got != tt.wantAge {
				t.Errorf("Age %q, want %q", got, tt.wantAge)
			}
			f.clk.advance(tt.fresh - time.Second - time.Nanosecond)
			f.want(f.do("GET", "/f"), 200, LabelHit, "b", 1)
			f.clk.advance(time.Nanosecond)
			refetch := tt.refetch
			if refetch == "" {
				refetch = LabelExpired
			}
			f.want(f.do("GET", "/f"), 200, refetch, "b", 2)
		})
	}
}

func TestUncacheableResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		status int
		header []string
		req    []string
	}{
		{"no-store", 200, []string{"Cache-Control: max-age=60, no-store"}, nil},
		{"private", 200, []string{"Cache-Control: private, max-age=60"}, nil},
		{"qualified private", 200, []string{`Cache-Control: private="X-User", max-age=60`}, nil},
		{"Set-Cookie", 200, []string{"Cache-Control: max-age=60", "Set-Cookie: id=1"}, nil},
		{"Vary: *", 200, []string{"Cache-Control: max-age=60", "Vary: *"}, nil},
		{"no-cache without validator", 200, []string{"Cache-Control: no-cache, max-age=60"}, nil},
		{"partial content", 206, []string{"Cache-Control: max-age=60"}, nil},
		{"server error", 500, []string{"Cache-Control: max-age=60"}, nil},
		{"see other", 303, []string{"Cache-Control: max-age=60"}, nil},
		{"Authorization", 200, []string{"Cache-Control: max-age=60"}, []string{"Authorization: Bearer x"}},
		{"request no-store", 200, []string{"Cache-Control: max-age=60"}, []string{"Cache-Control: no-store"}},
		{"Range", 200, []string{"Cache-Control: max-age=60"}, []string{"Range: bytes=0-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, &pb.CachePlugin{DefaultTtl: dur(time.Minute)}, fixed(tt.status, "x", tt.header...))
			f.want(f.do("GET", "/u", tt.req...), tt.status, LabelPass, "x", 1)
			f.want(f.do("GET", "/u", tt.req...), tt.status, LabelPass, "x", 2)
			if s, ev := f.cache.Stats(), f.events(); ev["pass"] != 2 || s.Entries != 0 {
				t.Errorf("stats %+v, events %v", s, ev)
			}
		})
	}
}

func TestCacheableStatuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		header string
	}{{301, ""}, {404, ""}, {410, ""}, {302, "Cache-Control: max-age=60"}, {307, "Cache-Control: max-age=60"}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			var header []string
			if tt.header != "" {
				header = []string{tt.header}
			}
			f := newFixture(t, &pb.CachePlugin{DefaultTtl: dur(time.Minute)}, fixed(tt.status, "s", header...))
			f.want(f.do("GET", "/s"), tt.status, LabelMiss, "s", 1)
			f.want(f.do("GET", "/s"), tt.status, LabelHit, "s", 1)
		})
	}
	// 302 needs explicit freshness: default_ttl does not make it cacheable.
	f := newFixture(t, &pb.CachePlugin{DefaultTtl: dur(time.Minute)}, fixed(302, "s"))
	f.want(f.do("GET", "/s"), 302, LabelPass, "s", 1)
}

// A response to an authorized request is stored when it says public, and
// then served to other requests.
func TestAuthorizedPublicResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, fixed(200, "shared", "Cache-Control: public, max-age=60"))
	f.want(f.do("GET", "/p", "Authorization: Basic eDp5"), 200, LabelMiss, "shared", 1)
	f.want(f.do("GET", "/p"), 200, LabelHit, "shared", 1)
}

// Answers and evictions reach the plugin's event counters (the metrics).
func TestEventCounters(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	events := map[string]int{}
	c, err := NewCache(plugin.BuildContext{Counter: func(event string) func() {
		return func() { mu.Lock(); events[event]++; mu.Unlock() }
	}}, &pb.CachePlugin{MaxSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	up := &origin{handle: fixed(200, strings.Repeat("x", 1500), "Cache-Control: max-age=60")}
	h := c.Middleware(up)
	for _, path := range []string{"/a", "/a", "/b", "/c", "/d"} { // the fourth body overflows 4 KiB
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	mu.Lock()
	defer mu.Unlock()
	if events["miss"] != 4 || events["hit"] != 1 || events["eviction"] < 1 {
		t.Fatalf("events %v, want 4 misses, 1 hit and an eviction", events)
	}
}
