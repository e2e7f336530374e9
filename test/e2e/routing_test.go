package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRouting checks each host and path match kind and each priority rule
// through a real proxy. Every location has its own upstream, one address of
// one testbackend, so X-Backend tells which location matched.
func TestRouting(t *testing.T) {
	t.Parallel()
	type location struct {
		name, host, path string
		weight           int // 0: unset
	}
	locations := []location{
		{name: "host-exact", host: "api.example.com", path: "/"},
		{name: "host-wild", host: "*.example.com", path: "/"},
		{name: "host-regex", host: `~^r[0-9]+\.example\.(org|com)$`, path: "/"},
		{name: "any", path: "/"},
		{name: "p-exact", host: "paths.test", path: "=/login"},
		{name: "p-login", host: "paths.test", path: "/login"},
		{name: "p-short", host: "paths.test", path: "/static"},
		{name: "p-long", host: "paths.test", path: "/static/img"},
		{name: "p-regex", host: "paths.test", path: "~^/v[0-9]+/"},
		{name: "p-css", host: "paths.test", path: `~\.css$`},
		{name: "w-prefix", host: "weight.test", path: "/w"},
		{name: "w-regex", host: "weight.test", path: "~^/w", weight: 10},
		{name: "tie-b", host: "tie.test", path: "/t"},
		{name: "tie-a", host: "tie.test", path: "/t"},
		{name: "heavy", path: "=/heavy", weight: 5},
		{name: "any-exact", path: "=/exact-any"},
		{name: "heavy-exact", host: "api.example.com", path: "=/heavy"},
	}
	be := startBackend(t, "r", len(locations))
	index := map[string]int{}
	for i, l := range locations {
		index[l.name] = i
	}
	d := newDataplane(t)
	main, only := freeAddr(t), freeAddr(t)
	var cfg strings.Builder
	cfg.WriteString(d.settings(`name = "routing"`))
	names := make([]string, len(locations))
	for i, l := range locations {
		names[i] = l.name
	}
	cfg.WriteString(serverTOML("main", main, names...))
	cfg.WriteString(serverTOML("only", only, "host-exact"))
	for i, l := range locations {
		fmt.Fprintf(&cfg, "[locations.%s]\nupstream = %q\npath = %q\n", l.name, "u-"+l.name, l.path)
		if l.host != "" {
			fmt.Fprintf(&cfg, "host = %q\n", l.host)
		}
		if l.weight != 0 {
			fmt.Fprintf(&cfg, "weight = %d\n", l.weight)
		}
		cfg.WriteString("\n")
		cfg.WriteString(upstreamTOML("u-"+l.name, "", be.addrs[i]))
	}
	d.write(cfg.String())
	d.start()

	tests := []struct {
		desc, host, path, want string
	}{
		{"exact host", "api.example.com", "/", "host-exact"},
		{"exact host ignores case and port", "API.Example.COM:8080", "/x", "host-exact"},
		{"wildcard host", "foo.example.com", "/a", "host-wild"},
		{"wildcard beats regex", "r7.example.com", "/", "host-wild"},
		{"wildcard needs a subdomain", "example.com", "/", "any"},
		{"regex host", "r12.example.org", "/", "host-regex"},
		{"regex host no match falls to any", "rx.example.org", "/", "any"},
		{"any host", "other.test", "/", "any"},
		{"host tier beats path kind", "api.example.com", "/exact-any", "host-exact"},
		{"exact path on any host", "other.test", "/exact-any", "any-exact"},
		{"exact path beats prefix", "paths.test", "/login", "p-exact"},
		{"prefix when exact does not match", "paths.test", "/login/again", "p-login"},
		{"shorter prefix", "paths.test", "/static/a.js", "p-short"},
		{"longest prefix", "paths.test", "/static/img/a.png", "p-long"},
		{"prefix beats regex", "paths.test", "/static/a.css", "p-short"},
		{"regex path", "paths.test", "/v2/users", "p-regex"},
		{"second regex path", "paths.test", "/x/site.css", "p-css"},
		{"falls through to a lower host tier", "paths.test", "/nomatch", "any"},
		{"explicit weight beats prefix", "weight.test", "/w/x", "w-regex"},
		{"weight host falls through", "weight.test", "/other", "any"},
		{"ties by name", "tie.test", "/t", "tie-a"},
		{"explicit weight beats host tier", "api.example.com", "/heavy", "heavy"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res := get(t, d.client, "http://"+main, tc.host, tc.path)
			want := be.id(index[tc.want])
			if res.Code != http.StatusOK || res.backend() != want {
				t.Fatalf("Host %q %s: got %d from %q, want 200 from location %s (%s)", tc.host, tc.path, res.Code, res.backend(), tc.want, want)
			}
			e := res.echo(t)
			if e.Path != tc.path {
				t.Errorf("backend saw path %q, want %q", e.Path, tc.path)
			}
		})
	}

	t.Run("server routes only its own locations", func(t *testing.T) {
		res := get(t, d.client, "http://"+only, "api.example.com", "/x")
		if res.Code != http.StatusOK || res.backend() != be.id(index["host-exact"]) {
			t.Fatalf("got %d from %q, want 200 from host-exact", res.Code, res.backend())
		}
	})
	t.Run("no route is 404", func(t *testing.T) {
		res := get(t, d.client, "http://"+only, "other.test", "/x")
		if res.Code != http.StatusNotFound || string(res.Body) != "not found\n" {
			t.Fatalf("got %d %q, want 404 %q", res.Code, res.Body, "not found\n")
		}
		if res.backend() != "" {
			t.Errorf("404 carries X-Backend %q", res.backend())
		}
	})
}
