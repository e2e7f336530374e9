package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

const base = "/api/v1/clusters/prod"

// changed returns the good config with upstream u on another port.
func changed(port string) string { return strings.Replace(good, "9001", port, 1) }

func mustSnap(t *testing.T, toml string) *pb.Snapshot {
	t.Helper()
	s, err := config.ValidateBytes([]byte(toml), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApplyAndGet(t *testing.T) {
	t.Parallel()
	api := newAPI(t, newMemStore(), Options{})
	if r := do(t, api, req{method: "GET", path: base + "/config"}); r.code != http.StatusNotFound || r.str("code") != "not_found" {
		t.Fatalf("current before any apply: %d %s, want 404 not_found", r.code, r.body)
	}
	r := apply(t, api, base+"/config?author=ann&message=first", good, http.StatusCreated)
	if r.json["created"] != true || len(r.list("diff")) != 3 {
		t.Fatalf("first apply: %s, want created with 3 added objects", r.body)
	}
	version := r.json["version"].(map[string]any)
	if version["version"] != "1" || version["author"] != "ann" || version["message"] != "first" {
		t.Errorf("version %v, want version \"1\" (protojson uint64) by ann", version)
	}
	if r = apply(t, api, base+"/config", good, http.StatusOK); r.json["created"] != false {
		t.Fatalf("identical apply: %s, want created false", r.body)
	}
	r = apply(t, api, base+"/config", changed("9002"), http.StatusCreated)
	diff := r.list("diff")
	if len(diff) != 1 || diff[0].(map[string]any)["kind"] != "upstreams" || diff[0].(map[string]any)["op"] != "changed" {
		t.Fatalf("diff of the second apply: %v", diff)
	}
	// A JSON body: the protojson form of a snapshot.
	js, err := json.Marshal(protoJSON{mustSnap(t, changed("9003"))})
	if err != nil {
		t.Fatal(err)
	}
	if r = do(t, api, req{method: "POST", path: base + "/config", body: string(js), header: map[string]string{"Content-Type": "application/json"}}); r.code != http.StatusCreated {
		t.Fatalf("JSON apply: %d %s", r.code, r.body)
	}
	for _, path := range []string{base + "/versions/2", base + "/config?version=2"} {
		r = do(t, api, req{method: "GET", path: path})
		if r.code != http.StatusOK || r.header.Get("X-Pingap-Version") != "2" || r.header.Get("ETag") != `"2"` {
			t.Fatalf("GET %s: %d %v", path, r.code, r.header)
		}
		cfg, _ := json.Marshal(r.json["config"])
		got, err := config.ValidateBytes(cfg, config.FormatJSON)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, mustSnap(t, changed("9002"))) {
			t.Errorf("GET %s: content differs from what was applied", path)
		}
	}
	r = do(t, api, req{method: "GET", path: base + "/versions"})
	if vs := r.list("versions"); r.code != http.StatusOK || len(vs) != 3 || vs[0].(map[string]any)["version"] != "3" {
		t.Fatalf("versions: %d %s, want 3, newest first", r.code, r.body)
	}
	if vs := do(t, api, req{method: "GET", path: base + "/versions?limit=1"}).list("versions"); len(vs) != 1 {
		t.Fatalf("versions?limit=1: %v", vs)
	}
	if r = do(t, api, req{method: "GET", path: base + "/versions/99"}); r.code != http.StatusNotFound || r.str("code") != "not_found" {
		t.Fatalf("missing version: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "GET", path: "/api/v1/clusters"}); r.code != http.StatusOK || len(r.list("clusters")) != 1 || r.list("clusters")[0] != "prod" {
		t.Fatalf("clusters: %d %s", r.code, r.body)
	}
}

func TestGetTOML(t *testing.T) {
	t.Parallel()
	api := newAPI(t, newMemStore(), Options{})
	src := good + "[settings]\nname = \"x\"\ngrace_period = \"1m30s\"\n[upstreams.u.outlier_detection]\nconsecutive_failures = 3\n"
	apply(t, api, base+"/config", src, http.StatusCreated)
	for _, rq := range []req{
		{method: "GET", path: base + "/config?format=toml"},
		{method: "GET", path: base + "/versions/1?format=toml"},
		{method: "GET", path: base + "/config", header: map[string]string{"Accept": "application/toml"}},
	} {
		r := do(t, api, rq)
		if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/toml" || r.header.Get("X-Pingap-Version") != "1" {
			t.Fatalf("GET %s: %d %v", rq.path, r.code, r.header)
		}
		back, err := config.ValidateBytes(r.body, config.FormatTOML)
		if err != nil {
			t.Fatalf("TOML output does not validate: %v\n%s", err, r.body)
		}
		if !proto.Equal(back, mustSnap(t, src)) {
			t.Errorf("TOML output decodes to other content:\n%s", r.body)
		}
	}
	if r := do(t, api, req{method: "GET", path: base + "/config?format=yaml"}); r.code != http.StatusBadRequest || r.str("code") != "bad_request" {
		t.Errorf("format=yaml: %d %s", r.code, r.body)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	api := newAPI(t, st, Options{})
	r := apply(t, api, base+"/config?dry_run=true", good, http.StatusOK)
	if r.json["dry_run"] != true || r.json["would_create"] != true || r.json["current_version"] != float64(0) || len(r.list("diff")) != 3 {
		t.Fatalf("dry run on an empty cluster: %s", r.body)
	}
	if vs, _ := st.Versions(t.Context(), "prod", 0); len(vs) != 0 {
		t.Fatalf("dry run stored %d versions", len(vs))
	}
	apply(t, api, base+"/config", good, http.StatusCreated)
	r = apply(t, api, base+"/config?dry_run=true", good, http.StatusOK)
	if r.json["would_create"] != false || len(r.list("diff")) != 0 || r.json["current_version"] != float64(1) {
		t.Fatalf("dry run of the current content: %s", r.body)
	}
	r = apply(t, api, base+"/config?dry_run=1&if_version=1", changed("9002"), http.StatusOK)
	if r.json["would_create"] != true || len(r.list("diff")) != 1 {
		t.Fatalf("dry run of a change: %s", r.body)
	}
	r = apply(t, api, base+"/config?dry_run=true&if_version=5", changed("9002"), http.StatusConflict)
	if r.str("code") != "conflict" || r.json["current_version"] != float64(1) {
		t.Fatalf("dry run with a stale if_version: %s", r.body)
	}
	apply(t, api, base+"/config?dry_run=true", "[servers.s]\n", http.StatusBadRequest)
	apply(t, api, base+"/config?dry_run=maybe", good, http.StatusBadRequest)
	if vs, _ := st.Versions(t.Context(), "prod", 0); len(vs) != 1 {
		t.Fatalf("dry runs stored versions: %d, want 1", len(vs))
	}
}

func TestConcurrencyControl(t *testing.T) {
	t.Parallel()
	api := newAPI(t, newMemStore(), Options{})
	apply(t, api, base+"/config?if_version=0", good, http.StatusCreated)
	tests := []struct {
		desc   string
		query  string
		header string
		want   int
	}{
		{"stale if_version", "?if_version=7", "", http.StatusConflict},
		{"stale If-Match", "", `"7"`, http.StatusConflict},
		{"If-Match and if_version disagree", "?if_version=1", `"2"`, http.StatusBadRequest},
		{"malformed If-Match", "", `"abc"`, http.StatusBadRequest},
		{"malformed if_version", "?if_version=x", "", http.StatusBadRequest},
		{"matching If-Match", "", `"1"`, http.StatusCreated},
		{"matching weak If-Match and if_version", "?if_version=2", `W/"2"`, http.StatusCreated},
	}
	port := 9100
	for _, tt := range tests { // sequential: each may change the version
		port++
		h := map[string]string{}
		if tt.header != "" {
			h["If-Match"] = tt.header
		}
		r := do(t, api, req{method: "POST", path: base + "/config" + tt.query, body: changed(strconv.Itoa(port)), header: h})
		if r.code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.desc, r.code, r.body, tt.want)
		}
		if tt.want == http.StatusConflict && (r.str("code") != "conflict" || r.json["current_version"] != float64(1)) {
			t.Errorf("%s: %s, want code conflict and current_version 1", tt.desc, r.body)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	api := newAPI(t, st, Options{MaxBody: 1 << 10})
	bad := strings.Replace(good, `upstream = "u"`, `upstream = "nope"`, 1) + "[locations.x]\npath = \"~(\"\nupstream = \"u\"\n"
	for _, path := range []string{base + "/config", base + "/validate", base + "/diff"} {
		r := apply(t, api, path, bad, http.StatusBadRequest)
		errs := r.list("errors")
		if r.str("code") != "invalid_config" || len(errs) != 2 || r.str("message") == "" {
			t.Fatalf("POST %s invalid: %s, want invalid_config with 2 errors", path, r.body)
		}
		first := errs[0].(map[string]any)
		if first["path"] != "locations.l.upstream" || first["line"] != float64(5) || first["message"] == "" {
			t.Errorf("first error %v, want locations.l.upstream at line 5", first)
		}
	}
	tests := []struct {
		desc string
		rq   req
		code int
		want string
	}{
		{"body too large", req{method: "POST", path: base + "/config", body: good + "#" + strings.Repeat("x", 2000)}, 413, "body_too_large"},
		{"bad limit", req{method: "GET", path: base + "/versions?limit=0"}, 400, "bad_request"},
		{"bad version", req{method: "GET", path: base + "/versions/x"}, 400, "bad_request"},
		{"unknown endpoint", req{method: "GET", path: "/api/v1/nope"}, 404, "not_found"},
		{"wrong method", req{method: "DELETE", path: base + "/config"}, 405, "method_not_allowed"},
		{"unknown node", req{method: "GET", path: base + "/nodes/nope"}, 404, "not_found"},
		{"JSON syntax", req{method: "POST", path: base + "/validate", body: "{", header: map[string]string{"Content-Type": "application/json"}}, 400, "invalid_config"},
	}
	for _, tt := range tests {
		r := do(t, api, tt.rq)
		if r.code != tt.code || r.str("code") != tt.want || r.str("message") == "" {
			t.Errorf("%s: %d %s, want %d %s", tt.desc, r.code, r.body, tt.code, tt.want)
		}
	}
	if r := do(t, api, req{method: "DELETE", path: base + "/config"}); r.header.Get("Allow") != "GET, POST" {
		t.Errorf("405 Allow header %q, want GET, POST", r.header.Get("Allow"))
	}
	st.mu.Lock()
	st.broken = true
	st.mu.Unlock()
	if r := do(t, api, req{method: "POST", path: base + "/config", body: good}); r.code != 500 || r.str("code") != "internal" {
		t.Errorf("broken store: %d %s, want 500 internal", r.code, r.body)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	api := newAPI(t, st, Options{})
	r := apply(t, api, base+"/validate", good, http.StatusOK)
	if r.json["valid"] != true || r.str("hash") != config.Hash(mustSnap(t, good)) {
		t.Fatalf("validate: %s", r.body)
	}
	if vs, _ := st.Versions(t.Context(), "prod", 0); len(vs) != 0 {
		t.Fatal("validate stored a version")
	}
}

func TestDiffEndpoints(t *testing.T) {
	t.Parallel()
	api := newAPI(t, newMemStore(), Options{})
	if r := do(t, api, req{method: "GET", path: base + "/diff"}); r.code != http.StatusNotFound {
		t.Fatalf("diff without versions: %d %s", r.code, r.body)
	}
	r := apply(t, api, base+"/diff", good, http.StatusOK)
	if r.json["from"] != float64(0) || r.json["to"] != float64(0) || len(r.list("changes")) != 3 || !strings.Contains(r.str("text"), "+ upstreams.u") {
		t.Fatalf("candidate diff on an empty cluster: %s", r.body)
	}
	apply(t, api, base+"/config", good, http.StatusCreated)
	apply(t, api, base+"/config", changed("9002"), http.StatusCreated)
	apply(t, api, base+"/config", changed("9002")+"[upstreams.extra]\naddrs = [\"10.0.0.1:80\"]\n", http.StatusCreated)
	tests := []struct {
		query    string
		from, to float64
		text     string
	}{
		{"", 2, 3, "+ upstreams.extra\n    addrs = [\"10.0.0.1:80\"]\n"},
		{"?to=2", 1, 2, "~ upstreams.u\n    addrs: [\"127.0.0.1:9001\"] -> [\"127.0.0.1:9002\"]\n"},
		{"?from=1&to=1", 1, 1, ""},
		{"?to=1", 0, 1, "+ servers.s"},
		{"?from=3&to=2", 3, 2, "- upstreams.extra\n"},
	}
	for _, tt := range tests {
		r := do(t, api, req{method: "GET", path: base + "/diff" + tt.query})
		if r.code != http.StatusOK || r.json["from"] != tt.from || r.json["to"] != tt.to || !strings.HasPrefix(r.str("text"), tt.text) {
			t.Errorf("GET diff%s: %d %s, want from %v to %v text %q", tt.query, r.code, r.body, tt.from, tt.to, tt.text)
		}
		if _, ok := r.json["changes"].([]any); !ok {
			t.Errorf("GET diff%s: changes is not a list: %s", tt.query, r.body)
		}
	}
	for _, q := range []string{"?from=9", "?to=9"} {
		if r := do(t, api, req{method: "GET", path: base + "/diff" + q}); r.code != http.StatusNotFound {
			t.Errorf("GET diff%s: %d, want 404", q, r.code)
		}
	}
	if r := do(t, api, req{method: "GET", path: base + "/diff?from=x"}); r.code != http.StatusBadRequest {
		t.Errorf("GET diff?from=x: %d, want 400", r.code)
	}
	r = apply(t, api, base+"/diff", good, http.StatusOK)
	if r.json["from"] != float64(3) || r.json["to"] != float64(0) || len(r.list("changes")) != 2 {
		t.Errorf("candidate diff: %s", r.body)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	api := newAPI(t, newMemStore(), Options{})
	if r := do(t, api, req{method: "POST", path: base + "/rollback"}); r.code != http.StatusNotFound {
		t.Fatalf("rollback without versions: %d %s", r.code, r.body)
	}
	apply(t, api, base+"/config", good, http.StatusCreated)
	if r := do(t, api, req{method: "POST", path: base + "/rollback"}); r.code != http.StatusBadRequest {
		t.Fatalf("rollback of the first version: %d %s", r.code, r.body)
	}
	apply(t, api, base+"/config", changed("9002"), http.StatusCreated)
	r := do(t, api, req{method: "POST", path: base + "/rollback?author=bob&message=bad+deploy"})
	v, _ := r.json["version"].(map[string]any)
	if r.code != http.StatusCreated || r.json["created"] != true || v["version"] != "3" || v["rollback_of"] != "1" || v["author"] != "bob" {
		t.Fatalf("rollback to the parent: %d %s", r.code, r.body)
	}
	if len(r.list("diff")) != 1 {
		t.Errorf("rollback diff: %s", r.body)
	}
	if r = do(t, api, req{method: "POST", path: base + "/rollback?to=1"}); r.code != http.StatusOK || r.json["created"] != false {
		t.Fatalf("rollback to the current content: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "POST", path: base + "/rollback?to=9"}); r.code != http.StatusNotFound || r.str("code") != "not_found" {
		t.Fatalf("rollback to an unknown version: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "POST", path: base + "/rollback?to=2&if_version=2"}); r.code != http.StatusConflict || r.json["current_version"] != float64(3) {
		t.Fatalf("rollback with a stale if_version: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "POST", path: base + "/rollback?to=2", header: map[string]string{"If-Match": `"3"`}}); r.code != http.StatusCreated {
		t.Fatalf("rollback with a matching If-Match: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "POST", path: base + "/rollback?to=0"}); r.code != http.StatusBadRequest {
		t.Fatalf("rollback to=0: %d %s", r.code, r.body)
	}
}

func TestFleet(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	st.nodes["prod"] = []*pb.NodeStatus{
		{Node: &pb.Node{Id: "a", Labels: map[string]string{"zone": "x"}}, State: pb.NodeState_NODE_STATE_SYNCED, RunningVersion: 2, Connected: true},
		{Node: &pb.Node{Id: "b"}, State: pb.NodeState_NODE_STATE_NACKED, RunningVersion: 1, Connected: true,
			LastNack: &pb.NackInfo{Version: 2, Error: "listen tcp :80: address in use"}},
		{Node: &pb.Node{Id: "c"}, State: pb.NodeState_NODE_STATE_PENDING, Connected: true},
		{Node: &pb.Node{Id: "d"}, State: pb.NodeState_NODE_STATE_DISCONNECTED},
	}
	api := newAPI(t, st, Options{})
	apply(t, api, base+"/config", good, http.StatusCreated)
	apply(t, api, base+"/config", changed("9002"), http.StatusCreated)
	r := do(t, api, req{method: "GET", path: base + "/nodes"})
	if nodes := r.list("nodes"); r.code != http.StatusOK || len(nodes) != 4 || nodes[1].(map[string]any)["state"] != "NODE_STATE_NACKED" {
		t.Fatalf("nodes: %d %s", r.code, r.body)
	}
	r = do(t, api, req{method: "GET", path: base + "/nodes/a"})
	if n, _ := r.json["node"].(map[string]any); r.code != http.StatusOK || n["id"] != "a" || r.json["running_version"] != "2" {
		t.Fatalf("node a: %d %s", r.code, r.body)
	}
	if r = do(t, api, req{method: "GET", path: "/api/v1/clusters/other/nodes"}); r.code != http.StatusOK || len(r.list("nodes")) != 0 {
		t.Fatalf("nodes of an empty cluster: %d %s, want an empty list", r.code, r.body)
	}
	r = do(t, api, req{method: "GET", path: base + "/status"})
	var status statusResult
	if err := json.Unmarshal(r.body, &status); err != nil || r.code != http.StatusOK {
		t.Fatalf("status: %d %s %v", r.code, r.body, err)
	}
	want := statusResult{Cluster: "prod", CurrentVersion: 2,
		Nodes: nodeCounts{Total: 4, Synced: 1, Pending: 1, Nacked: 1, Disconnected: 1},
		Nacks: []nackResult{{Node: "b", Version: 2, Error: "listen tcp :80: address in use"}}}
	if b1, b2 := mustJSON(t, status), mustJSON(t, want); b1 != b2 {
		t.Errorf("status %s, want %s", b1, b2)
	}
	if r = do(t, api, req{method: "GET", path: "/api/v1/clusters/other/status"}); r.code != http.StatusOK || r.json["current_version"] != float64(0) {
		t.Errorf("status of an empty cluster: %d %s", r.code, r.body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ready := error(nil)
	api := newAPI(t, newMemStore(), Options{
		Tokens: []Token{{Secret: "s3cret", Role: RoleAdmin, Name: "ci"}},
		Ready:  func(ctx context.Context) error { return ready },
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := do(t, api, req{method: "GET", path: path}); r.code != http.StatusOK || string(r.body) != "ok\n" {
			t.Errorf("GET %s without a token: %d %q", path, r.code, r.body)
		}
	}
	ready = errBroken
	if r := do(t, api, req{method: "GET", path: "/readyz"}); r.code != http.StatusServiceUnavailable || r.str("code") != "unavailable" {
		t.Errorf("readyz with a broken store: %d %s", r.code, r.body)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	logs := &syncbuf.Buffer{}
	api := newAPI(t, newMemStore(), Options{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Tokens: []Token{{Secret: "admin-secret", Role: RoleAdmin, Name: "ci"}, {Secret: "read-secret", Role: RoleRead, Name: "dashboard"}},
	})
	admin := map[string]string{"Authorization": "Bearer admin-secret"}
	read := map[string]string{"Authorization": "bearer read-secret"}
	tests := []struct {
		desc string
		rq   req
		code int
		want string
	}{
		{"no token", req{method: "GET", path: base + "/versions"}, 401, "unauthorized"},
		{"unknown token", req{method: "GET", path: base + "/versions", header: map[string]string{"Authorization": "Bearer nope"}}, 401, "unauthorized"},
		{"other scheme", req{method: "GET", path: base + "/versions", header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "unauthorized"},
		{"prefix of a token", req{method: "GET", path: base + "/versions", header: map[string]string{"Authorization": "Bearer admin"}}, 401, "unauthorized"},
		{"read token reads", req{method: "GET", path: base + "/versions", header: read}, 200, ""},
		{"read token lists clusters", req{method: "GET", path: "/api/v1/clusters", header: read}, 200, ""},
		{"read token validates", req{method: "POST", path: base + "/validate", body: good, header: read}, 200, ""},
		{"read token diffs a candidate", req{method: "POST", path: base + "/diff", body: good, header: read}, 200, ""},
		{"read token applies", req{method: "POST", path: base + "/config", body: good, header: read}, 403, "forbidden"},
		{"read token rolls back", req{method: "POST", path: base + "/rollback?to=1", header: read}, 403, "forbidden"},
		{"admin token applies", req{method: "POST", path: base + "/config", body: good, header: admin}, 201, ""},
		{"admin token reads", req{method: "GET", path: base + "/config", header: admin}, 200, ""},
		{"no token applies", req{method: "POST", path: base + "/config", body: good}, 401, "unauthorized"},
	}
	for _, tt := range tests { // sequential: the apply changes the store
		r := do(t, api, tt.rq)
		if r.code != tt.code || r.str("code") != tt.want {
			t.Errorf("%s: %d %s, want %d %q", tt.desc, r.code, r.body, tt.code, tt.want)
		}
		if tt.code == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q, want Bearer", tt.desc, r.header.Get("WWW-Authenticate"))
		}
	}
	r := do(t, api, req{method: "GET", path: base + "/versions/1", header: read})
	if v := r.json["version"].(map[string]any); v["author"] != "ci" {
		t.Errorf("author %v, want the token's name ci", v["author"])
	}
	out := logs.String()
	if strings.Contains(out, "admin-secret") || strings.Contains(out, "read-secret") {
		t.Errorf("a token was logged:\n%s", out)
	}
	if !strings.Contains(out, "token=dashboard") || !strings.Contains(out, "token=ci") {
		t.Errorf("logs do not name the tokens:\n%s", out)
	}
	if strings.Contains(out, "without authentication") {
		t.Errorf("warned about no authentication with tokens set")
	}
}

func TestNoAuth(t *testing.T) {
	t.Parallel()
	logs := &syncbuf.Buffer{}
	api := newAPI(t, newMemStore(), Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "admin API without authentication") {
		t.Errorf("no warning about the missing authentication:\n%s", logs)
	}
	apply(t, api, base+"/config", good, http.StatusCreated)
	r := do(t, api, req{method: "GET", path: base + "/config", header: map[string]string{"Authorization": "Bearer anything"}})
	if r.code != http.StatusOK {
		t.Errorf("read without auth: %d", r.code)
	}
}

func TestTokensFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens")
	content := "# admin API tokens\n\nAAA admin ci\nBBB\tread\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	api := newAPI(t, newMemStore(), Options{TokensFile: path, Tokens: []Token{{Secret: "CCC", Role: RoleRead}}})
	for token, want := range map[string]int{"AAA": 200, "BBB": 403, "CCC": 403, "DDD": 401} {
		r := do(t, api, req{method: "POST", path: base + "/config?dry_run=true", body: good, header: map[string]string{"Authorization": "Bearer " + token}})
		if r.code != want {
			t.Errorf("token %s: %d %s, want %d", token, r.code, r.body, want)
		}
	}
	if _, err := New(newMemStore(), Options{TokensFile: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("New with a missing tokens file succeeded")
	}
	dup := filepath.Join(t.TempDir(), "dup")
	_ = os.WriteFile(dup, []byte("AAA admin\nAAA read\n"), 0o600)
	if _, err := New(newMemStore(), Options{TokensFile: dup}); err == nil || strings.Contains(err.Error(), "AAA") {
		t.Errorf("duplicate tokens: %v, want an error that does not show the token", err)
	}
}

func TestParseTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     []Token
		err      string
	}{
		{"empty", "", nil, ""},
		{"comments and names", "# c\nt1 admin alice\n  t2 read  \n", []Token{{"t1", RoleAdmin, "alice"}, {"t2", RoleRead, "token-3"}}, ""},
		{"unknown role", "t1 root\n", nil, "line 1: role \"root\""},
		{"missing role", "\nt1\n", nil, "line 2: want TOKEN ROLE [NAME]"},
		{"too many fields", "t1 read a b\n", nil, "line 1"},
	}
	for _, tt := range tests {
		got, err := ParseTokens(strings.NewReader(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "t1") {
				t.Errorf("%s: error %v, want %q without the token", tt.desc, err, tt.err)
			}
			continue
		}
		if err != nil || mustJSON(t, got) != mustJSON(t, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.desc, got, err, tt.want)
		}
	}
	envTests := []struct {
		in   string
		want []Token
		ok   bool
	}{
		{"", nil, true},
		{"a:admin,b:read:dash", []Token{{"a", RoleAdmin, "env-token-1"}, {"b", RoleRead, "dash"}}, true},
		{"a:admin, ,b:read", []Token{{"a", RoleAdmin, "env-token-1"}, {"b", RoleRead, "env-token-3"}}, true},
		{"a", nil, false},
		{"a:root", nil, false},
		{":admin", nil, false},
	}
	for _, tt := range envTests {
		got, err := ParseTokensEnv(tt.in)
		if (err == nil) != tt.ok || mustJSON(t, got) != mustJSON(t, tt.want) {
			t.Errorf("ParseTokensEnv(%q) = %v, %v", tt.in, got, err)
		}
	}
}
