package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
	errBroken   = errors.New("store is broken")
)

// memStore is an in-memory Store for testing the HTTP layer alone. Version
// n of a cluster is versions[n-1].
type memStore struct {
	mu       sync.Mutex
	clusters map[string]*memCluster
	nodes    map[string][]*pb.NodeStatus
	// broken makes every call fail with errBroken.
	broken bool
}

type memCluster struct {
	versions []*pb.VersionInfo
	snaps    []*pb.Snapshot
}

func newMemStore() *memStore {
	return &memStore{clusters: make(map[string]*memCluster), nodes: make(map[string][]*pb.NodeStatus)}
}

func (m *memStore) cluster(name string) *memCluster {
	c := m.clusters[name]
	if c == nil {
		c = &memCluster{}
		m.clusters[name] = c
	}
	return c
}

func (m *memStore) Apply(_ context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta) (*pb.VersionInfo, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(cluster, snap, meta, 0)
}

func (m *memStore) apply(cluster string, snap *pb.Snapshot, meta ApplyMeta, rollbackOf uint64) (*pb.VersionInfo, bool, error) {
	if m.broken {
		return nil, false, errBroken
	}
	c := m.cluster(cluster)
	cur := uint64(len(c.versions))
	if meta.IfVersion != nil && *meta.IfVersion != cur {
		return nil, false, errConflict
	}
	h := config.Hash(snap)
	if cur > 0 && c.versions[cur-1].GetHash() == h {
		return c.versions[cur-1], false, nil
	}
	info := &pb.VersionInfo{Cluster: cluster, Version: cur + 1, Hash: h, Author: meta.Author, Message: meta.Message, Parent: cur, RollbackOf: rollbackOf}
	c.versions = append(c.versions, info)
	c.snaps = append(c.snaps, snap)
	return info, true, nil
}

func (m *memStore) Rollback(_ context.Context, cluster string, to uint64, meta ApplyMeta) (*pb.VersionInfo, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cluster(cluster)
	if to == 0 || to > uint64(len(c.versions)) {
		return nil, false, errNotFound
	}
	return m.apply(cluster, c.snaps[to-1], meta, to)
}

func (m *memStore) Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error) {
	m.mu.Lock()
	n := uint64(len(m.cluster(cluster).versions))
	m.mu.Unlock()
	return m.Get(ctx, cluster, n)
}

func (m *memStore) Get(_ context.Context, cluster string, v uint64) (*pb.VersionInfo, *pb.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken {
		return nil, nil, errBroken
	}
	c := m.cluster(cluster)
	if v == 0 || v > uint64(len(c.versions)) {
		return nil, nil, errNotFound
	}
	return c.versions[v-1], c.snaps[v-1], nil
}

func (m *memStore) Versions(_ context.Context, cluster string, limit int) ([]*pb.VersionInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken {
		return nil, errBroken
	}
	c := m.cluster(cluster)
	out := make([]*pb.VersionInfo, 0, len(c.versions))
	for i := len(c.versions) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, c.versions[i])
	}
	return out, nil
}

func (m *memStore) Clusters(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for name, c := range m.clusters {
		if len(c.versions) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStore) Nodes(_ context.Context, cluster string) ([]*pb.NodeStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodes[cluster], nil
}

func (m *memStore) Node(_ context.Context, cluster, id string) (*pb.NodeStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nodes[cluster] {
		if n.GetNode().GetId() == id {
			return n, nil
		}
	}
	return nil, errNotFound
}

// newAPI returns an API over st with opts and the test store's error
// classes.
func newAPI(t *testing.T, st Store, opts Options) *API {
	t.Helper()
	opts.IsNotFound = func(err error) bool { return errors.Is(err, errNotFound) }
	opts.IsConflict = func(err error) bool { return errors.Is(err, errConflict) }
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	}
	api, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return api
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

// req describes one request.
type req struct {
	method, path, body string
	header             map[string]string
}

// resp is a recorded answer; json holds the body decoded when it is JSON.
type resp struct {
	code   int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r resp) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

func (r resp) list(key string) []any {
	l, _ := r.json[key].([]any)
	return l
}

// do sends a request; a JSON content type must come with a JSON body.
func do(t *testing.T, h http.Handler, rq req) resp {
	t.Helper()
	hr := httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	b, _ := io.ReadAll(rec.Body)
	out := resp{code: rec.Code, header: rec.Header(), body: b}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out.json); err != nil {
			t.Fatalf("%s %s: %d invalid JSON %q: %v", rq.method, rq.path, rec.Code, b, err)
		}
	}
	return out
}

// apply applies a TOML config and fails unless the answer is want.
func apply(t *testing.T, h http.Handler, path, body string, want int) resp {
	t.Helper()
	r := do(t, h, req{method: "POST", path: path, body: body})
	if r.code != want {
		t.Fatalf("POST %s: %d %s, want %d", path, r.code, r.body, want)
	}
	return r
}
