package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin/builtin"
	"github.com/pingap-go/pingap/internal/testbackend"
)

// pluginCase is one plugin's end-to-end check through the real pingap
// binary: its location is served under /NAME/ by an echoing backend.
type pluginCase struct {
	// name is the location's name and path prefix ("/NAME/").
	name string
	// category is the plugin category the case covers.
	category string
	// toml holds the [plugins.*] tables the case needs (and any
	// [upstreams.*] of its own).
	toml string
	// upstream is the location's upstream; empty means "app", the shared
	// echoing backend.
	upstream string
	// plugins are the location's plugins, in order.
	plugins []string
	// check sends requests to base ("http://ADDR/NAME") with c and asserts.
	check func(t *testing.T, c *http.Client, base string)
}

// pluginCaseSets lists every set of cases; each plugin package has one.
var pluginCaseSets = []func(t *testing.T) []pluginCase{
	basicPluginCases,
	authPluginCases,
	jwtPluginCases,
	combinedAuthPluginCases,
	csrfPluginCases,
	limitPluginCases,
	cachePluginCases,
	compressionPluginCases,
	directoryPluginCases,
	trafficPluginCases,
}

// TestPluginsEndToEnd runs every built-in plugin through one data plane
// process in front of a real backend, each on its own location, and checks
// that every registered category is covered.
func TestPluginsEndToEnd(t *testing.T) {
	var cases []pluginCase
	for _, set := range pluginCaseSets {
		cases = append(cases, set(t)...)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.category] = true
	}
	for _, cat := range builtin.Registry().Categories() {
		if !covered[cat] {
			t.Errorf("plugin category %q has no end-to-end case", cat)
		}
	}
	app := startLocal(t, testbackend.New("app"), localOpts{})
	d := newDataplane(t)
	addr := freeAddr(t)
	var cfg strings.Builder
	cfg.WriteString(d.settings())
	cfg.WriteString(upstreamTOML("app", "", app.addr))
	names := make([]string, 0, len(cases))
	for _, c := range cases {
		if slices.Contains(names, c.name) {
			t.Fatalf("two plugin cases named %q", c.name)
		}
		names = append(names, c.name)
		cfg.WriteString(c.toml + "\n")
		up := c.upstream
		if up == "" {
			up = "app"
		}
		fmt.Fprintf(&cfg, "[locations.%s]\nupstream = %q\npath = \"/%s/\"\nplugins = %s\n\n", c.name, up, c.name, tomlList(c.plugins...))
	}
	cfg.WriteString(serverTOML("web", addr, names...))
	d.write(cfg.String())
	d.start()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, d.client, "http://"+addr+"/"+c.name)
		})
	}
}
