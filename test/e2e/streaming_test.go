package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestStreaming checks that a streamed response is flushed chunk by chunk
// through the proxy: the first chunk arrives long before the backend has
// finished, and each later one about an interval after the previous.
func TestStreaming(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "s", 1)
	d := newDataplane(t)
	listen := freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "all") + `
[locations.all]
path = "/"
upstream = "up"

` + upstreamTOML("up", "", be.addrs[0]))
	d.start()

	const n, interval = 5, 200 * time.Millisecond
	start := time.Now()
	resp, err := d.client.Get(fmt.Sprintf("http://%s/stream?n=%d&interval=%s", listen, n, interval))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != be.id(0) {
		t.Fatalf("got %d from %q", resp.StatusCode, resp.Header.Get("X-Backend"))
	}
	br := bufio.NewReader(resp.Body)
	arrived := make([]time.Duration, 0, n)
	for i := range n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("chunk %d: %v (got %q)", i, err, line)
		}
		if want := fmt.Sprintf("chunk %d\n", i); line != want {
			t.Fatalf("chunk %d: %q, want %q", i, line, want)
		}
		arrived = append(arrived, time.Since(start))
		if i == 0 && br.Buffered() > 0 {
			t.Errorf("more than the first chunk arrived with it")
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("trailing data %q", rest)
	}
	t.Logf("chunks arrived at %v", arrived)
	// The backend needs (n-1)*interval = 800ms to finish: the first chunk
	// must come long before that, and the chunks must come in separate
	// bursts about an interval apart (a busy machine may merge two).
	if arrived[0] > (n-1)*interval/2 {
		t.Errorf("first chunk after %s: buffered, want it before the backend finished (%s)", arrived[0], (n-1)*interval)
	}
	bursts := 1
	for i := 1; i < n; i++ {
		if arrived[i]-arrived[i-1] > interval/4 {
			bursts++
		}
	}
	if bursts < n-1 {
		t.Errorf("the %d chunks came in %d bursts (at %v), want them one by one", n, bursts, arrived)
	}
}
