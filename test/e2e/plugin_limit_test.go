package e2e

// End-to-end cases of the limit plugin: a token bucket keyed by a header
// and a cap on concurrent requests. TestPluginsEndToEnd runs them.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbackend"
)

// limitPluginCases are the cases of the limit plugin.
func limitPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	return []pluginCase{limitRateCase(), limitInflightCase(t)}
}

// wantLimitHeaders asserts the RateLimit headers of a response.
func wantLimitHeaders(t testing.TB, what string, res result, limit, remaining string) {
	t.Helper()
	if got := res.Header.Get("RateLimit-Limit"); got != limit {
		t.Errorf("%s: RateLimit-Limit %q, want %q", what, got, limit)
	}
	if got := res.Header.Get("RateLimit-Remaining"); got != remaining {
		t.Errorf("%s: RateLimit-Remaining %q, want %q", what, got, remaining)
	}
	if n, err := strconv.Atoi(res.Header.Get("RateLimit-Reset")); err != nil || n < 0 {
		t.Errorf("%s: RateLimit-Reset %q, want whole seconds", what, res.Header.Get("RateLimit-Reset"))
	}
}

// limitRateCase: 3 requests per minute per X-Limit-Client value pass to
// the backend with the RateLimit headers; the fourth gets 429.
func limitRateCase() pluginCase {
	return pluginCase{
		name:     "limit_rate",
		category: "limit",
		toml: `[plugins.limit_rate]
category = "limit"
type = "rate"
tag = "header"
key = "X-Limit-Client"
max = 3
burst = 3
interval = "1m"
`,
		plugins: []string{"limit_rate"},
		check: func(t *testing.T, c *http.Client, base string) {
			send := func(client string) result {
				return mustSend(t, c, req{url: base + "/r", header: http.Header{"X-Limit-Client": {client}}})
			}
			for i, remaining := range []string{"2", "1", "0"} {
				res := send("e2e")
				what := "request " + strconv.Itoa(i+1)
				if res.Code != http.StatusOK || res.backend() == "" {
					t.Fatalf("%s: want the backend's 200, got %d %q", what, res.Code, res.Body)
				}
				if p := res.echo(t).Path; p != "/limit_rate/r" {
					t.Errorf("%s: backend saw path %q", what, p)
				}
				wantLimitHeaders(t, what, res, "3", remaining)
			}
			res := send("e2e")
			if res.Code != http.StatusTooManyRequests || string(res.Body) != "too many requests" || res.backend() != "" {
				t.Fatalf("4th request: want the proxy's 429, got %d %q (X-Backend %q)", res.Code, res.Body, res.backend())
			}
			// A token comes back every 20s; the test takes far less.
			if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 || n > 20 {
				t.Errorf("4th request: Retry-After %q, want 1..20", res.Header.Get("Retry-After"))
			}
			wantLimitHeaders(t, "4th request", res, "3", "0")
			if res := send("another"); res.Code != http.StatusOK {
				t.Errorf("another client: %d, want 200 (keys are counted apart)", res.Code)
			}
		},
	}
}

// limitInflightCase: one request at a time; the backend holds the first
// until the check lets it go, so the second certainly overlaps it.
func limitInflightCase(t *testing.T) pluginCase {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	echo := testbackend.New("limit_inflight")
	app := startLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/hold") {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		echo.ServeHTTP(w, r)
	}), localOpts{})
	return pluginCase{
		name:     "limit_inflight",
		category: "limit",
		upstream: "limit_inflight_app",
		toml: upstreamTOML("limit_inflight_app", "", app.addr) + `[plugins.limit_inflight]
category = "limit"
type = "inflight"
max = 1
`,
		plugins: []string{"limit_inflight"},
		check: func(t *testing.T, c *http.Client, base string) {
			defer once.Do(func() { close(release) })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			type outcome struct {
				res result
				err error
			}
			first := make(chan outcome, 1)
			go func() {
				res, err := send(ctx, c, req{url: base + "/hold"})
				first <- outcome{res, err}
			}()
			select {
			case <-entered:
			case <-ctx.Done():
				t.Fatal("held request never reached the backend")
			}
			res := mustSend(t, c, req{url: base + "/second"})
			if res.Code != http.StatusTooManyRequests || string(res.Body) != "too many requests" || res.backend() != "" {
				t.Fatalf("concurrent request: want the proxy's 429, got %d %q (X-Backend %q)", res.Code, res.Body, res.backend())
			}
			if got := res.Header.Get("Retry-After"); got != "1" {
				t.Errorf("concurrent request: Retry-After %q, want 1", got)
			}
			wantLimitHeaders(t, "concurrent request", res, "1", "0")
			once.Do(func() { close(release) })
			o := <-first
			if o.err != nil || o.res.Code != http.StatusOK || o.res.backend() == "" {
				t.Fatalf("held request: want the backend's 200, got %d %q (%v)", o.res.Code, o.res.Body, o.err)
			}
			wantLimitHeaders(t, "held request", o.res, "1", "0")
			// The slot is freed when the proxy is done with the request,
			// which may be a moment after the client has the response.
			for {
				res := mustSend(t, c, req{url: base + "/after"})
				if res.Code == http.StatusOK {
					wantLimitHeaders(t, "request after the release", res, "1", "0")
					break
				}
				if res.Code != http.StatusTooManyRequests || ctx.Err() != nil {
					t.Fatalf("request after the release: %d %q", res.Code, res.Body)
				}
				time.Sleep(10 * time.Millisecond)
			}
		},
	}
}
