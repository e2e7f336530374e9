package discovery

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestPushFieldNumbers(t *testing.T) {
	t.Parallel()
	resp := (&pb.StreamResponse{}).ProtoReflect().Descriptor().Fields().ByName("push")
	nonce := (&pb.Push{}).ProtoReflect().Descriptor().Fields().ByName("nonce")
	if resp.Number() != fieldResponsePush || nonce.Number() != fieldPushNonce {
		t.Fatalf("field numbers changed: push %d, nonce %d", resp.Number(), nonce.Number())
	}
}

// bigSnapshot has n locations, n upstreams and one server (~n*115 bytes
// encoded).
func bigSnapshot(n int) *pb.Snapshot {
	s := &pb.Snapshot{
		Settings:  &pb.Settings{Name: "big", GracePeriod: durationpb.New(5e9)},
		Servers:   map[string]*pb.Server{},
		Locations: map[string]*pb.Location{},
		Upstreams: map[string]*pb.Upstream{},
	}
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		s.Locations[name] = &pb.Location{Path: "/api/" + name + "/", Upstream: name, Host: name + ".example.com"}
		s.Upstreams[name] = &pb.Upstream{Addrs: []string{fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250), fmt.Sprintf("10.1.%d.%d:8080", i/250, i%250)}}
	}
	s.Servers["main"] = &pb.Server{Addr: ":8080"}
	return s
}

func testVersion(snap *pb.Snapshot) *version {
	return &version{number: 7, hash: config.Hash(snap), snap: snap}
}

func TestCodecEncodesLikeProto(t *testing.T) {
	t.Parallel()
	base := encoding.GetCodecV2(grpcproto.Name)
	c := pushCodec{base: base}
	for _, snap := range []*pb.Snapshot{{}, bigSnapshot(3), bigSnapshot(2000)} {
		v := testVersion(snap)
		msg := &encodedResponse{StreamResponse: &pb.StreamResponse{Message: &pb.StreamResponse_Push{Push: &pb.Push{
			Version: v.number, Nonce: "cp-1-42", Snapshot: v.snap, Hash: v.hash,
		}}}, v: v}
		for name, codec := range map[string]encoding.CodecV2{"shared": c, "base": base} {
			out, err := codec.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			got := &pb.StreamResponse{}
			if err := proto.Unmarshal(out.Materialize(), got); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !proto.Equal(got, msg.StreamResponse) {
				t.Fatalf("%s: decoded push differs", name)
			}
		}
	}
}

// BenchmarkPushMarshal compares marshaling one push per stream (what gRPC
// does by default) with the shared encoding of CodecOption.
func BenchmarkPushMarshal(b *testing.B) {
	base := encoding.GetCodecV2(grpcproto.Name)
	for _, n := range []int{10, 500, 5000} {
		snap := bigSnapshot(n)
		v := testVersion(snap)
		size := len(v.encoded())
		for name, codec := range map[string]encoding.CodecV2{"proto": base, "shared": pushCodec{base: base}} {
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					msg := &encodedResponse{StreamResponse: &pb.StreamResponse{Message: &pb.StreamResponse_Push{Push: &pb.Push{
						Version: v.number, Nonce: fmt.Sprintf("cp-1-%d", i), Snapshot: v.snap, Hash: v.hash,
					}}}, v: v}
					out, err := codec.Marshal(msg)
					if err != nil {
						b.Fatal(err)
					}
					out.Free()
				}
			})
		}
	}
}
