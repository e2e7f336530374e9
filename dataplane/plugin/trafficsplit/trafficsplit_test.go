package trafficsplit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/plugin/trafficsplit"
	"github.com/pingap-go/pingap/dataplane/runtime"
)

// backend is a real server that names itself and may set a cookie.
func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "app=1")
		_, _ = fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// build compiles a config whose location "app" goes to "stable" and splits
// to "canary" with the given plugin options.
func build(t *testing.T, options string) http.Handler {
	t.Helper()
	cfg := fmt.Sprintf(`
[upstreams.stable]
addrs = [%q]
[upstreams.canary]
addrs = [%q]
[plugins.split]
category = "traffic_splitting"
upstream = "canary"
%s
[locations.app]
upstream = "stable"
plugins = ["split"]
[servers.web]
addr = "127.0.0.1:0"
locations = ["app"]
`, backend(t, "stable"), backend(t, "canary"), options)
	snap, err := config.ValidateBytes([]byte(cfg), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	reg := plugin.NewRegistry()
	trafficsplit.Register(reg)
	rt, err := runtime.Build(snap, nil, runtime.Options{Plugins: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Release(nil) })
	return rt.Servers()["web"].Handler
}

func send(t *testing.T, h http.Handler, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, vv := range header {
		req.Header[k] = vv
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body)
	}
	return rec
}

func TestWeights(t *testing.T) {
	const n = 2000
	for _, tt := range []struct {
		weight   int
		min, max int // canary answers expected out of n
	}{
		{0, 0, 0},
		{100, n, n},
		{30, 500, 700}, // 600 expected; the bounds are 5 standard deviations
	} {
		t.Run(fmt.Sprint(tt.weight), func(t *testing.T) {
			h := build(t, fmt.Sprintf("weight = %d", tt.weight))
			canary := 0
			for range n {
				if send(t, h, nil).Body.String() == "canary" {
					canary++
				}
			}
			if canary < tt.min || canary > tt.max {
				t.Fatalf("%d of %d requests went to canary, want %d..%d", canary, n, tt.min, tt.max)
			}
		})
	}
}

func TestStickyHeader(t *testing.T) {
	h := build(t, "weight = 50\nsticky_header = \"X-User\"")
	sides := map[string]int{}
	for u := range 200 {
		user := fmt.Sprint("user-", u)
		first := send(t, h, http.Header{"X-User": {user}}).Body.String()
		sides[first]++
		for range 5 {
			if got := send(t, h, http.Header{"X-User": {user}}).Body.String(); got != first {
				t.Fatalf("user %s went to %s, then to %s", user, first, got)
			}
		}
	}
	if sides["canary"] < 60 || sides["stable"] < 60 {
		t.Fatalf("200 users split %v; want roughly half each", sides)
	}
}

func TestStickyCookie(t *testing.T) {
	h := build(t, "weight = 50\nsticky_cookie = \"canary\"")
	for range 20 {
		rec := send(t, h, nil)
		side := rec.Body.String()
		cookies := rec.Result().Cookies()
		var mine *http.Cookie
		for _, c := range cookies {
			if c.Name == "canary" {
				mine = c
			}
		}
		if mine == nil || len(cookies) != 2 {
			t.Fatalf("first answer set cookies %v; want the upstream's and the sticky one", cookies)
		}
		for range 5 {
			again := send(t, h, http.Header{"Cookie": {mine.String()}})
			if again.Body.String() != side {
				t.Fatalf("cookie %s sent to %s, then %s", mine, side, again.Body)
			}
			if len(again.Result().Cookies()) != 1 {
				t.Fatalf("a client that has the cookie got it again: %v", again.Result().Cookies())
			}
		}
	}
	if got := send(t, h, http.Header{"Cookie": {"canary=1"}}).Body.String(); got != "canary" {
		t.Fatalf("cookie canary=1 went to %s", got)
	}
}

func TestValidation(t *testing.T) {
	for _, tt := range []struct{ options, want string }{
		{`upstream = "nope"` + "\nweight = 1", `plugins.s.upstream (line 5): unknown upstream "nope"`},
		{`upstream = "up"` + "\nweight = 101", `plugins.s.weight (line 6): 101 is not a percentage (0..100)`},
		{`upstream = "up"` + "\nsticky_cookie = \"a b\"", `plugins.s.sticky_cookie (line 6): invalid cookie name "a b"`},
		{`upstream = "up"` + "\nsticky_cookie = \"a\"\nsticky_header = \"b\"", `plugins.s.sticky_header (line 7): set sticky_cookie or sticky_header, not both`},
		{`weight = 5`, `plugins.s.upstream (line 3): required`},
	} {
		cfg := "[upstreams.up]\naddrs = [\"127.0.0.1:1\"]\n[plugins.s]\ncategory = \"traffic_splitting\"\n" + tt.options + "\n"
		_, err := config.ValidateBytes([]byte(cfg), config.FormatTOML)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.options, err, tt.want)
		}
	}
}
