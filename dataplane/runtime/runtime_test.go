package runtime

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden compiles each testdata/*.toml and compares the runtime's
// description with the .golden file next to it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			snap, _, err := config.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := Build(snap, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Release(nil)
			got := rt.Describe()
			golden := strings.TrimSuffix(f, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Fatalf("compiled runtime differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func mustDecode(t *testing.T, toml string) *pb.Snapshot {
	t.Helper()
	snap, _, err := config.Decode([]byte(toml), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// buildWith decodes toml and builds it after prev.
func buildWith(t *testing.T, toml string, prev *Runtime, opts Options) *Runtime {
	t.Helper()
	rt, err := Build(mustDecode(t, toml), prev, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

const base = `
[upstreams.a]
addrs = ["127.0.0.1:9001"]
[upstreams.b]
addrs = ["127.0.0.1:9002"]
[locations.l]
upstream = "a"
[locations.m]
path = "/m"
upstream = "b"
[servers.s]
addr = "127.0.0.1:8080"
locations = ["l", "m"]
`

func TestBuildCarriesUnchangedUpstreams(t *testing.T) {
	t.Parallel()
	first := buildWith(t, base, nil, Options{})
	defer first.Release(nil)
	changed := strings.Replace(base, `addrs = ["127.0.0.1:9002"]`, `addrs = ["127.0.0.1:9003"]`, 1)
	second := buildWith(t, changed, first, Options{})
	defer second.Release(nil)
	if first.Upstreams()["a"] != second.Upstreams()["a"] {
		t.Error("unchanged upstream a was rebuilt; its pool would be lost")
	}
	if first.Upstreams()["b"] == second.Upstreams()["b"] {
		t.Error("changed upstream b was carried over")
	}
	// A changed default pool size rebuilds upstreams that rely on it.
	third := buildWith(t, "[settings]\nupstream_keepalive_pool_size = 8\n"+changed, second, Options{})
	defer third.Release(nil)
	if third.Upstreams()["a"] == second.Upstreams()["a"] {
		t.Error("upstream a kept its pool though the default pool size changed")
	}
}

func TestBuildErrorsNamePlaces(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, cfg, want string }{
		{"dangling upstream", strings.Replace(base, `upstream = "b"`, `upstream = "zz"`, 1), `locations.m.upstream`},
		{"unknown plugin category", base + "[plugins.p]\ncategory = \"nope\"\n", `plugins.p.category`},
		{"bad trusted proxy", "[settings]\ntrusted_proxies = [\"10.0.0.0/99\"]\n" + base, `settings.trusted_proxies[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := Build(mustDecode(t, tt.cfg), nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
