package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// load is a keep-alive client sending requests from a few goroutines until
// stopped, checking that every answer is a 200 from an allowed backend.
type load struct {
	ok       atomic.Int64
	mu       sync.Mutex
	failures []string
	failed   int
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startLoad sends GET url from workers goroutines sharing one keep-alive
// client until stop is called.
func startLoad(t *testing.T, url string, workers int, allowed map[string]bool) *load {
	l := &load{}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	c := newClient()
	for w := range workers {
		l.wg.Go(func() {
			defer c.CloseIdleConnections()
			for i := 0; ctx.Err() == nil; i++ {
				res, err := send(context.Background(), c, req{url: fmt.Sprintf("%s?w=%d&i=%d", url, w, i)})
				switch {
				case err != nil:
					l.fail(fmt.Sprintf("request %d/%d: %v", w, i, err))
				case res.Code != http.StatusOK || !allowed[res.backend()]:
					l.fail(fmt.Sprintf("request %d/%d: %d from %q: %.200s", w, i, res.Code, res.backend(), res.Body))
				default:
					l.ok.Add(1)
				}
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
	if len(l.failures) < 10 {
		l.failures = append(l.failures, msg)
	}
}

// stop stops the load and waits for the workers; it is idempotent.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// check stops the load once at least want requests succeeded (or after a
// minute) and fails the test on any failed request.
func (l *load) check(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.ok.Load() < want && time.Now().Before(deadline) {
		l.mu.Lock()
		failed := l.failed
		l.mu.Unlock()
		if failed > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("load: %d requests ok, %d failed", l.ok.Load(), l.failed)
	if l.failed > 0 {
		t.Errorf("%d requests failed under reload, first ones:\n%s", l.failed, strings.Join(l.failures, "\n"))
	}
	if l.ok.Load() < want {
		t.Errorf("only %d requests succeeded, want at least %d", l.ok.Load(), want)
	}
}

// expectFrom sends n requests and checks each is a 200 from one of want.
func expectFrom(t *testing.T, c *http.Client, url string, n int, want ...string) {
	t.Helper()
	ok := map[string]bool{}
	for _, w := range want {
		ok[w] = true
	}
	for i := range n {
		res := mustSend(t, c, req{url: url})
		if res.Code != http.StatusOK || !ok[res.backend()] {
			t.Fatalf("%s (request %d): %d from %q, want 200 from %v", url, i, res.Code, res.backend(), want)
		}
	}
}

// TestReloadUnderLoad rewrites the config five times (atomic rename, in-place
// write, an invalid one, one applied by SIGHUP) while a client sends
// requests: no request fails, each valid change serves once /status shows
// its hash, and the invalid one is reported while the old config serves.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "a", 2)
	b := startBackend(t, "b", 2)
	d := newDataplane(t)
	listen := freeAddr(t)
	base := "http://" + listen
	cfg := func(name, servers, locations, upstreams string) string {
		return d.settings(fmt.Sprintf("name = %q", name)) + servers + locations + upstreams
	}
	mainLoc := "[locations.main]\npath = \"/load\"\nupstream = \"up\"\n\n"
	extraLoc := func(upstream, path string) string {
		return fmt.Sprintf("[locations.extra]\npath = %q\nupstream = %q\n\n", path, upstream)
	}

	// v1: /load -> A.
	d.write(cfg("v1", serverTOML("main", listen, "main"), mainLoc, upstreamTOML("up", "", a.addrs...)))
	d.start()
	st := d.status()
	if st.ConfigName != "v1" || !strings.HasPrefix(st.ConfigHash, "sha256:") {
		t.Fatalf("/status after start: %+v, want config_name v1 and a sha256 hash", st)
	}
	if _, err := time.Parse(time.RFC3339, st.AppliedAt); err != nil {
		t.Errorf("/status applied_at %q: %v", st.AppliedAt, err)
	}
	if res := get(t, d.client, "http://"+d.admin, "", "/healthz"); res.Code != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", res.Code)
	}
	if res := get(t, d.client, base, "", "/extra"); res.Code != http.StatusNotFound {
		t.Fatalf("/extra before it exists: %d, want 404", res.Code)
	}

	allowed := map[string]bool{a.id(0): true, a.id(1): true, b.id(0): true, b.id(1): true}
	l := startLoad(t, base+"/load", 4, allowed)

	// v2 (atomic rename): a new location.
	d.write(cfg("v2", serverTOML("main", listen, "main", "extra"), mainLoc+extraLoc("up", "/extra"), upstreamTOML("up", "", a.addrs...)))
	st = d.waitApplied(st)
	if st.ConfigName != "v2" {
		t.Errorf("config_name %q, want v2", st.ConfigName)
	}
	expectFrom(t, d.client, base+"/extra", 10, a.id(0), a.id(1))

	// v3 (in-place write): the upstream's addrs change from A to B.
	d.writeInPlace(cfg("v3", serverTOML("main", listen, "main", "extra"), mainLoc+extraLoc("up", "/extra"), upstreamTOML("up", "", b.addrs...)))
	st = d.waitApplied(st)
	expectFrom(t, d.client, base+"/load", 20, b.id(0), b.id(1))

	// v4: invalid (a bad regex); the old config keeps serving.
	bad := cfg("v4", serverTOML("main", listen, "main", "extra"), mainLoc+extraLoc("up", "~("), upstreamTOML("up", "", a.addrs...))
	d.write(bad)
	failed := d.waitStatus("invalid config rejected", func(s status) bool { return s.FailedReloads > st.FailedReloads })
	if want := fmt.Sprintf("locations.extra.path (line %d)", lineOf(t, bad, "~(")); !strings.Contains(failed.LastReloadError, want) {
		t.Errorf("last_reload_error %q does not name %q", failed.LastReloadError, want)
	}
	if failed.ConfigHash != st.ConfigHash || failed.ConfigName != "v3" {
		t.Errorf("after an invalid config /status shows %q %q, want the v3 config %q", failed.ConfigName, failed.ConfigHash, st.ConfigHash)
	}
	expectFrom(t, d.client, base+"/load", 10, b.id(0), b.id(1))
	expectFrom(t, d.client, base+"/extra", 10, b.id(0), b.id(1))
	st = failed

	// v5 (SIGHUP): /extra moves to its own upstream on A's second address.
	// The file is rewritten through a hard link in another directory, which
	// a watcher of the config's directory does not see: SIGHUP applies it.
	link := filepath.Join(t.TempDir(), "link.toml")
	if err := os.Link(d.config, link); err != nil {
		t.Fatal(err)
	}
	v5 := cfg("v5", serverTOML("main", listen, "main", "extra"), mainLoc+extraLoc("up2", "/extra"),
		upstreamTOML("up", "", b.addrs...)+upstreamTOML("up2", "", a.addrs[1]))
	if err := os.WriteFile(link, []byte(v5), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Signal(syscall.SIGHUP)
	st = d.waitApplied(st)
	expectFrom(t, d.client, base+"/extra", 10, a.id(1))

	// v6: the location goes away; /load moves to both A and B.
	d.write(cfg("v6", serverTOML("main", listen, "main"), mainLoc, upstreamTOML("up", "", a.addrs[0], b.addrs[0])))
	st = d.waitApplied(st)
	if res := get(t, d.client, base, "", "/extra"); res.Code != http.StatusNotFound {
		t.Errorf("/extra after its removal: %d from %q, want 404", res.Code, res.backend())
	}
	expectFrom(t, d.client, base+"/load", 10, a.id(0), b.id(0))
	if _, err := time.Parse(time.RFC3339, st.LastReloadAt); err != nil {
		t.Errorf("/status last_reload_at %q: %v", st.LastReloadAt, err)
	}
	if st.Reloads < 4 || st.FailedReloads < 1 {
		t.Errorf("/status counts reloads %d failed %d, want at least 4 and 1", st.Reloads, st.FailedReloads)
	}

	l.check(t, 2000)
}

// TestListenerReload adds a server on a new port by reload, then removes the
// first one: its port closes after its in-flight request finished, while the
// other server keeps serving without a failed request.
func TestListenerReload(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "l", 1)
	d := newDataplane(t)
	p1, p2 := freeAddr(t), freeAddr(t)
	loc := "[locations.all]\npath = \"/\"\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0])
	d.write(d.settings() + serverTOML("one", p1, "all") + loc)
	d.start()
	st := d.status()
	if _, err := send(t.Context(), d.client, req{url: "http://" + p2 + "/"}); err == nil {
		t.Fatalf("%s serves before it is configured", p2)
	}

	d.write(d.settings() + serverTOML("one", p1, "all") + serverTOML("two", p2, "all") + loc)
	st = d.waitApplied(st)
	expectFrom(t, d.client, "http://"+p2+"/new", 5, be.id(0))
	expectFrom(t, d.client, "http://"+p1+"/old", 5, be.id(0))

	l := startLoad(t, "http://"+p2+"/load", 2, map[string]bool{be.id(0): true})
	// A request in flight on the server about to be removed.
	inflight := make(chan string, 1)
	go func() {
		c := newClient()
		defer c.CloseIdleConnections()
		res, err := send(context.Background(), c, req{url: "http://" + p1 + "/delay/700ms"})
		if err != nil {
			inflight <- err.Error()
			return
		}
		inflight <- fmt.Sprintf("%d %s", res.Code, res.backend())
	}()
	time.Sleep(200 * time.Millisecond)

	d.write(d.settings() + serverTOML("two", p2, "all") + loc)
	d.waitApplied(st)
	if got, want := <-inflight, fmt.Sprintf("200 %s", be.id(0)); got != want {
		t.Errorf("request in flight on the removed server: %q, want %q", got, want)
	}
	closed := false
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c := newClient()
		_, err := send(t.Context(), c, req{url: "http://" + p1 + "/"})
		c.CloseIdleConnections()
		if err != nil {
			closed = true
			break
		}
	}
	if !closed {
		t.Errorf("%s still accepts requests after its server was removed", p1)
	}
	expectFrom(t, d.client, "http://"+p2+"/after", 5, be.id(0))
	l.check(t, 300)
}

// TestGracefulShutdown sends SIGTERM with a request in flight: the request
// completes with 200 and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "g", 1)
	d := newDataplane(t)
	listen := freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "all") +
		"[locations.all]\npath = \"/\"\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0]))
	d.start()

	type outcome struct {
		res result
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		c := newClient()
		defer c.CloseIdleConnections()
		res, err := send(context.Background(), c, req{url: "http://" + listen + "/delay/1s"})
		done <- outcome{res, err}
	}()
	time.Sleep(300 * time.Millisecond)
	d.Signal(syscall.SIGTERM)
	o := <-done
	if o.err != nil || o.res.Code != http.StatusOK || o.res.backend() != be.id(0) {
		t.Errorf("in-flight request: %d from %q, %v; want 200 from %s", o.res.Code, o.res.backend(), o.err, be.id(0))
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("in-flight request answered after %s, before the backend's 1s delay", el)
	}
	if code := d.Wait(6 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}
