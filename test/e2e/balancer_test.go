package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestBalancers checks each algorithm's distribution through the proxy over
// three addresses of one testbackend.
func TestBalancers(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "b", 3)
	a := be.addrs
	d := newDataplane(t)
	listen := freeAddr(t)
	locs := map[string]string{ // location path -> upstream
		"/rr": "rr", "/rand": "rand",
		"/h/ip": "hip", "/h/url": "hurl", "/h/header": "hheader", "/h/cookie": "hcookie", "/h/query": "hquery",
	}
	cfg := d.settings()
	var names []string
	var locTOML string
	for path, up := range locs {
		names = append(names, up)
		locTOML += fmt.Sprintf("[locations.%s]\npath = %q\nupstream = %q\n\n", up, path, up)
	}
	// least_conn is routed by host so that /delay/... reaches the backend
	// unchanged.
	names = append(names, "lc")
	locTOML += "[locations.lc]\nhost = \"lc.test\"\nupstream = \"lc\"\n\n"

	cfg += serverTOML("main", listen, names...) + locTOML +
		upstreamTOML("rr", "round_robin", a[0]+" 5", a[1]+" 1", a[2]) +
		upstreamTOML("lc", "least_conn", a...) +
		upstreamTOML("rand", "random", a[0]+" 2", a[1], a[2]) +
		upstreamTOML("hip", "hash:ip", a...) +
		upstreamTOML("hurl", "hash:url", a...) +
		upstreamTOML("hheader", "hash:header:X-User", a...) +
		upstreamTOML("hcookie", "hash:cookie:session", a...) +
		upstreamTOML("hquery", "hash:query:user", a...)
	d.write(cfg)
	d.start()
	base := "http://" + listen

	// count sends n requests from one keep-alive client and counts backends.
	count := func(t *testing.T, n int, host, path string) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			res := get(t, d.client, base, host, path)
			if res.Code != http.StatusOK {
				t.Fatalf("%s: status %d %q", path, res.Code, res.Body)
			}
			got[res.backend()]++
		}
		return got
	}

	t.Run("round_robin 5:1:1 exact", func(t *testing.T) {
		got := count(t, 700, "", "/rr/x")
		want := map[string]int{be.id(0): 500, be.id(1): 100, be.id(2): 100}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("700 requests spread %v, want %v", got, want)
		}
	})

	t.Run("random roughly by weight", func(t *testing.T) {
		const n = 800
		got := count(t, n, "", "/rand/x")
		for i, w := range []int{2, 1, 1} {
			want := n * w / 4
			if c := got[be.id(i)]; c < want*6/10 || c > want*14/10 {
				t.Errorf("%s (weight %d) got %d of %d, want about %d; all %v", be.id(i), w, c, n, want, got)
			}
		}
	})

	t.Run("least_conn avoids busy targets", func(t *testing.T) {
		type slowResult struct {
			backend string
			code    int
			body    string
			done    time.Time
		}
		slow := make(chan slowResult, 2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				c := newClient()
				defer c.CloseIdleConnections()
				res, err := send(t.Context(), c, req{url: base + "/delay/2s", host: "lc.test"})
				if err != nil {
					res.Code = -1
					res.Body = []byte(err.Error())
				}
				slow <- slowResult{res.backend(), res.Code, string(res.Body), time.Now()}
			})
			// Let the slow request reach its target before the next one.
			time.Sleep(300 * time.Millisecond)
		}
		fast := count(t, 30, "lc.test", "/fast")
		fastDone := time.Now()
		wg.Wait()
		close(slow)
		busy := map[string]bool{}
		for s := range slow {
			if s.code != http.StatusOK {
				t.Fatalf("slow request: status %d %q", s.code, s.body)
			}
			if !s.done.After(fastDone) {
				t.Fatalf("slow request finished before the fast ones: the test raced")
			}
			busy[s.backend] = true
		}
		if len(busy) != 2 {
			t.Errorf("the two slow requests went to %v, want two different targets", busy)
		}
		for b, n := range fast {
			if busy[b] {
				t.Errorf("%d fast requests went to %s, busy with a slow one; spread %v", n, b, fast)
			}
		}
		if len(fast) != 1 {
			t.Errorf("fast requests spread over %v, want all on the one idle target", fast)
		}
	})

	// sticky sends each key 3 times and checks it lands on one target every
	// time; over all keys at least two targets are used.
	sticky := func(t *testing.T, keys int, send func(key, attempt int) result) {
		t.Helper()
		used := map[string]int{}
		for k := range keys {
			first := ""
			for attempt := range 3 {
				res := send(k, attempt)
				if res.Code != http.StatusOK || res.backend() == "" {
					t.Fatalf("key %d: status %d from %q", k, res.Code, res.backend())
				}
				if attempt == 0 {
					first = res.backend()
					used[first]++
				} else if res.backend() != first {
					t.Fatalf("key %d: attempt %d went to %s, the first to %s: not sticky", k, attempt, res.backend(), first)
				}
			}
		}
		if len(used) < 2 {
			t.Errorf("%d keys all went to %v, want them spread over at least 2 targets", keys, used)
		}
	}

	t.Run("hash:ip", func(t *testing.T) {
		clients := map[int]*http.Client{}
		defer func() {
			for _, c := range clients {
				c.CloseIdleConnections()
			}
		}()
		sticky(t, 16, func(k, attempt int) result {
			c := clients[k]
			if c == nil {
				c = clientFrom(fmt.Sprintf("127.0.0.%d", 10+k))
				clients[k] = c
			}
			if attempt == 2 { // a new connection, same address
				c.CloseIdleConnections()
			}
			return get(t, c, base, "", "/h/ip/x")
		})
	})
	t.Run("hash:url", func(t *testing.T) {
		sticky(t, 20, func(k, _ int) result {
			return get(t, d.client, base, "", fmt.Sprintf("/h/url/item-%d", k))
		})
	})
	t.Run("hash:header", func(t *testing.T) {
		sticky(t, 20, func(k, attempt int) result {
			return mustSend(t, d.client, req{url: base + fmt.Sprintf("/h/header/%d", attempt), header: http.Header{
				"X-User": {fmt.Sprintf("user-%d", k)},
			}})
		})
	})
	t.Run("hash:cookie", func(t *testing.T) {
		sticky(t, 20, func(k, attempt int) result {
			return mustSend(t, d.client, req{url: base + fmt.Sprintf("/h/cookie/%d", attempt), header: http.Header{
				"Cookie": {fmt.Sprintf("theme=dark%d; session=s-%d", attempt, k)},
			}})
		})
	})
	t.Run("hash:query", func(t *testing.T) {
		sticky(t, 20, func(k, attempt int) result {
			return get(t, d.client, base, "", fmt.Sprintf("/h/query/x?page=%d&user=u-%d", attempt, k))
		})
	})
}
