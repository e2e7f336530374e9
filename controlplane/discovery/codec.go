package discovery

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protobuf "google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Field numbers of the push as encoded by hand below (checked by a test
// against the descriptors).
const (
	fieldResponsePush protowire.Number = 2 // StreamResponse.push
	fieldPushNonce    protowire.Number = 2 // Push.nonce
)

// encodedResponse is a push as the stream sends it. It is a proto message
// (the embedded StreamResponse), so any codec can marshal it; the codec of
// CodecOption recognizes it and sends the version's shared encoding instead.
type encodedResponse struct {
	*pb.StreamResponse
	v *version
}

// encoded returns the version's push fields but the nonce, encoded once.
func (v *version) encoded() []byte {
	v.encOnce.Do(func() {
		b, err := protobuf.MarshalOptions{}.Marshal(&pb.Push{Version: v.number, Snapshot: v.snap, Hash: v.hash})
		if err == nil {
			v.enc = b
		}
	})
	return v.enc
}

// CodecOption returns a grpc.ServerOption that makes the server's proto
// codec send each version's snapshot encoded once for all streams: a push
// is then the shared bytes plus its nonce, with no per-stream marshaling.
// Every other message (of any service on that server) is encoded as usual.
// Without it pushes are correct but marshaled once per stream.
func (s *Server) CodecOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(pushCodec{base: encoding.GetCodecV2(proto.Name)})
}

// ServerOptions returns the options a grpc.Server serving s should have:
// CodecOption, keep-alive pings to data planes every 30s (a node whose host
// vanished is found gone within about 40s, not when TCP gives up), and a
// keep-alive policy that accepts the agent's pings (every 30s).
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		s.CodecOption(),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// pushCodec is the proto codec with pre-encoded pushes.
type pushCodec struct{ base encoding.CodecV2 }

func (c pushCodec) Name() string { return c.base.Name() }

func (c pushCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.base.Unmarshal(data, v) }

func (c pushCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*encodedResponse); ok && r.v != nil {
		if body := r.v.encoded(); body != nil {
			return framePush(body, r.GetPush().GetNonce()), nil
		}
	}
	return c.base.Marshal(v)
}

// framePush lays out StreamResponse{push: body + nonce}. Protobuf parsers
// accept fields in any order, so the nonce may follow the shared fields. The
// shared body is referenced, not copied; mem.SliceBuffer never recycles it.
func framePush(body []byte, nonce string) mem.BufferSlice {
	tail := protowire.AppendString(protowire.AppendTag(nil, fieldPushNonce, protowire.BytesType), nonce)
	head := protowire.AppendTag(make([]byte, 0, 12), fieldResponsePush, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(body)+len(tail)))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(body), mem.SliceBuffer(tail)}
}
