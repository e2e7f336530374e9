package cache

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// origin is a fake upstream that counts the requests reaching it and
// remembers the last one's headers.
type origin struct {
	calls  atomic.Int64
	mu     sync.Mutex
	last   http.Header
	handle func(w http.ResponseWriter, r *http.Request)
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	o.mu.Lock()
	o.last = r.Header.Clone()
	o.mu.Unlock()
	o.handle(w, r)
}

func (o *origin) lastHeader() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// fixed answers status with the header pairs ("Name: value") and body,
// setting Content-Length.
func fixed(status int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, h := range header {
			k, v, _ := strings.Cut(h, ": ")
			w.Header().Add(k, v)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// fixture is a cache in front of an origin, on a test clock.
type fixture struct {
	t     *testing.T
	cache *Cache
	up    *origin
	clk   *clock
	h     http.Handler

	mu     sync.Mutex
	counts map[string]int // the plugin's events so far
}

func newFixture(t *testing.T, cfg *pb.CachePlugin, handle func(http.ResponseWriter, *http.Request)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: newClock(), up: &origin{handle: handle}, counts: map[string]int{}}
	c, err := NewCache(plugin.BuildContext{Now: f.clk.now, Counter: f.counter}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.cache, f.h = c, c.Middleware(f.up)
	return f
}

// counter is the build context's Counter: it counts events in f.counts.
func (f *fixture) counter(event string) func() {
	return func() {
		f.mu.Lock()
		f.counts[event]++
		f.mu.Unlock()
	}
}

// events returns how often each event ("hit", "miss", "eviction", ...)
// was counted so far.
func (f *fixture) events() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

// do sends method url with header pairs ("Name: value").
func (f *fixture) do(method, url string, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, url, nil)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Add(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

// want checks a response's status, X-Cache and body, and the upstream's
// request count so far.
func (f *fixture) want(rec *httptest.ResponseRecorder, status int, xcache, body string, calls int64) {
	f.t.Helper()
	if rec.Code != status || rec.Header().Get(HeaderXCache) != xcache || rec.Body.String() != body {
		f.t.Fatalf("got %d X-Cache %q body %q, want %d %q %q", rec.Code, rec.Header().Get(HeaderXCache), rec.Body.String(), status, xcache, body)
	}
	if got := f.up.calls.Load(); got != calls {
		f.t.Fatalf("upstream reached %d times, want %d", got, calls)
	}
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
