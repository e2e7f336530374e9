package fleet

// The harness: building the binaries once, running processes and keeping
// their logs, free ports, and the vocabulary of the control plane's admin
// API. The scenarios live in the other *_test.go files.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbin"
	"github.com/pingap-go/pingap/internal/testproc"
)

const (
	// startTimeout bounds how long a process may take to become ready.
	startTimeout = 20 * time.Second
	// syncTimeout bounds waits for the fleet to reach a state where no
	// tighter bound is the point of the test.
	syncTimeout = 20 * time.Second
	// healthInterval is the control planes' --health-interval: every report
	// makes the control plane reconsider what to push to the node, so a
	// re-push of a NACKed version would show within a few of them.
	healthInterval = time.Second
)

func TestMain(m *testing.M) { testbin.Main(m, "fleet", "pingap", "testbackend") }

// binPath is the path of a binary TestMain built.
func binPath(name string) string { return testbin.Path("fleet", name) }

// proc is a running child process (see internal/testproc), with the
// fleet tests' log readers.
type proc struct{ *testproc.Proc }

// startProc starts bin with args in dir (empty: the test's working
// directory). If lines is not nil, every stdout line is also sent to it.
func startProc(t testing.TB, name, bin, dir string, lines chan<- string, args ...string) *proc {
	t.Helper()
	return &proc{testproc.Start(t, testproc.Options{Name: name, Bin: bin, Dir: dir, Lines: lines, Args: args})}
}

// logEntry is one line of a `--log-format json` log.
type logEntry map[string]any

func (e logEntry) msg() string { s, _ := e["msg"].(string); return s }

// str renders the attribute key as text ("" when absent).
func (e logEntry) str(key string) string {
	v, ok := e[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// logEntries parses the process's JSON log lines (stderr); other lines are
// skipped.
func (p *proc) logEntries() []logEntry {
	var out []logEntry
	for _, line := range strings.Split(p.Stderr.String(), "\n") {
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil && e != nil {
			out = append(out, e)
		}
	}
	return out
}

// countLog counts log lines with message msg whose attributes have the
// given values (key, value, key, value...).
func (p *proc) countLog(msg string, kv ...string) int {
	n := 0
	for _, e := range p.logEntries() {
		if e.msg() == msg && matches(e, kv) {
			n++
		}
	}
	return n
}

// findLog returns the first log line with message msg whose whole text
// (as JSON) contains every string of contains.
func (p *proc) findLog(msg string, contains ...string) (logEntry, bool) {
	for _, e := range p.logEntries() {
		if e.msg() != msg {
			continue
		}
		b, _ := json.Marshal(e)
		ok := true
		for _, c := range contains {
			if !strings.Contains(string(b), c) {
				ok = false
			}
		}
		if ok {
			return e, true
		}
	}
	return nil, false
}

func matches(e logEntry, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if e.str(kv[i]) != kv[i+1] {
			return false
		}
	}
	return true
}

// waitLog waits until the process logs a line with message msg containing
// every string of contains, and returns it.
func (p *proc) waitLog(timeout time.Duration, msg string, contains ...string) logEntry {
	p.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if e, ok := p.findLog(msg, contains...); ok {
			return e
		}
		if p.Exited() {
			p.T.Fatalf("%s exited before logging %q %v", p.Name, msg, contains)
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("%s: no log line %q containing %q after %s", p.Name, msg, contains, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newClient is an HTTP client for loopback tests: no proxy from the
// environment, no keep-alive (every request dials, so a listener that went
// away shows at once), no transparent decompression.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:              nil,
			DisableKeepAlives:  true,
			DisableCompression: true,
			DialContext:        (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
		Timeout: 10 * time.Second,
	}
}

// waitFor polls cond every 20ms until it returns "" (done) or timeout
// passes; then it fails the test with what cond last said.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := cond()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string { return testbin.FreeAddr(t) }
