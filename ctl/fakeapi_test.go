package ctl

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// fakeAPI is an in-memory admin API following the REST contract, for unit
// tests of the client and the commands. Tokens: "admin-token" may write,
// "read-token" may read; with no token configured every call passes.
type fakeAPI struct {
	mu       sync.Mutex
	versions []*pb.VersionInfo // oldest first
	snaps    []*pb.Snapshot
	nodes    []*pb.NodeStatus
	// onStatus, when set, is called (under mu) before /status answers.
	onStatus func(f *fakeAPI)
	// tokens maps tokens to roles ("admin", "read"); nil: no auth.
	tokens map[string]string
	// requests records "METHOD path?query" of every call.
	requests []string
	// lastBody and lastType are the last upload and its content type.
	lastBody []byte
	lastType string
	// invalid, when set, makes uploads fail with these errors.
	invalid config.ErrorList
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{tokens: map[string]string{"admin-token": "admin", "read-token": "read"}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func pj(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fakeAPI) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string, extra map[string]any) {
	body := map[string]any{"code": code, "message": msg}
	for k, v := range extra {
		body[k] = v
	}
	f.write(w, status, body)
}

func (f *fakeAPI) current() uint64 { return uint64(len(f.versions)) }

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if f.tokens != nil {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		role, ok := f.tokens[tok]
		switch {
		case !ok:
			f.fail(w, 401, "unauthorized", "missing or unknown token", nil)
			return
		case r.Method == http.MethodPost && role != "admin" && !strings.HasSuffix(r.URL.Path, "/diff"):
			f.fail(w, 403, "forbidden", "token role read may not write", nil)
			return
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/clusters/")
	if !ok {
		f.fail(w, 404, "not_found", "no such route", nil)
		return
	}
	_, route, _ := strings.Cut(rest, "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && route == "config":
		f.apply(w, r)
	case r.Method == http.MethodPost && route == "rollback":
		to, _ := strconv.ParseUint(q.Get("to"), 10, 64)
		if to == 0 || to > f.current() {
			f.fail(w, 404, "not_found", "no version "+q.Get("to"), nil)
			return
		}
		if iv := q.Get("if_version"); iv != "" && iv != strconv.FormatUint(f.current(), 10) {
			f.fail(w, 409, "conflict", "current version moved", map[string]any{"current_version": f.current()})
			return
		}
		f.store(f.snaps[to-1], q.Get("author"), q.Get("message"), to, w)
	case r.Method == http.MethodGet && route == "config":
		v := f.current()
		if s := q.Get("version"); s != "" {
			v, _ = strconv.ParseUint(s, 10, 64)
		}
		if v == 0 || v > f.current() {
			f.fail(w, 404, "not_found", "no version", nil)
			return
		}
		if q.Get("format") == "toml" {
			w.Header().Set("X-Pingap-Version", strconv.FormatUint(v, 10))
			_, _ = io.WriteString(w, "# fake TOML of version "+strconv.FormatUint(v, 10)+"\n")
			return
		}
		f.write(w, 200, map[string]any{"version": pj(f.versions[v-1]), "config": pj(f.snaps[v-1])})
	case r.Method == http.MethodGet && route == "versions":
		limit, _ := strconv.Atoi(q.Get("limit"))
		out := []json.RawMessage{}
		for i := len(f.versions) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
			out = append(out, pj(f.versions[i]))
		}
		f.write(w, 200, map[string]any{"versions": out})
	case r.Method == http.MethodPost && route == "diff":
		body, _ := io.ReadAll(r.Body)
		s, err := config.ValidateBytes(body, config.FormatJSON)
		if err != nil {
			f.fail(w, 400, "invalid_config", err.Error(), nil)
			return
		}
		f.write(w, 200, f.diff(f.current(), s))
	case r.Method == http.MethodGet && route == "diff":
		from, _ := strconv.ParseUint(q.Get("from"), 10, 64)
		to, _ := strconv.ParseUint(q.Get("to"), 10, 64)
		f.write(w, 200, f.diff(from, f.snaps[to-1]))
	case r.Method == http.MethodGet && route == "nodes":
		out := []json.RawMessage{}
		for _, n := range f.nodes {
			out = append(out, pj(n))
		}
		f.write(w, 200, map[string]any{"nodes": out})
	case r.Method == http.MethodGet && strings.HasPrefix(route, "nodes/"):
		id := strings.TrimPrefix(route, "nodes/")
		for _, n := range f.nodes {
			if n.GetNode().GetId() == id {
				f.write(w, 200, pj(n))
				return
			}
		}
		f.fail(w, 404, "not_found", "no node "+id, nil)
	case r.Method == http.MethodGet && route == "status":
		if f.onStatus != nil {
			f.onStatus(f)
		}
		f.write(w, 200, f.status())
	default:
		f.fail(w, 404, "not_found", "no route "+route, nil)
	}
}

func (f *fakeAPI) apply(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.lastBody, f.lastType = body, r.Header.Get("Content-Type")
	if f.invalid != nil {
		errs := []map[string]any{}
		for _, e := range f.invalid {
			errs = append(errs, map[string]any{"path": e.Path, "message": e.Msg})
		}
		f.fail(w, 400, "invalid_config", "1 validation errors", map[string]any{"errors": errs})
		return
	}
	format := config.FormatTOML
	if strings.Contains(f.lastType, "json") {
		format = config.FormatJSON
	}
	s, err := config.ValidateBytes(body, format)
	if err != nil {
		f.fail(w, 400, "invalid_config", err.Error(), nil)
		return
	}
	q := r.URL.Query()
	if iv := q.Get("if_version"); iv != "" && iv != strconv.FormatUint(f.current(), 10) {
		f.fail(w, 409, "conflict", "if_version "+iv+" but the current version is "+strconv.FormatUint(f.current(), 10),
			map[string]any{"current_version": f.current()})
		return
	}
	same := f.current() > 0 && config.Hash(f.snaps[f.current()-1]) == config.Hash(s)
	if q.Get("dry_run") == "true" {
		f.write(w, 200, map[string]any{"dry_run": true, "would_create": !same, "diff": f.diff(f.current(), s)["changes"],
			"current_version": f.current()})
		return
	}
	if same {
		f.write(w, 200, map[string]any{"created": false, "version": pj(f.versions[f.current()-1])})
		return
	}
	f.store(s, q.Get("author"), q.Get("message"), 0, w)
}

func (f *fakeAPI) store(s *pb.Snapshot, author, msg string, rollbackOf uint64, w http.ResponseWriter) {
	diff := f.diff(f.current(), s)
	v := &pb.VersionInfo{Cluster: "default", Version: f.current() + 1, Hash: config.Hash(s), Author: author, Message: msg,
		CreatedAt: timestamppb.Now(), Parent: f.current(), RollbackOf: rollbackOf}
	f.versions, f.snaps = append(f.versions, v), append(f.snaps, s)
	f.write(w, 201, map[string]any{"created": true, "version": pj(v), "diff": diff["changes"]})
}

// diff compares upstream names only: enough for the tests.
func (f *fakeAPI) diff(from uint64, to *pb.Snapshot) map[string]any {
	old := &pb.Snapshot{}
	if from > 0 {
		old = f.snaps[from-1]
	}
	changes := []map[string]any{}
	var text strings.Builder
	for name, u := range to.GetUpstreams() {
		o, ok := old.GetUpstreams()[name]
		switch {
		case !ok:
			changes = append(changes, map[string]any{"kind": "upstreams", "name": name, "op": "added"})
			text.WriteString("+[upstreams." + name + "]\n")
		case !proto.Equal(o, u):
			changes = append(changes, map[string]any{"kind": "upstreams", "name": name, "op": "changed",
				"fields": []map[string]any{{"path": "addrs", "from": strings.Join(o.GetAddrs(), ","), "to": strings.Join(u.GetAddrs(), ",")}}})
			text.WriteString("~[upstreams." + name + "]\n")
		}
	}
	for name := range old.GetUpstreams() {
		if _, ok := to.GetUpstreams()[name]; !ok {
			changes = append(changes, map[string]any{"kind": "upstreams", "name": name, "op": "removed"})
			text.WriteString("-[upstreams." + name + "]\n")
		}
	}
	return map[string]any{"from": from, "to": 0, "changes": changes, "text": text.String()}
}

func (f *fakeAPI) status() map[string]any {
	counts := map[string]int{"total": len(f.nodes)}
	nacks := []map[string]any{}
	for _, n := range f.nodes {
		counts[strings.ToLower(stateName(n.GetState()))]++
		if n.GetState() == pb.NodeState_NODE_STATE_NACKED {
			nacks = append(nacks, map[string]any{"node": n.GetNode().GetId(), "version": n.GetLastNack().GetVersion(),
				"error": n.GetLastNack().GetError()})
		}
	}
	return map[string]any{"cluster": "default", "current_version": f.current(), "nodes": counts, "nacks": nacks}
}

// node makes a node record.
func node(id string, state pb.NodeState, running uint64) *pb.NodeStatus {
	return &pb.NodeStatus{Node: &pb.Node{Id: id, Cluster: "default"}, State: state, RunningVersion: running,
		Connected: state != pb.NodeState_NODE_STATE_DISCONNECTED, LastSeen: timestamppb.Now(), ServerId: "cp-1"}
}
