package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/internal/testbin"
)

// TestRetries checks max_retries: a refused connection is retried on the
// other target (GET and POST, whose body was not sent); an idempotent
// request that got 502, 503 or 504 is retried; a POST whose body was sent
// and got 503 is not; a 500 is not retried; max_retries = 0 retries
// nothing; no retry starts after retry_timeout.
func TestRetries(t *testing.T) {
	t.Parallel()
	a := startLocal(t, codeBackend("A"), localOpts{})
	b := startBackend(t, "b", 1)
	dead := testbin.DeadAddr(t)
	d := newDataplane(t)
	listen := freeAddr(t)
	const noOutlier = "[upstreams.%s.outlier_detection]\ndisabled = true\n\n"
	up := func(name string, extra string, addrs ...string) string {
		return upstreamTOML(name, "", addrs...) + extra + "\n" + strings.ReplaceAll(noOutlier, "%s", name)
	}
	d.write(d.settings() + serverTOML("main", listen, "conn", "status", "conn0", "status0", "budget") +
		"[locations.budget]\nhost = \"budget\"\nupstream = \"budget\"\n\n" +
		up("budget", "retry_timeout = \"300ms\"", a.addr, b.addrs[0]) +
		"[locations.conn]\nhost = \"conn\"\nupstream = \"conn\"\n\n" +
		"[locations.status]\nhost = \"status\"\nupstream = \"status\"\n\n" +
		"[locations.conn0]\nhost = \"conn0\"\nupstream = \"conn0\"\n\n" +
		"[locations.status0]\nhost = \"status0\"\nupstream = \"status0\"\n\n" +
		up("conn", "", dead, b.addrs[0]) +
		up("status", "", a.addr, b.addrs[0]) +
		up("conn0", "max_retries = 0", dead, b.addrs[0]) +
		up("status0", "max_retries = 0", a.addr, b.addrs[0]))
	d.start()
	base := "http://" + listen

	t.Run("refused connection is retried", func(t *testing.T) {
		for i := range 10 {
			res := get(t, d.client, base, "conn", "/x")
			if res.Code != http.StatusOK || res.backend() != b.id(0) {
				t.Fatalf("GET %d: %d from %q: %q", i, res.Code, res.backend(), res.Body)
			}
			body := strings.Repeat("p", 10<<10)
			res = mustSend(t, d.client, req{method: http.MethodPost, url: base + "/post", host: "conn",
				body: strings.NewReader(body), contentLength: int64(len(body))})
			if res.Code != http.StatusOK || res.backend() != b.id(0) {
				t.Fatalf("POST %d: %d from %q: %q", i, res.Code, res.backend(), res.Body)
			}
			if e := res.echo(t); e.BodyBytes != int64(len(body)) || e.Method != http.MethodPost {
				t.Errorf("POST %d: backend got %s with %d body bytes, want %d", i, e.Method, e.BodyBytes, len(body))
			}
		}
	})

	for _, code := range []int{502, 503, 504} {
		t.Run(http.StatusText(code)+" on GET is retried", func(t *testing.T) {
			before := a.requests.Load()
			for i := range 6 {
				res := get(t, d.client, base, "status", "/code/"+strconv.Itoa(code))
				if res.Code != http.StatusOK || res.backend() != b.id(0) {
					t.Errorf("GET %d: %d from %q: %q, want 200 from b after a retry", i, res.Code, res.backend(), res.Body)
				}
			}
			if a.requests.Load() == before {
				t.Errorf("a got none of 6 requests: nothing was retried")
			}
		})
	}

	t.Run("500 on GET is not retried", func(t *testing.T) {
		fromA := 0
		for range 6 {
			res := get(t, d.client, base, "status", "/code/500")
			if res.backend() == "A" {
				fromA++
				if res.Code != http.StatusInternalServerError {
					t.Errorf("a's answer: %d", res.Code)
				}
			}
		}
		if fromA == 0 {
			t.Errorf("no 500 reached the client in 6 requests")
		}
	})

	t.Run("POST with a body that got 503 is not retried", func(t *testing.T) {
		got503 := 0
		for i := range 6 {
			before := a.requests.Load()
			res := mustSend(t, d.client, req{method: http.MethodPost, url: base + "/code/503", host: "status",
				body: strings.NewReader("payload"), contentLength: 7})
			if a.requests.Load() == before {
				if res.Code != http.StatusOK || res.backend() != b.id(0) {
					t.Errorf("POST %d to b: %d from %q", i, res.Code, res.backend())
				}
				continue
			}
			got503++
			if res.Code != http.StatusServiceUnavailable || res.backend() != "A" {
				t.Errorf("POST %d reached a (503) but the client got %d from %q: retried", i, res.Code, res.backend())
			}
		}
		if got503 == 0 {
			t.Errorf("no POST reached a in 6")
		}
	})

	t.Run("retry_timeout", func(t *testing.T) {
		// a answers 503 after 500ms: past the 300ms budget no retry starts
		// and the client gets a's 503; without a budget it is retried.
		from := map[string]int{}
		for i := range 4 {
			res := get(t, d.client, base, "budget", "/code/503?delay=500ms")
			from[res.backend()]++
			if res.backend() == "A" && res.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %d: %d from a", i, res.Code)
			}
		}
		if from["A"] == 0 {
			t.Errorf("no 503 reached the client past the retry budget: %v", from)
		}
		before := a.requests.Load()
		for i := range 2 {
			res := get(t, d.client, base, "status", "/code/503?delay=500ms")
			if res.Code != http.StatusOK || res.backend() != b.id(0) {
				t.Errorf("GET %d without a budget: %d from %q, want a retry on b", i, res.Code, res.backend())
			}
		}
		if a.requests.Load() == before {
			t.Errorf("a got none of 2 requests")
		}
	})

	t.Run("max_retries = 0", func(t *testing.T) {
		codes := map[int]int{}
		for range 10 {
			codes[get(t, d.client, base, "conn0", "/x").Code]++
		}
		if codes[http.StatusBadGateway] == 0 || codes[http.StatusOK] == 0 || len(codes) != 2 {
			t.Errorf("refused connection, no retries: status counts %v, want both 502 and 200", codes)
		}
		codes = map[int]int{}
		for range 10 {
			codes[get(t, d.client, base, "status0", "/code/503").Code]++
		}
		if codes[http.StatusServiceUnavailable] == 0 || codes[http.StatusOK] == 0 || len(codes) != 2 {
			t.Errorf("503, no retries: status counts %v, want both 503 and 200", codes)
		}
	})
}
