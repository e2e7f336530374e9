package config

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// roundTrip encodes s, decodes the result and fails unless it equals s.
func roundTrip(t *testing.T, s *pb.Snapshot) []byte {
	t.Helper()
	out, err := EncodeTOML(s)
	if err != nil {
		t.Fatalf("EncodeTOML: %v", err)
	}
	back, _, err := Decode(out, FormatTOML)
	if err != nil {
		t.Fatalf("Decode(EncodeTOML(s)): %v\n%s", err, out)
	}
	if !proto.Equal(back, s) {
		t.Fatalf("round trip changed the snapshot:\nwant %v\ngot  %v\nTOML:\n%s", s, back, out)
	}
	again, err := EncodeTOML(back)
	if err != nil || string(again) != string(out) {
		t.Fatalf("encoding is not canonical:\n%s\n---\n%s", out, again)
	}
	return out
}

func TestEncodeTOMLExample(t *testing.T) {
	t.Parallel()
	s := exampleSnapshot()
	s.Settings = &pb.Settings{Name: "prod", GracePeriod: durationpb.New(0)}
	s.Upstreams["api"].OutlierDetection = &pb.OutlierDetection{BaseEjectionTime: durationpb.New(90 * time.Second)}
	s.Upstreams["my api"] = &pb.Upstream{Addrs: []string{"10.0.0.1:80"}, VerifyCert: proto.Bool(false)}
	s.Plugins = map[string]*pb.Plugin{"ping": {Category: "ping"}, "empty": {}}
	got := string(roundTrip(t, s))
	want := `[settings]
name = "prod"
grace_period = "0s"

[servers.web]
addr = "127.0.0.1:8080"
locations = ["api"]

[locations.api]
host = "api.example.com"
path = "/api"
upstream = "api"
rewrite = "^/api/(.*)$ /$1"
proxy_set_headers = ["X-Env:prod"]
proxy_add_headers = ["X-Via:pingap"]
proxy_remove_headers = ["X-Debug"]
client_max_body_size = 1048576
weight = 0

[upstreams.api]
addrs = ["127.0.0.1:9001", "127.0.0.1:9002 3"]
algo = "round_robin"
connection_timeout = "2s"
read_timeout = "30s"
idle_timeout = "1m30s"

[upstreams.api.outlier_detection]
base_ejection_time = "1m30s"

[upstreams."my api"]
addrs = ["10.0.0.1:80"]
verify_cert = false

[plugins.empty]

[plugins.ping]
category = "ping"
`
	if got != want {
		t.Errorf("EncodeTOML:\n%s\nwant:\n%s", got, want)
	}
}

func TestEncodeTOMLEmpty(t *testing.T) {
	t.Parallel()
	for _, s := range []*pb.Snapshot{nil, {}} {
		out, err := EncodeTOML(s)
		if err != nil || len(out) != 0 {
			t.Errorf("EncodeTOML(%v) = %q, %v; want empty", s, out, err)
		}
	}
}

func TestEncodeTOMLRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		s    *pb.Snapshot
		want string
	}{
		{"negative duration", &pb.Snapshot{Settings: &pb.Settings{GracePeriod: durationpb.New(-time.Second)}}, "settings.grace_period"},
		{"duration beyond int64 nanoseconds", &pb.Snapshot{Settings: &pb.Settings{GracePeriod: &durationpb.Duration{Seconds: 1 << 40}}}, "settings.grace_period"},
		{"size beyond int64", &pb.Snapshot{Locations: map[string]*pb.Location{"a b": {ClientMaxBodySize: math.MaxUint64}}}, `locations."a b".client_max_body_size`},
		{"invalid UTF-8", &pb.Snapshot{Upstreams: map[string]*pb.Upstream{"u": {Addrs: []string{"ok", "\xff"}}}}, "upstreams.u.addrs[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := EncodeTOML(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("EncodeTOML error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{250 * time.Millisecond, "250ms"},
		{1500 * time.Microsecond, "1.5ms"},
		{10 * time.Second, "10s"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Minute, "1m"},
		{90 * time.Second, "1m30s"},
		{2 * time.Hour, "2h"},
		{time.Hour + 500*time.Millisecond, "1h500ms"},
		{math.MaxInt64, "2562047h47m16.854775807s"},
	}
	for _, tt := range tests {
		got := FormatDuration(tt.d)
		if got != tt.want {
			t.Errorf("FormatDuration(%d) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := ParseDuration(got); err != nil || back != tt.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
		}
	}
}

// TestEncodeTOMLFiles round-trips every example config of the repository.
func TestEncodeTOMLFiles(t *testing.T) {
	t.Parallel()
	inputs := map[string][]byte{"exampleTOML": []byte(exampleTOML), "reorderedTOML": []byte(reorderedTOML)}
	var files []string
	for _, pattern := range []string{"../examples/*.toml", "../dataplane/*/testdata/*.toml", "../test/*/testdata/*.toml", "../deploy/*/*.toml", "../deploy/*/*/*.toml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no example configs found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			s, _, err := Decode(data, FormatTOML)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			roundTrip(t, s)
		})
	}
}

// TestEncodeTOMLRandom round-trips randomly generated snapshots: every
// field of the schema, set or not, with names and strings that need
// quoting and escaping.
func TestEncodeTOMLRandom(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	g := &snapGen{r: rand.New(rand.NewPCG(seed, 7))}
	for range 500 {
		s := &pb.Snapshot{}
		g.fill(s.ProtoReflect(), 0)
		roundTrip(t, s)
	}
}

// FuzzEncodeTOML checks that any config Decode accepts encodes back to the
// same snapshot.
func FuzzEncodeTOML(f *testing.F) {
	for _, s := range []string{exampleTOML, reorderedTOML, base, "", "[upstreams.\"a.b\"]\naddrs = [\"\\u0001\"]\n[settings]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := Decode(data, FormatTOML)
		if err != nil {
			return
		}
		roundTrip(t, s)
	})
}

// snapGen fills messages with random values.
type snapGen struct{ r *rand.Rand }

// name returns an object name; some need quoting in TOML.
func (g *snapGen) name() string {
	names := []string{"a", "web", "my api", "a.b", "", "ü", `q"uote`, "x-1_2", "tab\there", "[x]", "#c"}
	return names[g.r.IntN(len(names))]
}

// str returns a string value; some need escaping in TOML.
func (g *snapGen) str() string {
	strs := []string{"", "plain", "/api", "with \"quotes\"", `back\slash`, "new\nline", "\x01\x7f", "ünïcødé ✓", "'single'", "=", "#", "\u2028"}
	return strs[g.r.IntN(len(strs))]
}

func (g *snapGen) fill(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if g.r.IntN(3) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range g.r.IntN(4) {
				k := protoreflect.ValueOfString(g.name()).MapKey()
				v := mp.NewValue()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					g.fill(v.Message(), depth+1)
				} else {
					v = g.single(fd.MapValue(), func() protoreflect.Value { return mp.NewValue() }, depth)
				}
				mp.Set(k, v)
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range g.r.IntN(4) {
				l.Append(g.single(fd, l.NewElement, depth))
			}
		default:
			m.Set(fd, g.single(fd, func() protoreflect.Value { return m.NewField(fd) }, depth))
		}
	}
}

func (g *snapGen) single(fd protoreflect.FieldDescriptor, newMsg func() protoreflect.Value, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		if fd.Message().FullName() == durationName {
			units := []time.Duration{0, time.Nanosecond, time.Millisecond, time.Second, time.Minute, time.Hour}
			d := time.Duration(g.r.Int64N(100000)) * units[g.r.IntN(len(units))]
			return protoreflect.ValueOfMessage(durationpb.New(d).ProtoReflect())
		}
		v := newMsg()
		if depth < 3 {
			g.fill(v.Message(), depth+1)
		}
		return v
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(g.str())
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(g.r.IntN(2) == 0)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(g.r.Int64N(1<<32) - 1<<31))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(g.r.Uint32())
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(g.r.Uint64N(math.MaxInt64))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(g.r.Int64())
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{0, 1, 0.25, g.r.Float64(), -g.r.Float64() * 1e9}[g.r.IntN(5)])
	}
	panic("snapGen: no generator for " + fd.Kind().String())
}
