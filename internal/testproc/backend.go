package testproc

import (
	"strings"
	"testing"
	"time"
)

// BackendStartTimeout bounds how long StartBackend waits for the backend to
// bind its addresses.
const BackendStartTimeout = 30 * time.Second

// StartBackend starts bin, the cmd/testbackend binary, named name and
// listening on listen (comma-separated addresses; port 0 picks a free one),
// and returns the process and the addresses it bound, read from its
// "listening on ADDR" lines, once it bound every one.
func StartBackend(t testing.TB, bin, name, listen string) (*Proc, []string) {
	t.Helper()
	n := strings.Count(listen, ",") + 1
	lines := make(chan string, n)
	p := Start(t, Options{Name: "testbackend " + name, Bin: bin, Args: []string{"--listen", listen, "--name", name}, Lines: lines})
	addrs := make([]string, 0, n)
	deadline := time.After(BackendStartTimeout)
	for len(addrs) < n {
		select {
		case l := <-lines:
			if a, ok := strings.CutPrefix(l, "listening on "); ok {
				addrs = append(addrs, a)
			}
		case <-p.Done():
			t.Fatalf("testbackend %s exited before listening", name)
		case <-deadline:
			t.Fatalf("testbackend %s not listening on %s after %s", name, listen, BackendStartTimeout)
		}
	}
	return p, addrs
}
