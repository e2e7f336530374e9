package cache

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestSkip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{Skip: `^/api/|nocache=1`}, fixed(200, "s", "Cache-Control: max-age=60"))
	for i, u := range []string{"/api/x", "/x?nocache=1"} {
		f.want(f.do("GET", u), 200, LabelBypass, "s", int64(2*i+1))
		f.want(f.do("GET", u), 200, LabelBypass, "s", int64(2*i+2))
	}
	f.want(f.do("GET", "/x"), 200, LabelMiss, "s", 5)
	f.want(f.do("GET", "/x"), 200, LabelHit, "s", 5)
	if ev := f.events(); ev["bypass"] != 4 {
		t.Errorf("events %v", ev)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{PurgeIpList: []string{"192.0.2.0/24"}}, func(w http.ResponseWriter, r *http.Request) {
		fixed(200, r.URL.RequestURI(), "Cache-Control: max-age=60", "Vary: Accept-Language")(w, r)
	})
	for _, u := range []string{"/img/a.png", "/img/b.png?s=1", "/img/sub/c.png", "/imgx", "/other"} {
		f.do("GET", u)
	}
	f.do("GET", "/img/a.png", "Accept-Language: fr") // a second variant
	calls := f.up.calls.Load()
	purge := func(u string, want int, body string) {
		t.Helper()
		rec := f.do("PURGE", u)
		if rec.Code != want || strings.TrimSpace(rec.Body.String()) != body {
			t.Fatalf("PURGE %s: %d %q, want %d %q", u, rec.Code, rec.Body.String(), want, body)
		}
	}
	purge("/img/a.png", 200, "2") // both variants
	purge("/img/a.png", 404, "not found")
	purge("/img/b.png", 404, "not found") // the query is part of the URL
	purge("/img/*", 200, "2")
	purge("/img/*", 404, "not found")
	if got := f.up.calls.Load(); got != calls {
		t.Fatalf("PURGE went upstream")
	}
	f.want(f.do("GET", "/imgx"), 200, LabelHit, "/imgx", calls)
	f.want(f.do("GET", "/other"), 200, LabelHit, "/other", calls)
	f.want(f.do("GET", "/img/sub/c.png"), 200, LabelMiss, "/img/sub/c.png", calls+1)
	purge("/*", 200, "3")
	if s := f.cache.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Errorf("after purging everything: %+v", s)
	}
}

func TestPurgeRefused(t *testing.T) {
	t.Parallel()
	for _, list := range [][]string{nil, {"10.0.0.0/8", "2001:db8::1"}} {
		f := newFixture(t, &pb.CachePlugin{PurgeIpList: list}, fixed(200, "keep", "Cache-Control: max-age=60"))
		f.do("GET", "/p")
		rec := f.do("PURGE", "/p")
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" || rec.Body.String() != "method not allowed" {
			t.Fatalf("PURGE from an unlisted address: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
		}
		f.want(f.do("GET", "/p"), 200, LabelHit, "keep", 1)
	}
	// The client address comes from the build context (trusted proxies).
	clk := newClock()
	c, err := NewCache(plugin.BuildContext{Now: clk.now, ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("10.1.2.3") }},
		&pb.CachePlugin{PurgeIpList: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.Middleware(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("PURGE", "/p", nil))
	if rec.Code != 404 {
		t.Fatalf("PURGE from a listed client behind a proxy: %d", rec.Code)
	}
}

// Unsafe methods pass through and invalidate the URL (RFC 9111 4.4).
func TestUnsafeMethodInvalidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		fixed(200, r.Method, "Cache-Control: max-age=60")(w, r)
	})
	f.want(f.do("GET", "/doc"), 200, LabelMiss, "GET", 1)
	f.want(f.do("GET", "/doc"), 200, LabelHit, "GET", 1)
	f.want(f.do("POST", "/doc"), 200, "", "POST", 2)
	f.want(f.do("GET", "/doc"), 200, LabelMiss, "GET", 3)
	f.want(f.do("OPTIONS", "/doc"), 200, "", "OPTIONS", 4)
	f.want(f.do("GET", "/doc"), 200, LabelHit, "GET", 4)
}

func TestUpgradePassesUntouched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, fixed(200, "ws", "Cache-Control: max-age=60"))
	f.want(f.do("GET", "/ws", "Connection: Upgrade", "Upgrade: websocket"), 200, "", "ws", 1)
	f.want(f.do("GET", "/ws", "Connection: Upgrade", "Upgrade: websocket"), 200, "", "ws", 2)
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.CachePlugin{
		{Headers: []string{"bad header"}},
		{Skip: "("},
		{PurgeIpList: []string{"not-an-ip"}},
	} {
		if _, err := New(plugin.BuildContext{}, "c", &pb.Plugin{Category: Category, Config: &pb.Plugin_Cache{Cache: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
	c, err := NewCache(plugin.BuildContext{}, &pb.CachePlugin{MaxSize: 1000})
	if err != nil || c.opts.maxFileSize != 1000 || c.opts.maxTTL != DefaultMaxTTL || c.opts.lock != DefaultLock {
		t.Errorf("defaults: %+v %v", c.opts, err)
	}
}
