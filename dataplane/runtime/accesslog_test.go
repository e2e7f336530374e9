package runtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

// accessLogConfig is a config whose server "logged" logs in format and
// whose server "quiet" does not; output is the [settings.access_log]
// table's body ("" leaves it out).
func accessLogConfig(format, output string) string {
	s := "[upstreams.a]\naddrs = [\"127.0.0.1:9001\"]\n[locations.l]\nupstream = \"a\"\n" +
		"[servers.logged]\naddr = \"127.0.0.1:8080\"\nlocations = [\"l\"]\n"
	if format != "" {
		s += "access_log = " + strconv.Quote(format) + "\n"
	}
	s += "[servers.quiet]\naddr = \"127.0.0.1:8081\"\nlocations = [\"l\"]\n"
	if output != "" {
		s = "[settings.access_log]\n" + output + "\n" + s
	}
	return s
}

// logOne logs a request through the server's access logger.
func logOne(t *testing.T, rt *Runtime, server, id string) {
	t.Helper()
	s := rt.Servers()[server]
	if s.AccessLog == nil {
		t.Fatalf("server %s has no access logger", server)
	}
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	s.AccessLog.Log(&observe.Record{Server: server, Status: 204, RequestID: id}, r, http.Header{})
}

func TestAccessLogWiring(t *testing.T) {
	t.Parallel()
	var out syncbuf.Buffer
	opts := Options{AccessLogOut: &out}

	rt := buildWith(t, accessLogConfig("json", "queue_size = 16"), nil, opts)
	if rt.Servers()["quiet"].AccessLog != nil {
		t.Error("a server without access_log has a logger")
	}
	logOne(t, rt, "logged", "one")
	w := rt.accessLog.v

	// The same output: the writer carries over and the old runtime's
	// retirement leaves it open.
	next := buildWith(t, accessLogConfig("{request_id} {status}", "queue_size = 16"), rt, opts)
	if next.accessLog.v != w {
		t.Fatal("an unchanged settings.access_log built a new writer")
	}
	rt.Release(next)
	logOne(t, next, "logged", "two")
	if w.Dropped() != 0 {
		t.Fatalf("the carried-over writer dropped %d lines", w.Dropped())
	}

	// Another output: a new writer; retiring the old runtime closes the
	// old writer after writing what it queued.
	third := buildWith(t, accessLogConfig("{request_id}", "queue_size = 32"), next, opts)
	if third.accessLog == nil || third.accessLog.v == w {
		t.Fatal("a changed settings.access_log kept the old writer")
	}
	next.Release(third)
	next.Release(third) // again after the drain: Close is idempotent
	logOne(t, next, "logged", "late")
	if w.Dropped() != 1 {
		t.Errorf("a line logged on a closed writer: dropped %d, want 1", w.Dropped())
	}
	logOne(t, third, "logged", "three")
	third.Release(nil)

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines %q, want 3", lines)
	}
	var first struct {
		RequestID string `json:"request_id"`
		Server    string `json:"server"`
		Status    int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.RequestID != "one" || first.Server != "logged" || first.Status != 204 {
		t.Errorf("json line %s: %+v %v", lines[0], first, err)
	}
	if lines[1] != "two 204" || lines[2] != "three" {
		t.Errorf("template lines %q", lines[1:])
	}
}

func TestAccessLogNotStartedWithoutLoggingServer(t *testing.T) {
	t.Parallel()
	rt := buildWith(t, accessLogConfig("", "path = "+strconv.Quote(filepath.Join(t.TempDir(), "a.log"))), nil, Options{})
	defer rt.Release(nil)
	if rt.accessLog != nil {
		t.Error("a writer was started though no server logs")
	}
	for name, s := range rt.Servers() {
		if s.AccessLog != nil {
			t.Errorf("server %s has an access logger", name)
		}
	}
}

// A writer carried over two reloads stays open until the last runtime that
// holds it is released, whatever order the releases come in.
func TestAccessLogHeldUntilLastRelease(t *testing.T) {
	t.Parallel()
	var out syncbuf.Buffer
	opts := Options{AccessLogOut: &out}
	first := buildWith(t, accessLogConfig("{request_id}", ""), nil, opts)
	second := buildWith(t, accessLogConfig("{request_id} {status}", ""), first, opts) // same output: carried
	third := buildWith(t, accessLogConfig("{request_id}", "queue_size = 8"), second, opts)
	w := first.accessLog.v
	first.Release(third) // first's requests drained; second's may still run
	logOne(t, second, "logged", "still-open")
	if w.Dropped() != 0 {
		t.Fatal("the writer closed while a runtime still held it")
	}
	second.Release(third)
	logOne(t, second, "logged", "after-close")
	if w.Dropped() != 1 {
		t.Fatalf("dropped %d after the last holder let go, want 1 (the writer is closed)", w.Dropped())
	}
	third.Release(nil)
	if !strings.Contains(out.String(), "still-open 204") {
		t.Fatalf("output %q lacks the line logged before the close", out.String())
	}
}
