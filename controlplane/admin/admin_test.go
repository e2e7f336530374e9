package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
)

// memStore is an in-memory Store for testing the HTTP layer alone.
type memStore struct {
	mu       sync.Mutex
	versions []*pb.VersionInfo
	snaps    []*pb.Snapshot
}

func (m *memStore) Apply(_ context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta) (*pb.VersionInfo, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := uint64(len(m.versions))
	if meta.IfVersion != nil && *meta.IfVersion != cur {
		return nil, false, errConflict
	}
	h := config.Hash(snap)
	if cur > 0 && m.versions[cur-1].GetHash() == h {
		return m.versions[cur-1], false, nil
	}
	info := &pb.VersionInfo{Cluster: cluster, Version: cur + 1, Hash: h, Author: meta.Author, Message: meta.Message, Parent: cur}
	m.versions = append(m.versions, info)
	m.snaps = append(m.snaps, snap)
	return info, true, nil
}

func (m *memStore) Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error) {
	m.mu.Lock()
	n := uint64(len(m.versions))
	m.mu.Unlock()
	return m.Get(ctx, cluster, n)
}

func (m *memStore) Get(_ context.Context, _ string, v uint64) (*pb.VersionInfo, *pb.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v == 0 || v > uint64(len(m.versions)) {
		return nil, nil, errNotFound
	}
	return m.versions[v-1], m.snaps[v-1], nil
}

func (m *memStore) Versions(context.Context, string, int) ([]*pb.VersionInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*pb.VersionInfo, 0, len(m.versions))
	for i := len(m.versions) - 1; i >= 0; i-- {
		out = append(out, m.versions[i])
	}
	return out, nil
}

func (m *memStore) Nodes(context.Context, string) ([]*pb.NodeStatus, error) {
	return []*pb.NodeStatus{{Node: &pb.Node{Id: "n1"}, State: pb.NodeState_NODE_STATE_SYNCED, RunningVersion: 1}}, nil
}

const good = `
[upstreams.u]
addrs = ["127.0.0.1:9001"]
[locations.l]
upstream = "u"
[servers.s]
addr = "127.0.0.1:8080"
locations = ["l"]
`

func do(t *testing.T, h http.Handler, method, path, body, ctype string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, &out); err != nil && rec.Code != 200 {
		t.Fatalf("%s %s: %d non-JSON body %q", method, path, rec.Code, b)
	}
	return rec.Code, out
}

func TestAPI(t *testing.T) {
	t.Parallel()
	api := New(&memStore{}, Options{
		IsNotFound: func(err error) bool { return errors.Is(err, errNotFound) },
		IsConflict: func(err error) bool { return errors.Is(err, errConflict) },
	})
	const base = "/api/v1/clusters/prod"
	if code, _ := do(t, api, "GET", base+"/config", "", ""); code != http.StatusNotFound {
		t.Fatalf("current before any apply: %d, want 404", code)
	}
	code, out := do(t, api, "POST", base+"/config?author=ann&message=first", good, "application/toml")
	if code != http.StatusCreated || out["created"] != true {
		t.Fatalf("first apply: %d %v", code, out)
	}
	if code, out = do(t, api, "POST", base+"/config", good, ""); code != http.StatusOK || out["created"] != false {
		t.Fatalf("identical apply: %d %v, want 200 created=false", code, out)
	}
	bad := strings.Replace(good, `upstream = "u"`, `upstream = "nope"`, 1) + "[locations.x]\npath = \"~(\"\nupstream = \"u\"\n"
	code, out = do(t, api, "POST", base+"/config", bad, "")
	errs, _ := out["errors"].([]any)
	if code != http.StatusBadRequest || out["code"] != "invalid_config" || len(errs) != 2 {
		t.Fatalf("invalid apply: %d %v, want 400 with 2 errors", code, out)
	}
	first := errs[0].(map[string]any)
	if first["path"] != "locations.l.upstream" || first["line"] != float64(5) {
		t.Errorf("first error %v, want locations.l.upstream at line 5", first)
	}
	changed := strings.Replace(good, "9001", "9002", 1)
	if code, out = do(t, api, "POST", base+"/config?if_version=7", changed, ""); code != http.StatusConflict || out["code"] != "conflict" {
		t.Fatalf("stale if_version: %d %v, want 409", code, out)
	}
	if code, _ = do(t, api, "POST", base+"/config?if_version=1", changed, ""); code != http.StatusCreated {
		t.Fatalf("matching if_version: %d", code)
	}
	// JSON body: protojson of a snapshot.
	snap, err := config.ValidateBytes([]byte(strings.Replace(good, "9001", "9003", 1)), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	js := string(marshal(snap))
	if code, _ = do(t, api, "POST", base+"/config", js, "application/json"); code != http.StatusCreated {
		t.Fatalf("JSON apply: %d", code)
	}
	code, out = do(t, api, "GET", base+"/versions/2", "", "")
	if code != http.StatusOK {
		t.Fatalf("get version 2: %d", code)
	}
	cfgJSON, _ := json.Marshal(out["config"])
	got, err := config.ValidateBytes(cfgJSON, config.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := config.ValidateBytes([]byte(changed), config.FormatTOML)
	if !proto.Equal(got, want) {
		t.Errorf("version 2 content differs from what was applied")
	}
	code, out = do(t, api, "GET", base+"/versions", "", "")
	if vs, _ := out["versions"].([]any); code != http.StatusOK || len(vs) != 3 {
		t.Fatalf("versions: %d %v", code, out)
	}
	if code, _ = do(t, api, "GET", base+"/versions/99", "", ""); code != http.StatusNotFound {
		t.Fatalf("missing version: %d", code)
	}
	if code, out = do(t, api, "GET", base+"/nodes", "", ""); code != http.StatusOK || len(out["nodes"].([]any)) != 1 {
		t.Fatalf("nodes: %d %v", code, out)
	}
}
