package e2e

// End-to-end cases of the cache plugin. TestPluginsEndToEnd runs them.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbackend"
)

// cacheOrigin is a backend that answers every path cacheably (max-age=60,
// an ETag) with a body numbering the requests it served, so a response
// that comes back unchanged came from the cache. Paths under /slow/ wait
// for release first.
type cacheOrigin struct {
	served  atomic.Int64
	release chan struct{}
}

func (o *cacheOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.served.Add(1)
	if strings.Contains(r.URL.Path, "/slow/") {
		<-o.release
	}
	body := fmt.Sprintf("origin response #%d for %s\n", n, r.URL.RequestURI())
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Etag", fmt.Sprintf(`"r%d"`, n))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// cachePluginCases: one case in front of a counting backend, one in front
// of a testbackend (with default_ttl, since it sends no Cache-Control).
func cachePluginCases(t *testing.T) []pluginCase {
	origin := &cacheOrigin{release: make(chan struct{})}
	b := startLocal(t, origin, localOpts{})
	t.Cleanup(func() {
		select {
		case <-origin.release:
		default:
			close(origin.release) // a failed check must not leave the backend blocked
		}
	})
	// A testbackend of its own, without the location's prefix, so that its
	// /bytes and /stream endpoints answer.
	tb := startLocal(t, http.StripPrefix("/cache-testbackend", testbackend.New("cache_testbackend")), localOpts{})
	return []pluginCase{
		{
			name: "cache-origin", category: "cache", upstream: "cache-origin", plugins: []string{"cache-origin-store"},
			toml: upstreamTOML("cache-origin", "", b.addr) + `[plugins.cache-origin-store]
category = "cache"
lock = "30s"
skip = "nocache=1"
purge_ip_list = ["127.0.0.1"]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				checkCacheHitAndPurge(t, c, base, b)
				checkCacheCollapse(t, c, base, b, origin)
			},
		},
		{
			name: "cache-testbackend", category: "cache", upstream: "cache-testbackend", plugins: []string{"cache-testbackend-store"},
			toml: upstreamTOML("cache-testbackend", "", tb.addr) + `[plugins.cache-testbackend-store]
category = "cache"
default_ttl = "1m"
max_file_size = "64kb"
`,
			check: checkCacheSharedBackend,
		},
	}
}

// wantXCache fails unless res has status code and X-Cache xc.
func wantXCache(t *testing.T, what string, res result, code int, xc string) {
	t.Helper()
	if res.Code != code || res.Header.Get("X-Cache") != xc {
		t.Fatalf("%s: %d X-Cache %q (body %q), want %d %s", what, res.Code, res.Header.Get("X-Cache"), res.Body, code, xc)
	}
}

func checkCacheHitAndPurge(t *testing.T, c *http.Client, base string, b *localBackend) {
	start := b.requests.Load()
	miss := mustSend(t, c, req{url: base + "/doc?v=1"})
	wantXCache(t, "first GET", miss, 200, "MISS")
	hit := mustSend(t, c, req{url: base + "/doc?v=1"})
	wantXCache(t, "second GET", hit, 200, "HIT")
	if string(hit.Body) != string(miss.Body) || hit.Header.Get("Etag") != miss.Header.Get("Etag") ||
		hit.Header.Get("Content-Length") != miss.Header.Get("Content-Length") || hit.Header.Get("Age") == "" {
		t.Fatalf("HIT differs from the MISS: %v %q vs %v %q", hit.Header, hit.Body, miss.Header, miss.Body)
	}
	head := mustSend(t, c, req{method: http.MethodHead, url: base + "/doc?v=1"})
	wantXCache(t, "HEAD", head, 200, "HIT")
	cond := mustSend(t, c, req{url: base + "/doc?v=1", header: http.Header{"If-None-Match": {miss.Header.Get("Etag")}}})
	wantXCache(t, "conditional GET", cond, 304, "HIT")
	wantXCache(t, "skipped", mustSend(t, c, req{url: base + "/doc?v=1&nocache=1"}), 200, "BYPASS")
	if got := b.requests.Load() - start; got != 2 {
		t.Fatalf("backend reached %d times, want 2 (the MISS and the BYPASS)", got)
	}

	refused := mustSend(t, clientFrom("127.0.0.2"), req{method: "PURGE", url: base + "/doc?v=1"})
	if refused.Code != 405 {
		t.Fatalf("PURGE from 127.0.0.2: %d %q, want 405", refused.Code, refused.Body)
	}
	wantXCache(t, "GET after a refused PURGE", mustSend(t, c, req{url: base + "/doc?v=1"}), 200, "HIT")
	purged := mustSend(t, c, req{method: "PURGE", url: base + "/doc?v=1"})
	if purged.Code != 200 || strings.TrimSpace(string(purged.Body)) != "1" {
		t.Fatalf("PURGE: %d %q, want 200 1", purged.Code, purged.Body)
	}
	again := mustSend(t, c, req{url: base + "/doc?v=1"})
	wantXCache(t, "GET after PURGE", again, 200, "MISS")
	if string(again.Body) == string(miss.Body) {
		t.Fatalf("GET after PURGE got the old body %q", again.Body)
	}

	for _, p := range []string{"/dir/a", "/dir/b?x=1", "/dir/sub/c"} {
		wantXCache(t, "fill "+p, mustSend(t, c, req{url: base + p}), 200, "MISS")
	}
	prefix := mustSend(t, c, req{method: "PURGE", url: base + "/dir/*"})
	if prefix.Code != 200 || strings.TrimSpace(string(prefix.Body)) != "3" {
		t.Fatalf("PURGE of a prefix: %d %q, want 200 3", prefix.Code, prefix.Body)
	}
	if none := mustSend(t, c, req{method: "PURGE", url: base + "/dir/*"}); none.Code != 404 {
		t.Fatalf("second PURGE of a prefix: %d %q, want 404", none.Code, none.Body)
	}
}

// checkCacheCollapse sends n concurrent requests for one uncached URL
// whose backend answer is held back: one goes upstream, the others wait
// for it and are served what it stored (X-Cache HIT).
func checkCacheCollapse(t *testing.T, c *http.Client, base string, b *localBackend, origin *cacheOrigin) {
	const n = 20
	start := b.requests.Load()
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = send(t.Context(), c, req{url: base + "/slow/item"})
		}()
	}
	for b.requests.Load() == start {
		time.Sleep(5 * time.Millisecond)
	}
	// Not an assertion: time for the other requests to reach the proxy and
	// wait; any that come later are plain hits, which the checks allow.
	time.Sleep(200 * time.Millisecond)
	close(origin.release)
	wg.Wait()
	labels := map[string]int{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if res.Code != 200 || string(res.Body) != string(results[0].Body) {
			t.Fatalf("request %d: %d %q, request 0 got %q", i, res.Code, res.Body, results[0].Body)
		}
		labels[res.Header.Get("X-Cache")]++
	}
	if got := b.requests.Load() - start; got != 1 {
		t.Fatalf("%d concurrent misses reached the backend %d times, want once", n, got)
	}
	if labels["MISS"] != 1 || labels["HIT"] != n-1 {
		t.Fatalf("X-Cache values %v, want one MISS and %d HIT", labels, n-1)
	}
}

// checkCacheSharedBackend: the testbackend's answers are cached
// with default_ttl; one over max_file_size streams whole and is not.
func checkCacheSharedBackend(t *testing.T, c *http.Client, base string) {
	miss := mustSend(t, c, req{url: base + "/bytes/1000"})
	wantXCache(t, "first GET", miss, 200, "MISS")
	hit := mustSend(t, c, req{url: base + "/bytes/1000"})
	wantXCache(t, "second GET", hit, 200, "HIT")
	if string(hit.Body) != string(miss.Body) || hit.backend() != miss.backend() || len(hit.Body) != 1000 {
		t.Fatalf("HIT differs: %d bytes from %q, MISS %d bytes from %q", len(hit.Body), hit.backend(), len(miss.Body), miss.backend())
	}
	// The echo of a HIT is the first request's: the backend saw only one.
	e1 := mustSend(t, c, req{url: base + "/who", header: http.Header{"X-Probe": {"first"}}})
	e2 := mustSend(t, c, req{url: base + "/who", header: http.Header{"X-Probe": {"second"}}})
	wantXCache(t, "echo hit", e2, 200, "HIT")
	if got := e2.echo(t).Headers["X-Probe"]; got != "first" || e1.echo(t).Headers["X-Probe"] != "first" {
		t.Fatalf("cached echo shows X-Probe %q, want first", got)
	}
	for range 2 {
		big := mustSend(t, c, req{url: base + "/bytes/200000"})
		wantXCache(t, "body over max_file_size", big, 200, "PASS")
		if len(big.Body) != 200000 {
			t.Fatalf("large body: %d bytes", len(big.Body))
		}
	}
	for i := range 2 {
		// Length unknown up front: streamed, stored until too large.
		s := mustSend(t, c, req{url: base + "/stream?n=3&interval=1ms"})
		wantXCache(t, fmt.Sprint("small stream ", i), s, 200, []string{"MISS", "HIT"}[i])
	}
	wantXCache(t, "POST", mustSend(t, c, req{method: http.MethodPost, url: base + "/who"}), 200, "")
	wantXCache(t, "GET after POST", mustSend(t, c, req{url: base + "/who"}), 200, "MISS")
}
