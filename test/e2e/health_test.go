package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// spread sends n GETs to url and counts the answers by X-Backend; any
// answer but 200 fails the test.
func spread(t testing.TB, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		res := mustSend(t, c, req{url: url})
		if res.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %q (so far %v)", url, res.Code, res.Body, got)
		}
		got[res.backend()]++
	}
	return got
}

// TestActiveHealthCheck checks that an active health check, HTTP or TCP,
// takes a killed target out (no request reaches it once /status says it is
// unhealthy; retries and outlier detection are off so nothing else hides
// it) and brings it back after it restarts on the same address.
func TestActiveHealthCheck(t *testing.T) {
	t.Parallel()
	const params = "?check_frequency=200ms&success=1&failure=1&connection_timeout=200ms&read_timeout=200ms"
	for _, check := range []string{"http://health.test/ping" + params, "tcp://health" + params} {
		t.Run(check[:4], func(t *testing.T) {
			t.Parallel()
			a, b := startBackend(t, "a", 1), startBackend(t, "b", 1)
			d := newDataplane(t)
			listen := freeAddr(t)
			cfg := func(name string) string {
				return d.settings("name = "+tomlString(name)) + serverTOML("main", listen, "all") +
					"[locations.all]\nupstream = \"up\"\n\n" +
					upstreamTOML("up", "", a.addrs[0], b.addrs[0]) +
					"health_check = " + tomlString(check) + "\nmax_retries = 0\n" +
					"[upstreams.up.outlier_detection]\ndisabled = true\n"
			}
			d.write(cfg("first"))
			d.start()
			url := "http://" + listen + "/"
			d.waitTarget("up", a.addrs[0], "healthy", 5*time.Second, isHealthy(true))
			d.waitTarget("up", b.addrs[0], "healthy", 5*time.Second, isHealthy(true))
			if got := spread(t, d.client, url, 10); got[a.id(0)] != 5 || got[b.id(0)] != 5 {
				t.Fatalf("both healthy: %v, want 5 each", got)
			}

			a.Kill()
			d.waitTarget("up", a.addrs[0], "unhealthy", 5*time.Second, isHealthy(false))
			if got := spread(t, d.client, url, 20); got[b.id(0)] != 20 {
				t.Errorf("with a down: %v, want all 20 on %s", got, b.id(0))
			}
			d.waitTarget("up", b.addrs[0], "healthy", time.Second, isHealthy(true))
			// A reload that leaves the upstream alone keeps its health
			// state: the dead target gets no request right after it.
			prev := d.status()
			d.write(cfg("second"))
			d.waitApplied(prev)
			if got := spread(t, d.client, url, 10); got[b.id(0)] != 10 {
				t.Errorf("right after a reload, with a down: %v, want all 10 on %s", got, b.id(0))
			}

			a2 := startBackendOn(t, "a", a.addrs[0])
			d.waitTarget("up", a.addrs[0], "healthy again", 5*time.Second, isHealthy(true))
			if got := spread(t, d.client, url, 10); got[a2.id(0)] != 5 || got[b.id(0)] != 5 {
				t.Errorf("a back: %v, want 5 each", got)
			}
		})
	}
}

// TestNoHealthyTarget checks the answer when every target failed its health
// check: 503 "service unavailable", and with fail_open the targets are
// tried anyway. The target is up but its health path answers 500.
func TestNoHealthyTarget(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "nh", 1)
	d := newDataplane(t)
	listen := freeAddr(t)
	const check = "http://health.test/status/500?check_frequency=200ms&success=1&failure=1&connection_timeout=200ms&read_timeout=200ms"
	d.write(d.settings() + serverTOML("main", listen, "closed", "open") +
		"[locations.closed]\npath = \"/closed\"\nupstream = \"closed\"\n\n" +
		"[locations.open]\npath = \"/open\"\nupstream = \"open\"\n\n" +
		upstreamTOML("closed", "", be.addrs[0]) + "health_check = " + tomlString(check) + "\n\n" +
		upstreamTOML("open", "", be.addrs[0]) + "health_check = " + tomlString(check) + "\nfail_open = true\n")
	d.start()
	d.waitTarget("closed", be.addrs[0], "unhealthy", 5*time.Second, isHealthy(false))
	d.waitTarget("open", be.addrs[0], "unhealthy", 5*time.Second, isHealthy(false))
	base := "http://" + listen
	for range 3 {
		res := get(t, d.client, base, "", "/closed/x")
		if res.Code != http.StatusServiceUnavailable || string(res.Body) != "service unavailable\n" {
			t.Errorf("no healthy target: %d %q, want 503 \"service unavailable\\n\"", res.Code, res.Body)
		}
		res = get(t, d.client, base, "", "/open/x")
		if res.Code != http.StatusOK || res.backend() != be.id(0) {
			t.Errorf("fail_open: %d %q from %q, want 200 from the target", res.Code, res.Body, res.backend())
		}
	}
}

// switchBackend answers 500 while failing is set, else 200; its responses
// carry X-Backend: NAME.
func switchBackend(name string, failing *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		if failing.Load() {
			http.Error(w, "failing", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// TestOutlierDetection checks passive health: a target that answers 500s,
// or refuses connections, is ejected after consecutive_failures = 2, gets
// no traffic during the ejection, and gets traffic again after
// base_ejection_time and a successful half-open probe.
func TestOutlierDetection(t *testing.T) {
	t.Parallel()
	const outlier = "[upstreams.up.outlier_detection]\nconsecutive_failures = 2\nbase_ejection_time = \"1s\"\n"

	t.Run("500s", func(t *testing.T) {
		t.Parallel()
		var failing atomic.Bool
		failing.Store(true)
		a := startLocal(t, switchBackend("A", &failing), localOpts{})
		b := startBackend(t, "b", 1)
		d := newDataplane(t)
		listen := freeAddr(t)
		d.write(d.settings() + serverTOML("main", listen, "all") +
			"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", a.addr, b.addrs[0]) + outlier)
		d.start()
		url := "http://" + listen + "/"

		// Round robin: a gets every other request until its second 500.
		for i := 0; a.requests.Load() < 2; i++ {
			if i == 10 {
				t.Fatalf("a got %d of 10 requests", a.requests.Load())
			}
			res := mustSend(t, d.client, req{url: url})
			if res.backend() == "A" && res.Code != http.StatusInternalServerError {
				t.Fatalf("a answered %d", res.Code)
			}
		}
		ejectedAt := time.Now()
		d.waitTarget("up", a.addr, "ejected", 2*time.Second, isEjected(true))
		// Within the ejection time every request goes to b.
		n := 0
		for time.Since(ejectedAt) < 600*time.Millisecond || n < 3 {
			res := mustSend(t, d.client, req{url: url})
			if res.Code != http.StatusOK || res.backend() != b.id(0) {
				t.Fatalf("during the ejection: %d from %q", res.Code, res.backend())
			}
			n++
		}
		if got := a.requests.Load(); got != 2 && time.Since(ejectedAt) < time.Second {
			t.Errorf("a got %d requests in total during its ejection, want 2", got)
		}

		// a recovers: after the ejection time one probe request reaches it
		// and brings it back.
		failing.Store(false)
		deadline := time.Now().Add(5 * time.Second)
		for before := a.requests.Load(); a.requests.Load() == before; {
			if time.Now().After(deadline) {
				t.Fatalf("no request reached a within 5s of its 1s ejection")
			}
			res := mustSend(t, d.client, req{url: url})
			if res.Code != http.StatusOK {
				t.Fatalf("after recovery: %d from %q", res.Code, res.backend())
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.waitTarget("up", a.addr, "back (not ejected)", 2*time.Second, isEjected(false))
		if got := spread(t, d.client, url, 10); got["A"] < 4 || got[b.id(0)] < 4 {
			t.Errorf("after a came back: %v, want both about 5", got)
		}
	})

	t.Run("refused connections", func(t *testing.T) {
		t.Parallel()
		aAddr := freeAddr(t) // nothing listens here yet
		b := startBackend(t, "b", 1)
		d := newDataplane(t)
		listen := freeAddr(t)
		d.write(d.settings() + serverTOML("main", listen, "all") +
			"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", aAddr, b.addrs[0]) + outlier)
		d.start()
		url := "http://" + listen + "/"
		// Every request succeeds (a refused connection is retried on b)
		// and a is ejected after two refusals.
		if got := spread(t, d.client, url, 4); got[b.id(0)] != 4 {
			t.Fatalf("%v", got)
		}
		d.waitTarget("up", aAddr, "ejected", 2*time.Second, isEjected(true))

		var failing atomic.Bool
		a := startLocal(t, switchBackend("A", &failing), localOpts{addr: aAddr})
		deadline := time.Now().Add(5 * time.Second)
		for a.requests.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no request reached a within 5s of its 1s ejection")
			}
			if res := mustSend(t, d.client, req{url: url}); res.Code != http.StatusOK {
				t.Fatalf("%d from %q", res.Code, res.backend())
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.waitTarget("up", aAddr, "back (not ejected)", 2*time.Second, isEjected(false))
		if got := spread(t, d.client, url, 10); got["A"] < 4 || got[b.id(0)] < 4 {
			t.Errorf("after a came up: %v, want both about 5", got)
		}
	})
}

// codeBackend answers the status in the path /code/NNN (200 otherwise),
// with X-Backend: NAME, after reading the body and waiting for the query's
// delay, if any.
func codeBackend(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil {
			time.Sleep(d)
		}
		buf := make([]byte, 32<<10)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		code := http.StatusOK
		if s, ok := strings.CutPrefix(r.URL.Path, "/code/"); ok {
			if c, err := strconv.Atoi(s); err == nil {
				code = c
			}
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "%s answered %d\n", name, code)
	})
}
