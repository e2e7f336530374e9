package limit

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustBuild(t testing.TB, ctx plugin.BuildContext, c *pb.LimitPlugin) *limiter {
	t.Helper()
	l, err := build(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// answer is what a client saw.
type answer struct {
	code                                 int
	limit, remaining, reset, retry, body string
	forwarded                            bool
}

func serve(h http.Handler, r *http.Request) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	hd := rec.Result().Header
	return answer{
		code: rec.Code, limit: hd.Get("RateLimit-Limit"), remaining: hd.Get("RateLimit-Remaining"),
		reset: hd.Get("RateLimit-Reset"), retry: hd.Get("Retry-After"), body: rec.Body.String(),
		forwarded: hd.Get("X-Next") == "yes",
	}
}

// next answers 200 and marks the response as having passed.
var next = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Next", "yes")
	w.WriteHeader(http.StatusOK)
})

func TestRate(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		want    answer
	}
	pass := func(limit, remaining, reset string) answer {
		return answer{code: 200, limit: limit, remaining: remaining, reset: reset, forwarded: true}
	}
	refuse := func(limit, reset, retry, body string) answer {
		return answer{code: 429, limit: limit, remaining: "0", reset: reset, retry: retry, body: body}
	}
	tests := []struct {
		desc  string
		cfg   *pb.LimitPlugin
		steps []step
	}{
		{"burst, refusal, refill", &pb.LimitPlugin{Max: 3, Interval: durationpb.New(time.Minute)}, []step{
			{0, pass("3", "2", "20")},
			{0, pass("3", "1", "40")},
			{0, pass("3", "0", "60")},
			{0, refuse("3", "60", "20", DefaultMessage)},
			{19 * time.Second, refuse("3", "41", "1", DefaultMessage)},
			{time.Second, pass("3", "0", "60")},
			{time.Minute, pass("3", "2", "20")},
			{0, pass("3", "1", "40")},
			{0, pass("3", "0", "60")},
			{0, refuse("3", "60", "20", DefaultMessage)},
		}},
		{"default interval is 1s, Retry-After rounds up", &pb.LimitPlugin{Type: "rate", Max: 2}, []step{
			{0, pass("2", "1", "1")},
			{0, pass("2", "0", "1")},
			{0, refuse("2", "1", "1", DefaultMessage)},
			{499 * time.Millisecond, refuse("2", "1", "1", DefaultMessage)},
			{time.Millisecond, pass("2", "0", "1")},
		}},
		{"burst above max, custom message", &pb.LimitPlugin{Max: 1, Interval: durationpb.New(10 * time.Second), Burst: 3, Message: "slow down"}, []step{
			{0, pass("1", "2", "10")},
			{0, pass("1", "1", "20")},
			{0, pass("1", "0", "30")},
			{0, refuse("1", "30", "10", "slow down")},
			{10 * time.Second, pass("1", "0", "30")},
		}},
		{"burst below max", &pb.LimitPlugin{Max: 60, Interval: durationpb.New(time.Minute), Burst: 1}, []step{
			{0, pass("60", "0", "1")},
			{0, refuse("60", "1", "1", DefaultMessage)},
			{time.Second, pass("60", "0", "1")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			h := mustBuild(t, plugin.BuildContext{Now: clk.now}, tt.cfg).middleware(next)
			for i, s := range tt.steps {
				clk.advance(s.advance)
				if got := serve(h, httptest.NewRequest("GET", "/", nil)); got != s.want {
					t.Fatalf("step %d: got %+v, want %+v", i, got, s.want)
				}
			}
		})
	}
}

// inflightRequest runs one request through h in a goroutine; its handler
// holds the request until release is closed.
type inflightRequest struct {
	done    chan answer
	release chan struct{}
}

func TestInflight(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	var mu sync.Mutex
	releases := map[string]chan struct{}{}
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ch := releases[r.URL.Path]
		mu.Unlock()
		if ch != nil {
			entered <- struct{}{}
			<-ch
		}
		next.ServeHTTP(w, r)
	})
	l := mustBuild(t, plugin.BuildContext{}, &pb.LimitPlugin{Type: "inflight", Max: 2, Message: "busy"})
	h := l.middleware(blocking)
	start := func(path string) inflightRequest {
		ir := inflightRequest{done: make(chan answer, 1), release: make(chan struct{})}
		mu.Lock()
		releases[path] = ir.release
		mu.Unlock()
		go func() { ir.done <- serve(h, httptest.NewRequest("GET", path, nil)) }()
		select {
		case <-entered:
		case got := <-ir.done:
			t.Fatalf("request %s did not reach the handler: %+v", path, got)
		}
		return ir
	}
	a, b := start("/a"), start("/b")
	want429 := answer{code: 429, limit: "2", remaining: "0", reset: "1", retry: "1", body: "busy"}
	if got := serve(h, httptest.NewRequest("GET", "/c", nil)); got != want429 {
		t.Fatalf("third concurrent request: %+v, want %+v", got, want429)
	}
	close(a.release)
	if got, want := <-a.done, (answer{code: 200, limit: "2", remaining: "1", reset: "0", forwarded: true}); got != want {
		t.Fatalf("first request: %+v, want %+v", got, want)
	}
	// One slot is free again: a request passes, and the next is refused
	// while b still holds the other.
	c := start("/c")
	if got := serve(h, httptest.NewRequest("GET", "/d", nil)); got != want429 {
		t.Fatalf("request with both slots taken again: %+v", got)
	}
	close(b.release)
	close(c.release)
	if got, want := <-b.done, (answer{code: 200, limit: "2", remaining: "0", reset: "1", forwarded: true}); got != want {
		t.Fatalf("second request: %+v, want %+v", got, want)
	}
	if got := <-c.done; got.code != 200 || got.remaining != "0" {
		t.Fatalf("request after a release: %+v", got)
	}
	if n := l.flight.len(); n != 0 {
		t.Fatalf("%d keys held after every request finished, want 0", n)
	}
}

// A handler that panics (an aborted proxy copy does) still frees its slot.
func TestInflightReleasedOnPanic(t *testing.T) {
	t.Parallel()
	l := mustBuild(t, plugin.BuildContext{}, &pb.LimitPlugin{Type: "inflight", Max: 1})
	h := l.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() {
			if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
				t.Errorf("recovered %v", err)
			}
		}()
		serve(h, httptest.NewRequest("GET", "/", nil))
	}()
	if n := l.flight.len(); n != 0 {
		t.Fatalf("%d keys held after the panic, want 0", n)
	}
	if got := serve(l.middleware(next), httptest.NewRequest("GET", "/", nil)); got.code != 200 {
		t.Fatalf("request after the panic: %+v", got)
	}
}

// Each key has its own budget; requests lacking the key share one.
func TestKeys(t *testing.T) {
	t.Parallel()
	req := func(remote string, edit func(r *http.Request)) *http.Request {
		r := httptest.NewRequest("GET", "/path", nil)
		r.RemoteAddr = remote
		if edit != nil {
			edit(r)
		}
		return r
	}
	header := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("X-Client", v) } }
	cookie := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sid", Value: v}) }
	}
	query := func(q string) func(*http.Request) { return func(r *http.Request) { r.URL.RawQuery = q } }
	forwarded := func(ip string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("X-Real-Ip", ip) } }
	// A ClientIP that trusts X-Real-Ip, as trusted_proxies would.
	realIP := func(r *http.Request) netip.Addr {
		a, err := netip.ParseAddr(r.Header.Get("X-Real-Ip"))
		if err != nil {
			return plugin.PeerIP(r)
		}
		return a
	}
	tests := []struct {
		desc     string
		tag, key string
		clientIP func(*http.Request) netip.Addr
		// a and b have different keys; same has a's key.
		a, b, same *http.Request
	}{
		{"peer ip", "", "", nil, req("192.0.2.1:1000", nil), req("192.0.2.2:1000", nil), req("192.0.2.1:2000", nil)},
		{"peer ipv6", "ip", "", nil, req("[2001:db8::1]:1000", nil), req("[2001:db8::2]:1000", nil), req("[2001:db8::1]:2000", nil)},
		{"client ip", "ip", "", realIP,
			req("10.0.0.1:1", forwarded("198.51.100.1")), req("10.0.0.1:1", forwarded("198.51.100.2")), req("10.0.0.2:1", forwarded("198.51.100.1"))},
		{"unparsable peer is the empty key", "ip", "", nil, req("pipe", nil), req("192.0.2.1:1", nil), req("", nil)},
		{"header", "header", "x-client", nil, req("192.0.2.1:1", header("alice")), req("192.0.2.1:1", header("bob")), req("192.0.2.2:1", header("alice"))},
		{"missing header is the empty value", "header", "X-Client", nil, req("192.0.2.1:1", nil), req("192.0.2.1:1", header("bob")), req("192.0.2.2:1", header(""))},
		{"cookie", "cookie", "sid", nil, req("192.0.2.1:1", cookie("s1")), req("192.0.2.1:1", cookie("s2")), req("192.0.2.2:1", cookie("s1"))},
		{"missing cookie", "cookie", "sid", nil, req("192.0.2.1:1", nil), req("192.0.2.1:1", cookie("s2")), req("192.0.2.2:1", nil)},
		{"query", "query", "api key", nil, req("192.0.2.1:1", query("a=1&api+key=k1")), req("192.0.2.1:1", query("api%20key=k2")), req("192.0.2.2:1", query("api%20key=k%31&api+key=k2"))},
		{"missing query parameter", "query", "key", nil, req("192.0.2.1:1", query("other=1")), req("192.0.2.1:1", query("key=x")), req("192.0.2.2:1", nil)},
	}
	for _, tt := range tests {
		for _, typ := range []string{"rate", "inflight"} {
			t.Run(tt.desc+"/"+typ, func(t *testing.T) {
				l := mustBuild(t, plugin.BuildContext{ClientIP: tt.clientIP, Now: newFakeClock().now},
					&pb.LimitPlugin{Type: typ, Tag: tt.tag, Key: tt.key, Max: 1})
				// inflight: a's request is held while the others are sent.
				hold := make(chan struct{})
				held := make(chan struct{})
				h := l.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r == tt.a && typ == "inflight" {
						close(held)
						<-hold
					}
					next.ServeHTTP(w, r)
				}))
				first := make(chan answer, 1)
				go func() { first <- serve(h, tt.a) }()
				if typ == "inflight" {
					select {
					case <-held:
					case got := <-first:
						t.Fatalf("first request of a key did not reach the handler: %+v", got)
					}
				} else if got := <-first; got.code != 200 {
					t.Fatalf("first request of a key: %+v", got)
				}
				if got := serve(h, tt.same); got.code != 429 {
					t.Errorf("second request of the same key: %d, want 429", got.code)
				}
				if got := serve(h, tt.b); got.code != 200 {
					t.Errorf("request of another key: %d, want 200", got.code)
				}
				if typ == "inflight" {
					close(hold)
					if got := <-first; got.code != 200 {
						t.Fatalf("first request of a key: %+v", got)
					}
				}
			})
		}
	}
}

func TestMaxKeys(t *testing.T) {
	t.Parallel()
	const maxKeys = 50
	clk := newFakeClock()
	rl := mustBuild(t, plugin.BuildContext{Now: clk.now}, &pb.LimitPlugin{Tag: "header", Key: "X-Client", Max: 1, MaxKeys: maxKeys})
	fl := mustBuild(t, plugin.BuildContext{Now: clk.now}, &pb.LimitPlugin{Type: "inflight", Tag: "header", Key: "X-Client", Max: 1, MaxKeys: maxKeys})
	rh := rl.middleware(next)
	for i := range 10 * maxKeys {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Client", strconv.Itoa(i))
		if got := serve(rh, r); got.code != 200 {
			t.Fatalf("new key %d: %+v", i, got)
		}
		if n := rl.rate.len(); n > maxKeys {
			t.Fatalf("%d keys after %d requests, want at most %d", n, i+1, maxKeys)
		}
	}
	if n := rl.rate.len(); n != maxKeys {
		t.Fatalf("rate table holds %d keys, want %d", n, maxKeys)
	}
	// The least recently used keys went: the newest is still counted.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Client", strconv.Itoa(10*maxKeys-1))
	if got := serve(rh, r); got.code != 429 {
		t.Fatalf("most recent key forgotten: %+v", got)
	}

	// Requests in flight under 10x max_keys keys.
	type held struct {
		k uint64
		e *flightEntry
	}
	var all []held
	for i := range 10 * maxKeys {
		k := uint64(i)
		e, _ := fl.flight.acquire(k)
		if e == nil {
			t.Fatalf("key %d refused", i)
		}
		all = append(all, held{k, e})
		if n := fl.flight.len(); n > maxKeys {
			t.Fatalf("%d keys held, want at most %d", n, maxKeys)
		}
	}
	if n := fl.flight.len(); n != maxKeys {
		t.Fatalf("inflight table holds %d keys, want %d", n, maxKeys)
	}
	for _, h := range all {
		fl.flight.release(h.k, h.e)
	}
	if n := fl.flight.len(); n != 0 {
		t.Fatalf("inflight table holds %d keys after every release, want 0", n)
	}
}

func TestIdleSweep(t *testing.T) {
	t.Parallel()
	send := func(h http.Handler, client string) answer {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Client", client)
		return serve(h, r)
	}
	clk := newFakeClock()
	l := mustBuild(t, plugin.BuildContext{Now: clk.now},
		&pb.LimitPlugin{Tag: "header", Key: "X-Client", Max: 1, IdleTimeout: durationpb.New(time.Minute)})
	h := l.middleware(next)
	send(h, "a")
	send(h, "b")
	clk.advance(30 * time.Second)
	send(h, "b")
	clk.advance(40 * time.Second)
	if n := l.rate.sweep(clk.now()); n != 1 || l.rate.len() != 1 {
		t.Fatalf("sweep removed %d, %d left; want a removed (idle 70s) and b kept (idle 40s)", n, l.rate.len())
	}
	clk.advance(21 * time.Second)
	if n := l.rate.sweep(clk.now()); n != 1 || l.rate.len() != 0 {
		t.Fatalf("sweep removed %d, %d left; want b removed", n, l.rate.len())
	}

	// A bucket that is still refilling outlives idle_timeout: forgetting it
	// would hand out tokens early.
	slow := mustBuild(t, plugin.BuildContext{Now: clk.now},
		&pb.LimitPlugin{Tag: "header", Key: "X-Client", Max: 1, Interval: durationpb.New(time.Hour), IdleTimeout: durationpb.New(time.Minute)})
	sh := slow.middleware(next)
	send(sh, "a")
	clk.advance(30 * time.Minute)
	if n := slow.rate.sweep(clk.now()); n != 0 {
		t.Fatalf("sweep removed a refilling bucket")
	}
	if got := send(sh, "a"); got.code != 429 || got.retry != "1800" {
		t.Fatalf("request 30m into an hour's refill: %+v", got)
	}
	// Any request counts as use, the refused one too.
	clk.advance(time.Hour + time.Second)
	if n := slow.rate.sweep(clk.now()); n != 1 {
		t.Fatalf("sweep removed %d full buckets, want 1", n)
	}
}

// The sweeper runs only when it can be stopped, and the config's cleanup
// stops it.
func TestCleanupStopsSweeper(t *testing.T) {
	t.Parallel()
	var closers []func()
	ctx := plugin.BuildContext{OnClose: func(fn func()) { closers = append(closers, fn) }}
	l := mustBuild(t, ctx, &pb.LimitPlugin{Max: 1})
	if l.rate.done == nil || len(closers) != 1 {
		t.Fatalf("no sweeper started (done %v, %d cleanups)", l.rate.done, len(closers))
	}
	select {
	case <-l.rate.done:
		t.Fatal("sweeper ended before the cleanup")
	default:
	}
	for range 2 { // cleanups may run more than once
		for _, fn := range closers {
			fn()
		}
	}
	<-l.rate.done // the test's deadline catches a sweeper that never ends

	if l := mustBuild(t, plugin.BuildContext{}, &pb.LimitPlugin{Max: 1}); l.rate.done != nil {
		t.Error("a sweeper started without a way to stop it")
	}
	closers = nil
	if l := mustBuild(t, ctx, &pb.LimitPlugin{Type: "inflight", Max: 1}); l.rate != nil || len(closers) != 0 {
		t.Error("inflight registered a cleanup; it has nothing to stop")
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.LimitPlugin{
		{},
		{Max: 1, Type: "leaky"},
		{Max: 1, Tag: "path"},
		{Max: 1, Tag: "header"},
		{Max: 1, Tag: "header", Key: "bad name"},
		{Max: 1, Tag: "cookie", Key: "a;b"},
		{Max: 1, Tag: "query"},
	} {
		if _, err := New(plugin.BuildContext{}, "l", &pb.Plugin{Category: Category, Config: &pb.Plugin_Limit{Limit: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
}

// The RateLimit headers stay on a response whose handler sets headers of
// its own.
func TestHeadersOnForwardedResponse(t *testing.T) {
	t.Parallel()
	l := mustBuild(t, plugin.BuildContext{}, &pb.LimitPlugin{Max: 5})
	h := l.middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("body"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Result().Header; got.Get("RateLimit-Limit") != "5" || got.Get("RateLimit-Remaining") != "4" || got.Get("Content-Type") != "text/plain" {
		t.Fatalf("headers %v", got)
	}
}

// Refusals reach the plugin's "limited" counter (the metrics).
func TestLimitedCounted(t *testing.T) {
	t.Parallel()
	limited := 0
	ctx := plugin.BuildContext{Now: newFakeClock().now, Counter: func(event string) func() {
		if event != "limited" {
			t.Errorf("unexpected event %q", event)
		}
		return func() { limited++ }
	}}
	h := mustBuild(t, ctx, &pb.LimitPlugin{Max: 2, Interval: durationpb.New(time.Minute)}).middleware(next)
	for range 5 {
		serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	}
	if limited != 3 {
		t.Fatalf("%d refusals counted, want 3", limited)
	}
}
