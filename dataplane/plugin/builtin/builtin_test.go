package builtin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/runtime"
)

// The schema's plugin categories and the registry must agree: a category
// without an implementation would validate and then fail to build.
func TestRegistryMatchesSchema(t *testing.T) {
	got, want := Registry().Categories(), config.PluginCategories()
	if !slices.Equal(got, want) {
		t.Fatalf("registered %v, schema has %v", got, want)
	}
}

var (
	tomlBlock = regexp.MustCompile("(?s)```toml\n(.*?)```")
	testLine  = regexp.MustCompile(`(?m)^# test: (GET|HEAD|POST|OPTIONS) (\S+) -> (\d{3}) ?(.*)$`)
	reqHeader = regexp.MustCompile(`(?m)^# request-header: ([A-Za-z0-9-]+): ?(.*)$`)
	headerLn  = regexp.MustCompile(`(?m)^# header: ([A-Za-z0-9-]+): ?(.*)$`)
)

// TestDocExamples loads every TOML example of docs/plugins.md, builds it
// with the built-in plugins and sends the request its "# test:" line names.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := tomlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) == 0 {
		t.Fatal("no TOML examples in docs/plugins.md")
	}
	for i, b := range blocks {
		m := testLine.FindStringSubmatch(b[1])
		if m == nil {
			t.Errorf("example %d has no \"# test:\" line", i+1)
			continue
		}
		t.Run(m[2], func(t *testing.T) {
			snap, err := config.ValidateBytes([]byte(b[1]), config.FormatTOML)
			if err != nil {
				t.Fatalf("example does not validate: %v", err)
			}
			rt, err := runtime.Build(snap, nil, runtime.Options{Plugins: Registry()})
			if err != nil {
				t.Fatalf("example does not build: %v", err)
			}
			defer rt.Release(nil)
			srv := rt.Servers()["web"]
			if srv == nil {
				t.Fatal("examples must define [servers.web]")
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(m[1], m[2], nil)
			for _, h := range reqHeader.FindAllStringSubmatch(b[1], -1) {
				req.Header.Add(h[1], h[2])
			}
			srv.Handler.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if want, _ := strconv.Atoi(m[3]); rec.Code != want {
				t.Fatalf("%s %s: status %d, want %d (body %q)", m[1], m[2], rec.Code, want, body)
			}
			if m[4] != "" && strings.TrimSpace(string(body)) != m[4] {
				t.Fatalf("%s %s: body %q, want %q", m[1], m[2], body, m[4])
			}
			for _, h := range headerLn.FindAllStringSubmatch(b[1], -1) {
				if got := rec.Header().Get(h[1]); got != h[2] {
					t.Errorf("%s %s: header %s = %q, want %q", m[1], m[2], h[1], got, h[2])
				}
			}
		})
	}
}

// Server plugins run before the location's, in the order listed.
func TestChainOrder(t *testing.T) {
	snap, err := config.ValidateBytes([]byte(`
[plugins.first]
category = "mock"
path = "/both"
data = "server plugin"
[plugins.second]
category = "mock"
data = "location plugin"
[plugins.health]
category = "ping"
[upstreams.app]
addrs = ["127.0.0.1:1"]
[locations.app]
upstream = "app"
plugins = ["second"]
[servers.web]
addr = "127.0.0.1:0"
locations = ["app"]
plugins = ["health", "first"]
`), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Build(snap, nil, runtime.Options{Plugins: Registry()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Release(nil)
	for path, want := range map[string]string{"/both": "server plugin", "/other": "location plugin", "/ping": "pong"} {
		rec := httptest.NewRecorder()
		rt.Servers()["web"].Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Errorf("GET %s answered %q, want %q", path, got, want)
		}
	}
}

// Every category has its section in docs/plugins.md and is listed in the
// configuration reference.
func TestCategoriesDocumented(t *testing.T) {
	plugins, err := os.ReadFile("../../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	reference, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range Registry().Categories() {
		if !strings.Contains(string(plugins), "\n## "+cat+"\n") {
			t.Errorf("docs/plugins.md has no section %q", "## "+cat)
		}
		if !strings.Contains(string(reference), "`"+cat+"`") {
			t.Errorf("docs/configuration.md does not list category %q", cat)
		}
	}
}
