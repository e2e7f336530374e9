package config

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	base := func() *pb.Snapshot {
		s := exampleSnapshot()
		s.Settings = &pb.Settings{Name: "prod"}
		s.Servers["old"] = &pb.Server{Addr: ":81"}
		s.Certificates = map[string]*pb.Certificate{"c": {TlsCert: "CERT", TlsKey: "KEY1"}}
		return s
	}
	tests := []struct {
		desc   string
		change func(s *pb.Snapshot)
		want   []Change
	}{
		{"identical", func(*pb.Snapshot) {}, nil},
		{"empty sub-message counts as absent", func(s *pb.Snapshot) {
			s.Upstreams["api"].OutlierDetection = &pb.OutlierDetection{}
		}, nil},
		{"scalar field", func(s *pb.Snapshot) { s.Locations["api"].Path = "/v2" },
			[]Change{{Kind: "locations", Name: "api", Op: OpChanged, Fields: []FieldChange{{Path: "path", From: `"/api"`, To: `"/v2"`}}}}},
		{"list, optional and nested fields", func(s *pb.Snapshot) {
			u := s.Upstreams["api"]
			u.Addrs = append(u.Addrs, "10.0.0.1:80")
			u.MaxRetries = proto.Uint32(0)
			u.IdleTimeout = nil
			u.OutlierDetection = &pb.OutlierDetection{BaseEjectionTime: durationpb.New(20 * time.Second)}
		}, []Change{{Kind: "upstreams", Name: "api", Op: OpChanged, Fields: []FieldChange{
			{Path: "addrs", From: `["127.0.0.1:9001", "127.0.0.1:9002 3"]`, To: `["127.0.0.1:9001", "127.0.0.1:9002 3", "10.0.0.1:80"]`},
			{Path: "idle_timeout", From: `"1m30s"`, To: ""},
			{Path: "outlier_detection.base_ejection_time", From: "", To: `"20s"`},
			{Path: "max_retries", From: "", To: "0"},
		}}}},
		{"added, removed and settings, in section order", func(s *pb.Snapshot) {
			delete(s.Servers, "old")
			s.Upstreams["new"] = &pb.Upstream{Addrs: []string{"10.0.0.2:80"}}
			s.Settings.Name = "staging"
		}, []Change{
			{Kind: "settings", Op: OpChanged, Fields: []FieldChange{{Path: "name", From: `"prod"`, To: `"staging"`}}},
			{Kind: "servers", Name: "old", Op: OpRemoved, Fields: []FieldChange{{Path: "addr", From: `":81"`}}},
			{Kind: "upstreams", Name: "new", Op: OpAdded, Fields: []FieldChange{{Path: "addrs", To: `["10.0.0.2:80"]`}}},
		}},
		{"secret redacted", func(s *pb.Snapshot) { s.Certificates["c"].TlsKey = "KEY2" },
			[]Change{{Kind: "certificates", Name: "c", Op: OpChanged, Fields: []FieldChange{{Path: "tls_key", From: "<redacted>", To: "<redacted>"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			to := base()
			tt.change(to)
			got := Diff(base(), to)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff:\n got %+v\nwant %+v", got, tt.want)
			}
			if (Hash(base()) == Hash(to)) != (len(got) == 0) {
				t.Errorf("Diff and Hash disagree on whether anything changed")
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	t.Parallel()
	s := exampleSnapshot()
	added := Diff(nil, s)
	if len(added) != 3 || added[0].Kind != "servers" || added[1].Kind != "locations" || added[2].Kind != "upstreams" {
		t.Fatalf("Diff(nil, s) = %+v", added)
	}
	for _, c := range added {
		if c.Op != OpAdded {
			t.Errorf("%s.%s: op %s, want added", c.Kind, c.Name, c.Op)
		}
	}
	for _, c := range Diff(s, nil) {
		if c.Op != OpRemoved {
			t.Errorf("%s.%s: op %s, want removed", c.Kind, c.Name, c.Op)
		}
	}
	if d := Diff(nil, nil); d != nil {
		t.Errorf("Diff(nil, nil) = %v", d)
	}
}

func TestFormatDiff(t *testing.T) {
	t.Parallel()
	changes := []Change{
		{Kind: "settings", Op: OpChanged, Fields: []FieldChange{{Path: "name", From: "", To: `"x"`}}},
		{Kind: "servers", Name: "old", Op: OpRemoved, Fields: []FieldChange{{Path: "addr", From: `":81"`}}},
		{Kind: "locations", Name: "api", Op: OpChanged, Fields: []FieldChange{{Path: "path", From: `"/api"`, To: `"/v2"`}}},
		{Kind: "upstreams", Name: "my api", Op: OpAdded, Fields: []FieldChange{{Path: "addrs", To: `["10.0.0.2:80"]`}}},
	}
	want := `~ settings
    name: (unset) -> "x"
- servers.old
~ locations.api
    path: "/api" -> "/v2"
+ upstreams."my api"
    addrs = ["10.0.0.2:80"]
`
	if got := FormatDiff(changes); got != want {
		t.Errorf("FormatDiff:\n%s\nwant:\n%s", got, want)
	}
	if got := FormatDiff(nil); got != "" {
		t.Errorf("FormatDiff(nil) = %q", got)
	}
}

// TestDiffRandom checks Diff against Hash on random pairs of snapshots: no
// changes exactly when the hashes are equal, every change names an object
// of the right side, and the order is deterministic.
func TestDiffRandom(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	g := &snapGen{r: rand.New(rand.NewPCG(seed, 11))}
	for range 300 {
		a, b := &pb.Snapshot{}, &pb.Snapshot{}
		g.fill(a.ProtoReflect(), 0)
		if g.r.IntN(3) == 0 {
			b = proto.Clone(a).(*pb.Snapshot)
		} else {
			g.fill(b.ProtoReflect(), 0)
		}
		d := Diff(a, b)
		if (Hash(a) == Hash(b)) != (len(d) == 0) {
			t.Fatalf("hashes equal %v but %d changes:\n%s", Hash(a) == Hash(b), len(d), FormatDiff(d))
		}
		if !reflect.DeepEqual(d, Diff(proto.Clone(a).(*pb.Snapshot), proto.Clone(b).(*pb.Snapshot))) {
			t.Fatal("Diff is not deterministic")
		}
		kinds := map[string]int{"settings": 0, "servers": 1, "locations": 2, "upstreams": 3, "plugins": 4, "certificates": 5}
		for i := 1; i < len(d); i++ {
			p, c := d[i-1], d[i]
			if kinds[p.Kind] > kinds[c.Kind] || p.Kind == c.Kind && p.Name >= c.Name {
				t.Fatalf("changes out of order: %+v before %+v", p, c)
			}
		}
	}
}
