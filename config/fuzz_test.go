package config

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func FuzzDecodeValidate(f *testing.F) {
	seeds := []string{
		exampleTOML,
		reorderedTOML,
		base,
		"",
		"[servers.web]\naddr = \":80\"\nlocations = [\"a\", \"a\"]\n",
		"[upstreams.api]\naddrs = 3\n[upstreams.api]\n",
		"upstreams = { api = { addrs = [\"a:1 2\"] } }\n[upstreams.api.x]\n",
		"[[servers]]\naddr = 1\n",
		"[locations.a]\npath = \"~(\"\nhost = \"*.\"\nweight = -1\nclient_max_body_size = \"1.5 gb\"\n",
		"[settings]\ntrusted_proxies = [\"10.0.0.0/8\", \"x\"]\ngrace_period = \"1min 30s\"\nlog_level = \"info\"\n",
		"[certificates.c]\ntls_cert = \"-----BEGIN CERTIFICATE-----\"\ntls_key = \"k\"\ndomains = [\"*.a.com\"]\n",
		"a.b.c = {d = [1, [2, {e = 3}]]}\n",
		"[x\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"servers": {"web": {"addr": ":80", "readTimeout": "1s"}}}`), true)
	f.Add([]byte(`{"servers": {"web": {"adr": ":80"}}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		format := FormatTOML
		if json {
			format = FormatJSON
		}
		s, src, err := Decode(data, format)
		if s == nil || src == nil {
			t.Fatal("Decode returned a nil snapshot or source")
		}
		if err != nil {
			_ = Validate(s, src) // must not panic on a partial snapshot
			return
		}
		if err := Validate(s, src); err != nil {
			return
		}
		h := Hash(s)
		if h2 := Hash(proto.Clone(s).(*pb.Snapshot)); h2 != h {
			t.Fatalf("hash not stable: %s, %s", h, h2)
		}
		if err := Validate(s, nil); err != nil {
			t.Fatalf("valid snapshot fails re-validation: %v", err)
		}
		// The JSON form of a valid snapshot decodes to the same content.
		j, err := protojson.Marshal(s)
		if err != nil {
			t.Fatalf("protojson.Marshal: %v", err)
		}
		back, _, err := Decode(j, FormatJSON)
		if err != nil {
			t.Fatalf("JSON round trip: %v\n%s", err, j)
		}
		if !proto.Equal(back, s) || Hash(back) != h {
			t.Fatalf("JSON round trip changed the snapshot:\n%v\n%v", s, back)
		}
	})
}
