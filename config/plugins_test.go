package config

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

const pluginBase = `
[upstreams.u]
addrs = ["127.0.0.1:9001"]
[locations.l]
upstream = "u"
plugins = ["p"]
[servers.s]
addr = "127.0.0.1:8080"
locations = ["l"]
`

// Options next to category (Pingap's shape), in the category's sub-table,
// and in JSON all decode to the same plugin.
func TestPluginShapes(t *testing.T) {
	t.Parallel()
	flat, err := ValidateBytes([]byte(pluginBase+"[plugins.p]\ncategory = \"mock\"\nstatus = 503\ndata = \"x\"\n"), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	nested, err := ValidateBytes([]byte(pluginBase+"[plugins.p]\ncategory = \"mock\"\n[plugins.p.mock]\nstatus = 503\ndata = \"x\"\n"), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.Plugin{Category: "mock", Config: &pb.Plugin_Mock{Mock: &pb.MockPlugin{Status: 503, Data: "x"}}}
	for name, s := range map[string]*pb.Snapshot{"flat": flat, "nested": nested} {
		if !proto.Equal(s.GetPlugins()["p"], want) {
			t.Errorf("%s: plugin %v, want %v", name, s.GetPlugins()["p"], want)
		}
	}
	enc, err := EncodeTOML(flat)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ValidateBytes(enc, FormatTOML)
	if err != nil || !proto.Equal(back, flat) {
		t.Fatalf("TOML round trip: %v\n%s", err, enc)
	}
}

func TestPluginErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, plugin, want string }{
		{"unknown category", "category = \"mokc\"\n", `plugins.p.category (line 11): unknown plugin category "mokc" (did you mean "mock"?)`},
		{"missing category", "status = 200\n", `plugins.p.status (line 11): unknown field "status"`},
		{"unknown option", "category = \"ping\"\npaht = \"/x\"\n", `plugins.p.paht (line 12): unknown option "paht" of a "ping" plugin (did you mean "path"?)`},
		{"bad status", "category = \"mock\"\nstatus = 700\n", `plugins.p.status (line 12): status 700 is not an HTTP status`},
		{"bad header", "category = \"mock\"\nheaders = [\"nocolon\"]\n", `plugins.p.headers[0] (line 12): invalid header "nocolon"`},
		{"bad rename", "category = \"response_headers\"\nrename_headers = [\"X-Old\"]\n", `plugins.p.rename_headers[0] (line 12): want "Old:New", got "X-Old"`},
		{"options of another kind", "category = \"ping\"\n[plugins.p.mock]\nstatus = 200\n", `plugins.p.mock`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := ValidateBytes([]byte(pluginBase+"[plugins.p]\n"+tt.plugin), FormatTOML)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}
