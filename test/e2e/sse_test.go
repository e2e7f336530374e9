package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseBackend sends server-sent events on any path: it flushes the headers,
// then writes event i each time the test releases it on the path's channel,
// and ends after the last.
func sseBackend(release *channels, n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			return
		}
		for i := range n {
			select {
			case <-release.get(r.URL.Path):
			case <-r.Context().Done():
				return
			case <-time.After(30 * time.Second):
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: tick\ndata: event %d\n\n", i, i); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}

// TestSSE checks that server-sent events cross the proxy one by one: each
// event is released by the test only after the previous one arrived, so a
// proxy that buffers the stream never delivers it. Over HTTP/1.1, h2c and
// HTTP/2 over TLS. Separately, it checks that the response headers, which
// the backend flushes before any event, arrive before the first event.
func TestSSE(t *testing.T) {
	t.Parallel()
	const n = 4
	var release channels
	be := startLocal(t, sseBackend(&release, n), localOpts{})
	ca := newCA(t, "e2e sse ca")
	d := newDataplane(t)
	plain, secure := freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		"[servers.plain]\naddr = " + tomlString(plain) + "\nlocations = [\"all\"]\nenabled_h2 = true\n\n" +
		"[servers.secure]\naddr = " + tomlString(secure) + "\nlocations = [\"all\"]\ncertificates = [\"sse\"]\n\n" +
		"[locations.all]\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addr) +
		certTOML("sse", ca.issue("sse", "sse.test")))
	d.start()

	for _, tc := range []struct {
		desc   string
		url    string
		client *http.Client
	}{
		{"http1", "http://" + plain, newClient()},
		{"h2c", "http://" + plain, h2cClient()},
		{"h2", "https://" + secure, tlsClient(ca, "sse.test", true)},
	} {
		t.Run("events one by one/"+tc.desc, func(t *testing.T) {
			t.Parallel()
			path := "/events/" + tc.desc
			release.get(path) <- "" // event 0 goes out with the headers
			resp := openSSE(t, tc.client, tc.url+path, 10*time.Second)
			readEvents(t, resp, n, 1, func() { release.get(path) <- "" })
		})
		t.Run("headers before the first event/"+tc.desc, func(t *testing.T) {
			t.Parallel()
			path := "/headers/" + tc.desc
			resp := openSSE(t, tc.client, tc.url+path, 3*time.Second)
			if resp == nil {
				release.get(path) <- "" // let the stream go on, for the log
				return
			}
			readEvents(t, resp, n, 0, func() { release.get(path) <- "" })
		})
	}
}

// openSSE sends a GET for an event stream and returns the response once its
// headers arrived; nil (and an error) when they do not within timeout.
func openSSE(t *testing.T, c *http.Client, url string, timeout time.Duration) *http.Response {
	t.Helper()
	hr, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	hr.Header.Set("Accept", "text/event-stream")
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := c.Do(hr)
		answered <- answer{resp, err}
	}()
	t.Cleanup(func() {
		// The request ends with the test's context; close the body.
		if a := <-answered; a.resp != nil {
			a.resp.Body.Close()
		}
	})
	select {
	case a := <-answered:
		answered <- a // for the cleanup
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.resp.StatusCode != http.StatusOK || !strings.HasPrefix(a.resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%d %q", a.resp.StatusCode, a.resp.Header.Get("Content-Type"))
		}
		return a.resp
	case <-time.After(timeout):
		t.Errorf("response headers not delivered %s after the backend flushed them", timeout)
		return nil
	}
}

// readEvents reads the n events of the stream, calling next to release
// each event from the first-th on before waiting for it, and checks that
// the stream ends after them.
func readEvents(t *testing.T, resp *http.Response, n, first int, next func()) {
	t.Helper()
	events := make(chan string)
	go func() {
		defer close(events)
		br := bufio.NewReader(resp.Body)
		var ev strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\n" {
				events <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(line)
		}
	}()
	for i := range n {
		if i >= first {
			next()
		}
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before event %d", i)
			}
			if want := fmt.Sprintf("id: %d\nevent: tick\ndata: event %d\n", i, i); ev != want {
				t.Fatalf("event %d: %q, want %q", i, ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not delivered 10s after the backend sent it: buffered by the proxy?", i)
		}
	}
	select {
	case ev, ok := <-events:
		if ok {
			t.Errorf("unexpected event %q", ev)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("stream did not end after the backend finished")
	}
}
