package config

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// reorderedTOML is exampleTOML with sections and keys in another order and
// other spellings of the same values.
const reorderedTOML = `[servers.web]
locations = ["api"]
addr = "127.0.0.1:8080"

[locations.api]
weight = 0
client_max_body_size = 1048576
proxy_remove_headers = ["X-Debug"]
proxy_add_headers = ["X-Via:pingap"]
proxy_set_headers = ["X-Env:prod"]
rewrite = "^/api/(.*)$ /$1"
upstream = "api"
path = "/api"
host = "api.example.com"

[upstreams]
api = { idle_timeout = "1min 30s", read_timeout = "30s", connection_timeout = "2000ms", algo = "round_robin", addrs = ["127.0.0.1:9001", "127.0.0.1:9002 3"] }

[settings]
`

func TestHashSameContent(t *testing.T) {
	t.Parallel()
	a, _, err := Decode([]byte(exampleTOML), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Decode([]byte(reorderedTOML), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := Hash(a), Hash(b)
	if ha != hb {
		t.Errorf("same content, different hashes: %s, %s", ha, hb)
	}
	if !strings.HasPrefix(ha, "sha256:") || len(ha) != len("sha256:")+64 {
		t.Errorf("hash %q is not sha256:<hex>", ha)
	}
	if Hash(nil) != Hash(&pb.Snapshot{}) {
		t.Error("nil and empty snapshots hash differently")
	}
}

func TestHashChanges(t *testing.T) {
	t.Parallel()
	base := Hash(exampleSnapshot())
	tests := []struct {
		desc   string
		change func(s *pb.Snapshot)
	}{
		{desc: "addr", change: func(s *pb.Snapshot) { s.Servers["web"].Addr = "127.0.0.1:8081" }},
		{desc: "list order", change: func(s *pb.Snapshot) {
			a := s.Upstreams["api"].Addrs
			a[0], a[1] = a[1], a[0]
		}},
		{desc: "weight unset", change: func(s *pb.Snapshot) { s.Locations["api"].Weight = nil }},
		{desc: "weight value", change: func(s *pb.Snapshot) { s.Locations["api"].Weight = proto.Int32(1) }},
		{desc: "zero duration is not unset", change: func(s *pb.Snapshot) { s.Servers["web"].WriteTimeout = durationpb.New(0) }},
		{desc: "object renamed", change: func(s *pb.Snapshot) {
			s.Servers["web2"] = s.Servers["web"]
			delete(s.Servers, "web")
		}},
		{desc: "empty object added", change: func(s *pb.Snapshot) { s.Plugins = map[string]*pb.Plugin{"p": {}} }},
		{desc: "settings", change: func(s *pb.Snapshot) { s.Settings = &pb.Settings{LogLevel: "debug"} }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := exampleSnapshot()
			tt.change(s)
			if Hash(s) == base {
				t.Errorf("hash did not change")
			}
		})
	}
}

func TestHashInvalidUTF8(t *testing.T) {
	t.Parallel()
	bad := &pb.Snapshot{Settings: &pb.Settings{Name: "a\xff"}}
	repaired := &pb.Snapshot{Settings: &pb.Settings{Name: "a\uFFFD"}}
	if first, second := Hash(bad), Hash(bad); first != second {
		t.Error("hash of invalid snapshot is not stable")
	}
	if Hash(bad) == Hash(repaired) {
		t.Error("invalid snapshot collides with its repaired form")
	}
	if bad.Settings.Name != "a\xff" {
		t.Error("Hash modified its argument")
	}
}
