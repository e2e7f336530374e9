package runtime

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// lifecycle is a plugin registry whose "ping" factory counts builds and
// the cleanups its instances run, and fails for a plugin named "broken".
type lifecycle struct {
	builds int
	closed map[string]int
}

func (l *lifecycle) registry() *plugin.Registry {
	r := plugin.NewRegistry()
	r.Register("ping", func(ctx plugin.BuildContext, name string, _ *pb.Plugin) (plugin.Middleware, error) {
		l.builds++
		ctx.Cleanup(func() { l.closed[name]++ })
		if name == "uses_b" && ctx.Upstream("b") == nil {
			return nil, errors.New("no upstream b")
		}
		if name == "broken" {
			return nil, errors.New("cannot build")
		}
		return func(next http.Handler) http.Handler { return next }, nil
	})
	return r
}

const pluginBase = base + `
[plugins.a]
category = "ping"
[plugins.b]
category = "ping"
path = "/b"
`

// A reload keeps plugin instances whose config did not change (their
// state survives), rebuilds changed ones and closes what it replaced.
func TestPluginsCarryOverAndClose(t *testing.T) {
	t.Parallel()
	l := &lifecycle{closed: map[string]int{}}
	opts := Options{Plugins: l.registry()}
	first := buildWith(t, pluginBase, nil, opts)
	if l.builds != 2 {
		t.Fatalf("first build made %d plugin instances, want 2", l.builds)
	}
	second := buildWith(t, strings.Replace(pluginBase, `path = "/b"`, `path = "/b2"`, 1), first, opts)
	if l.builds != 3 {
		t.Fatalf("reload with one changed plugin made %d instances in all, want 3", l.builds)
	}
	if first.plugins["a"] != second.plugins["a"] || first.plugins["b"] == second.plugins["b"] {
		t.Fatal("unchanged plugin a must be carried over and changed plugin b rebuilt")
	}
	first.Retire(second)
	if l.closed["b"] != 0 {
		t.Fatal("Retire ran the cleanups of plugins that requests in flight may still use")
	}
	first.Release(second)
	if l.closed["a"] != 0 || l.closed["b"] != 1 {
		t.Fatalf("after retiring the first config: closed %v, want only b's old instance", l.closed)
	}

	// New trusted proxies change how plugins resolve clients: rebuild all.
	third := buildWith(t, "[settings]\ntrusted_proxies = [\"10.0.0.0/8\"]\n"+pluginBase, second, opts)
	if third.plugins["a"] == second.plugins["a"] {
		t.Fatal("plugin a carried over although trusted_proxies changed")
	}
	second.Release(third)
	third.Release(nil)
	if l.closed["a"] != 2 || l.closed["b"] != 3 {
		t.Fatalf("after shutdown: closed %v, want a:2 b:3 (every instance once)", l.closed)
	}
}

// A failed build closes the instances it made and leaves the previous
// runtime's instances alone.
func TestPluginsFailedBuildReleases(t *testing.T) {
	t.Parallel()
	l := &lifecycle{closed: map[string]int{}}
	opts := Options{Plugins: l.registry()}
	first := buildWith(t, pluginBase, nil, opts)
	defer first.Release(nil)
	cfg := strings.Replace(pluginBase, `path = "/b"`, `path = "/c"`, 1) + "[plugins.broken]\ncategory = \"ping\"\n"
	if _, err := Build(mustDecode(t, cfg), first, opts); err == nil || !strings.Contains(err.Error(), "plugins.broken") {
		t.Fatalf("Build error %v, want one naming plugins.broken", err)
	}
	if l.closed["a"] != 0 || l.closed["b"] != 1 || l.closed["broken"] != 1 {
		t.Fatalf("closed %v, want the failed build's b and broken only", l.closed)
	}
}

// A plugin that uses an upstream (traffic splitting) is rebuilt when that
// upstream is, so it never keeps a closed one.
func TestPluginsFollowTheirUpstreams(t *testing.T) {
	t.Parallel()
	l := &lifecycle{closed: map[string]int{}}
	opts := Options{Plugins: l.registry()}
	cfg := pluginBase + "[plugins.uses_b]\ncategory = \"ping\"\n"
	first := buildWith(t, cfg, nil, opts)
	defer first.Release(nil)
	// Upstream a changes: uses_b (which looked up b only) is kept.
	second := buildWith(t, strings.Replace(cfg, `addrs = ["127.0.0.1:9001"]`, `addrs = ["127.0.0.1:9011"]`, 1), first, opts)
	defer second.Release(nil)
	if second.plugins["uses_b"] != first.plugins["uses_b"] {
		t.Fatal("uses_b was rebuilt although upstream b did not change")
	}
	// Upstream b changes: uses_b is rebuilt with the new b.
	third := buildWith(t, strings.Replace(cfg, `addrs = ["127.0.0.1:9002"]`, `addrs = ["127.0.0.1:9003"]`, 1), second, opts)
	defer third.Release(nil)
	if third.plugins["uses_b"] == second.plugins["uses_b"] {
		t.Fatal("uses_b was carried over although upstream b was rebuilt")
	}
	if third.plugins["a"] != second.plugins["a"] {
		t.Fatal("plugin a (no upstream) was rebuilt")
	}
}
