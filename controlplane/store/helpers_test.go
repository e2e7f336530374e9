package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// newStore opens a Store on the shared etcd under a prefix of its own for
// the test; every Store a test opens with the same prefix sees the same
// data, as replicas do.
func newStore(t *testing.T, mods ...func(*Config)) *Store {
	t.Helper()
	cfg := Config{Client: shared.Client(), Prefix: testPrefix(t), Logger: testLogger(t)}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Leave a clean prefix for the next run (go test -count).
	t.Cleanup(func() {
		_, _ = shared.Client().Delete(context.Background(), testPrefix(t)+"/", clientv3.WithPrefix())
	})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func testPrefix(t *testing.T) string { return "/test/" + t.Name() }

func withRetention(n int) func(*Config) { return func(c *Config) { c.Retention = n } }

// snap returns a small snapshot whose upstream "api" points at port.
func snap(port int) *pb.Snapshot {
	return &pb.Snapshot{
		Settings: &pb.Settings{Name: "test", GracePeriod: durationpb.New(0)},
		Servers: map[string]*pb.Server{
			"web": {Addr: "127.0.0.1:8080", Locations: []string{"api", "static"}},
		},
		Locations: map[string]*pb.Location{
			"api":    {Path: "/api", Upstream: "api", ProxySetHeaders: []string{"X-Env:prod"}},
			"static": {Path: "/", Upstream: "static"},
		},
		Upstreams: map[string]*pb.Upstream{
			"api":    {Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}},
			"static": {Addrs: []string{"127.0.0.1:9000"}},
		},
		Plugins: map[string]*pb.Plugin{"ping": {Category: "ping"}},
		Certificates: map[string]*pb.Certificate{
			"default": {Domains: []string{"example.com"}, TlsCert: "CERT", TlsKey: "KEY", IsDefault: true},
		},
	}
}

// largeSnap returns a snapshot of about n*8.2 KiB: n locations with long
// header lists and n upstreams.
func largeSnap(n int, tag string) *pb.Snapshot {
	s := &pb.Snapshot{
		Servers:   map[string]*pb.Server{"web": {Addr: "127.0.0.1:8080"}},
		Locations: make(map[string]*pb.Location, n),
		Upstreams: make(map[string]*pb.Upstream, n),
	}
	long := strings.Repeat("v", 400)
	for i := range n {
		name := fmt.Sprintf("svc%04d", i)
		headers := make([]string, 20)
		for j := range headers {
			headers[j] = fmt.Sprintf("X-%s-%d:%s%s", name, j, tag, long)
		}
		s.Servers["web"].Locations = append(s.Servers["web"].Locations, name)
		s.Locations[name] = &pb.Location{Path: "/" + name, Upstream: name, ProxySetHeaders: headers}
		s.Upstreams[name] = &pb.Upstream{Addrs: []string{fmt.Sprintf("10.0.%d.%d:80", i/250, i%250)}}
	}
	return s
}

// countKeys counts the keys under the store's prefix plus sub.
func countKeys(t *testing.T, s *Store, sub string) int {
	t.Helper()
	resp, err := s.client.Get(t.Context(), s.keys.prefix+sub, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.Count)
}

func u64(v uint64) *uint64 { return &v }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
