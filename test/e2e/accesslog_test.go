package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// accessLogLine is a line of the "json" access log format.
type accessLogLine struct {
	Method       string   `json:"method"`
	Path         string   `json:"path"`
	Query        string   `json:"query"`
	Status       int      `json:"status"`
	BytesOut     int64    `json:"bytes_out"`
	RequestID    string   `json:"request_id"`
	Upstream     string   `json:"upstream"`
	UpstreamAddr string   `json:"upstream_addr"`
	UpstreamMS   *float64 `json:"upstream_ms"`
	Attempts     int      `json:"attempts"`
	Server       string   `json:"server"`
	Location     string   `json:"location"`
	ClientIP     string   `json:"client_ip"`
	UserAgent    string   `json:"user_agent"`
}

// TestAccessLogJSONFile runs the real binary with a server logging "json"
// to a file and the request_id plugin: each request's line carries the id
// the client got back, its status and the target that answered, and a
// hostile User-Agent cannot break a line.
func TestAccessLogJSONFile(t *testing.T) {
	app := startLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("status"))
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "answer to %s", r.URL.Path)
	}), localOpts{})
	d := newDataplane(t)
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "logs", "access.log")
	d.write(d.settings() +
		"[settings.access_log]\npath = " + strconv.Quote(logPath) + "\nmax_size = \"10mb\"\n\n" +
		upstreamTOML("app", "", app.addr) +
		"[plugins.rid]\ncategory = \"request_id\"\n\n" +
		"[locations.app]\nupstream = \"app\"\nplugins = [\"rid\"]\n\n" +
		serverTOML("web", addr, "app") + "access_log = \"json\"\n")
	d.start()

	hostileUA := `"}, {"status": 200} \ <script> ` + "\xff\xfe"
	type sent struct {
		path, query, id, ua string
		code                int
		bodyLen             int
	}
	var want []sent
	for i, q := range []string{"", "status=404", "status=418", "a=1&b=two", ""} {
		r := req{url: fmt.Sprintf("http://%s/item/%d", addr, i), header: http.Header{}}
		if q != "" {
			r.url += "?" + q
		}
		ua := "e2e/" + strconv.Itoa(i)
		if i == 4 {
			ua = hostileUA
		}
		r.header.Set("User-Agent", ua)
		res := mustSend(t, d.client, r)
		id := res.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatalf("request %d: no X-Request-Id in the response", i)
		}
		want = append(want, sent{path: fmt.Sprintf("/item/%d", i), query: q, id: id, ua: ua, code: res.Code, bodyLen: len(res.Body)})
	}

	lines := waitLogLines(t, logPath, len(want))
	for i, raw := range lines {
		w := want[i]
		var got accessLogLine
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("line %d is not JSON (%v): %s", i, err, raw)
		}
		if got.RequestID != w.id {
			t.Errorf("line %d: request_id %q, the client saw %q", i, got.RequestID, w.id)
		}
		if got.Status != w.code || got.Method != "GET" || got.Path != w.path || got.Query != w.query {
			t.Errorf("line %d: %s %s?%s -> %d, want GET %s?%s -> %d", i, got.Method, got.Path, got.Query, got.Status, w.path, w.query, w.code)
		}
		if got.UpstreamAddr != app.addr || got.Upstream != "app" || got.Attempts != 1 || got.UpstreamMS == nil {
			t.Errorf("line %d: upstream %q at %q, %d attempts, upstream_ms %v; want app at %s, 1 attempt",
				i, got.Upstream, got.UpstreamAddr, got.Attempts, got.UpstreamMS, app.addr)
		}
		if got.Server != "web" || got.Location != "app" || got.ClientIP != "127.0.0.1" || got.BytesOut != int64(w.bodyLen) {
			t.Errorf("line %d: server %q location %q client %q bytes_out %d; want web, app, 127.0.0.1, %d",
				i, got.Server, got.Location, got.ClientIP, got.BytesOut, w.bodyLen)
		}
		var wantUA string // what encoding/json makes of it: invalid bytes become U+FFFD
		b, _ := json.Marshal(w.ua)
		_ = json.Unmarshal(b, &wantUA)
		if got.UserAgent != wantUA {
			t.Errorf("line %d: user_agent %q, want %q", i, got.UserAgent, wantUA)
		}
	}
}

// waitLogLines polls the file at path until it holds n complete lines
// (the writer flushes every second) and returns them; more lines fail.
func waitLogLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(reloadTimeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil && bytes.Count(data, []byte("\n")) >= n {
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != n {
				t.Fatalf("%d access log lines, want %d:\n%s", len(lines), n, data)
			}
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log %s: want %d lines after %s, have %q (err %v)", path, n, reloadTimeout, data, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
