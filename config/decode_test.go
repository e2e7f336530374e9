package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// exampleTOML is the example configuration of the configuration reference.
const exampleTOML = `[upstreams.api]
addrs = ["127.0.0.1:9001", "127.0.0.1:9002 3"]
algo = "round_robin"
connection_timeout = "2s"
read_timeout = "30s"
idle_timeout = "90s"

[locations.api]
host = "api.example.com"
path = "/api"
upstream = "api"
rewrite = "^/api/(.*)$ /$1"
proxy_set_headers = ["X-Env:prod"]
proxy_add_headers = ["X-Via:pingap"]
proxy_remove_headers = ["X-Debug"]
client_max_body_size = "1mb"
weight = 0

[servers.web]
addr = "127.0.0.1:8080"
locations = ["api"]
`

// exampleSnapshot is exampleTOML built by hand.
func exampleSnapshot() *pb.Snapshot {
	return &pb.Snapshot{
		Upstreams: map[string]*pb.Upstream{"api": {
			Addrs:             []string{"127.0.0.1:9001", "127.0.0.1:9002 3"},
			Algo:              "round_robin",
			ConnectionTimeout: durationpb.New(2 * time.Second),
			ReadTimeout:       durationpb.New(30 * time.Second),
			IdleTimeout:       durationpb.New(90 * time.Second),
		}},
		Locations: map[string]*pb.Location{"api": {
			Host:               "api.example.com",
			Path:               "/api",
			Upstream:           "api",
			Rewrite:            "^/api/(.*)$ /$1",
			ProxySetHeaders:    []string{"X-Env:prod"},
			ProxyAddHeaders:    []string{"X-Via:pingap"},
			ProxyRemoveHeaders: []string{"X-Debug"},
			ClientMaxBodySize:  1 << 20,
			Weight:             proto.Int32(0),
		}},
		Servers: map[string]*pb.Server{"web": {
			Addr:      "127.0.0.1:8080",
			Locations: []string{"api"},
		}},
	}
}

func TestDecodeExample(t *testing.T) {
	t.Parallel()
	s, src, err := Decode([]byte(exampleTOML), FormatTOML)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if want := exampleSnapshot(); !proto.Equal(s, want) {
		t.Errorf("Decode = %v\nwant %v", s, want)
	}
	if err := Validate(s, src); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if s.GetLocations()["api"].Weight == nil {
		t.Error("weight = 0 did not set the weight")
	}
}

func TestSourceLines(t *testing.T) {
	t.Parallel()
	data := "[upstreams.api]\naddrs = [\n  \"a:1\",\n  \"b:2\",\n]\n\n[servers.web]\naddr = \":80\"\nlocations = [\"x\", \"y\"]\n"
	_, src, err := Decode([]byte(data), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"upstreams.api":            1,
		"upstreams.api.addrs":      2,
		"upstreams.api.addrs[0]":   3,
		"upstreams.api.addrs[1]":   4,
		"servers.web":              7,
		"servers.web.addr":         8,
		"servers.web.locations":    9,
		"servers.web.locations[1]": 9,
		"servers.nope":             0,
	} {
		if got := src.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	var nilSrc *Source
	if nilSrc.Line("a") != 0 {
		t.Error("nil Source has lines")
	}
}

func TestDecodeForms(t *testing.T) {
	t.Parallel()
	want := &pb.Snapshot{Upstreams: map[string]*pb.Upstream{"api": {
		Addrs: []string{"a:1"}, ReadTimeout: durationpb.New(90 * time.Second), KeepalivePoolSize: 8,
	}}}
	tests := []struct{ desc, in string }{
		{desc: "table", in: "[upstreams.api]\naddrs = ['a:1']\nread_timeout = '1min 30s'\nkeepalive_pool_size = 8\n"},
		{desc: "inline table", in: "upstreams = { api = { addrs = [\"a:1\"], read_timeout = \"90s\", keepalive_pool_size = 0x8 } }\n"},
		{desc: "dotted keys", in: "upstreams.api.addrs = [\"a:1\"]\nupstreams.api.read_timeout = \"1m30s\"\nupstreams.api.keepalive_pool_size = 8\n"},
		{desc: "parent table and dotted keys", in: "[upstreams]\napi.addrs = [\"a:1\"]\napi.read_timeout = \"90s\"\napi.keepalive_pool_size = 8\n"},
		{desc: "quoted keys and comments", in: "# c\n[\"upstreams\".'api'] # c\naddrs = [\"a:1\", # c\n]\nread_timeout = \"90s\"\nkeepalive_pool_size = 8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, _, err := Decode([]byte(tt.in), FormatTOML)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("Decode = %v, want %v", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		want     string // the whole ErrorList text
	}{
		{
			desc: "unknown field with suggestion",
			in:   "[locations.api]\npathh = \"/\"\n",
			want: `locations.api.pathh (line 2): unknown field "pathh" (did you mean "path"?)`,
		},
		{
			desc: "unknown field without suggestion",
			in:   "[settings]\ncompletely_else = 1\n",
			want: `settings.completely_else (line 2): unknown field "completely_else"`,
		},
		{
			desc: "unknown section",
			in:   "[upstream.api]\naddrs = []\n",
			want: `upstream (line 1): unknown field "upstream" (did you mean "upstreams"?)`,
		},
		{
			desc: "wrong type for list",
			in:   "[upstreams.api]\n\n\naddrs = 3\n",
			want: `upstreams.api.addrs (line 4): want an array of strings, got integer`,
		},
		{
			desc: "wrong element type",
			in:   "[upstreams.api]\naddrs = [\"a:1\",\n  2]\n",
			want: `upstreams.api.addrs[1] (line 3): want a string, got integer`,
		},
		{
			desc: "wrong scalar type",
			in:   "[servers.web]\naddr = 8080\n",
			want: `servers.web.addr (line 2): want a string, got integer`,
		},
		{
			desc: "section is not a table",
			in:   "servers = 1\n",
			want: `servers (line 1): want a table of tables, got integer`,
		},
		{
			desc: "bad duration",
			in:   "[servers.web]\nidle_timeout = \"2x\"\n",
			want: `servers.web.idle_timeout (line 2): invalid duration "2x": unknown unit "x"`,
		},
		{
			desc: "duration as number",
			in:   "[servers.web]\nidle_timeout = 2\n",
			want: `servers.web.idle_timeout (line 2): want a duration string such as "30s", got integer`,
		},
		{
			desc: "bad size",
			in:   "[servers.web]\nmax_header_size = \"1xb\"\n",
			want: `servers.web.max_header_size (line 2): invalid size "1xb": unknown unit "xb" (use b, kb, mb, gb)`,
		},
		{
			desc: "size string for uint32",
			in:   "[settings]\nupstream_keepalive_pool_size = \"1kb\"\n",
			want: `settings.upstream_keepalive_pool_size (line 2): want an integer, got string`,
		},
		{
			desc: "negative unsigned",
			in:   "[settings]\nupstream_keepalive_pool_size = -1\n",
			want: `settings.upstream_keepalive_pool_size (line 2): -1 is out of range (0..4294967295)`,
		},
		{
			desc: "uint32 overflow",
			in:   "[upstreams.a]\nkeepalive_pool_size = 4294967296\n",
			want: `upstreams.a.keepalive_pool_size (line 2): 4294967296 is out of range (0..4294967295)`,
		},
		{
			desc: "int32 overflow",
			in:   "[locations.a]\nweight = 2147483648\n",
			want: `locations.a.weight (line 2): 2147483648 is out of range (-2147483648..2147483647)`,
		},
		{
			desc: "float for integer",
			in:   "[locations.a]\nweight = 1.5\n",
			want: `locations.a.weight (line 2): want an integer, got float`,
		},
		{
			desc: "boolean",
			in:   "[certificates.a]\nis_default = \"yes\"\n",
			want: `certificates.a.is_default (line 2): want a boolean, got string`,
		},
		{
			desc: "datetime",
			in:   "[settings]\nname = 2024-01-02\n",
			want: `settings.name (line 2): want a string, got datetime`,
		},
		{
			desc: "table defined twice",
			in:   "[upstreams.api]\naddrs = [\"a:1\"]\n\n[upstreams.api]\naddrs = [\"b:1\"]\n",
			want: `upstreams.api (line 4): defined twice (first at line 1)`,
		},
		{
			desc: "inline then table",
			in:   "upstreams.api = { addrs = [\"a:1\"] }\n[upstreams.api]\n",
			want: `upstreams.api (line 2): defined twice (first at line 1)`,
		},
		{
			desc: "extend inline table",
			in:   "upstreams = { api = { addrs = [\"a:1\"] } }\n[upstreams.api.x]\n",
			want: `upstreams (line 2): cannot add to the inline table defined at line 1`,
		},
		{
			desc: "key defined twice",
			in:   "[upstreams.api]\nalgo = \"random\"\nalgo = \"random\"\n",
			want: `upstreams.api.algo (line 3): defined twice (first at line 2)`,
		},
		{
			desc: "dotted key then table",
			in:   "[upstreams]\napi.algo = \"random\"\n[upstreams.api]\n",
			want: `upstreams.api (line 3): defined twice (first at line 2)`,
		},
		{
			desc: "array of tables",
			in:   "[[servers]]\naddr = \":80\"\n",
			want: `servers (line 1): want a table of tables, got array`,
		},
		{
			desc: "syntax error",
			in:   "[servers.web]\naddr = \":80\"\nlocations = [\"a\"\n",
			want: `line 3: toml syntax error: array is incomplete`,
		},
		{
			desc: "unquoted string",
			in:   "[servers.web]\nidle_timeout = 20s\n",
			want: `line 2: toml syntax error: strings must be quoted`,
		},
		{
			desc: "errors before a syntax error are kept",
			in:   "[servers.web]\naddrr = \":80\"\n[x\n",
			want: "servers.web.addrr (line 2): unknown field \"addrr\" (did you mean \"addr\"?)\nline 3: toml syntax error: expected ']' to close table name",
		},
		{
			desc: "several errors sorted by line",
			in:   "[servers.web]\naddr = 1\nread_timeout = \"x\"\n[locations.a]\nweight = \"1\"\n",
			want: "servers.web.addr (line 2): want a string, got integer\n" +
				"servers.web.read_timeout (line 3): invalid duration \"x\": want e.g. \"30s\", \"1m30s\" or \"2h\"\n" +
				"locations.a.weight (line 5): want an integer, got string",
		},
		{
			desc: "quoted object name in path",
			in:   "[upstreams.\"my api\"]\nalgoo = 1\n",
			want: `upstreams."my api".algoo (line 2): unknown field "algoo" (did you mean "algo"?)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, _, err := Decode([]byte(tt.in), FormatTOML)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Decode error = %v, want an ErrorList", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Decode error =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	want := exampleSnapshot()
	data, err := protojson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Decode(data, FormatJSON)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("Decode = %v, want %v", got, want)
	}
	if Hash(got) != Hash(want) {
		t.Error("hash changed through JSON")
	}
	// proto field names are accepted too.
	got, _, err = Decode([]byte(`{"servers": {"web": {"addr": ":80", "read_header_timeout": "5s"}}}`), FormatJSON)
	if err != nil {
		t.Fatalf("Decode proto names: %v", err)
	}
	if got.GetServers()["web"].GetReadHeaderTimeout().AsDuration() != 5*time.Second {
		t.Errorf("read_header_timeout = %v", got.GetServers()["web"].GetReadHeaderTimeout())
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, in, want string }{
		{desc: "unknown field", in: "{\n  \"servers\": {\"web\": {\n    \"adr\": \":80\"}}}", want: `line 3: json: unknown field "adr"`},
		{desc: "wrong type", in: `{"servers": {"web": {"addr": 1}}}`, want: `line 1: json: invalid value for string field addr: 1`},
		{desc: "syntax", in: `{"servers": `, want: `json: unexpected EOF`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, _, err := Decode([]byte(tt.in), FormatJSON)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Decode error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestFormatFromPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, path string
		want       Format
	}{
		{desc: "json", path: "a/b.json", want: FormatJSON},
		{desc: "json upper", path: "B.JSON", want: FormatJSON},
		{desc: "toml", path: "x.toml", want: FormatTOML},
		{desc: "no extension", path: "config", want: FormatTOML},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := FormatFromPath(tt.path); got != tt.want {
				t.Errorf("FormatFromPath(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestFieldErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		e    FieldError
		want string
	}{
		{desc: "path and line", e: FieldError{Path: "locations.api.path", Line: 14, Msg: "bad"}, want: "locations.api.path (line 14): bad"},
		{desc: "no line", e: FieldError{Path: "locations.api.path", Msg: "bad"}, want: "locations.api.path: bad"},
		{desc: "no path", e: FieldError{Line: 3, Msg: "bad"}, want: "line 3: bad"},
		{desc: "nothing", e: FieldError{Msg: "bad"}, want: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	l := ErrorList{{Path: "b", Line: 2, Msg: "x"}, {Path: "a", Line: 2, Msg: "x"}, {Path: "z", Line: 1, Msg: "x"}}
	if got, want := l.Error(), "z (line 1): x\na (line 2): x\nb (line 2): x"; got != want {
		t.Errorf("ErrorList.Error() = %q, want %q", got, want)
	}
	if l[0].Path != "b" {
		t.Error("ErrorList.Error() reordered its receiver")
	}
}
