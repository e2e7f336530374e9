package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/pingap-go/pingap/internal/testbin"
)

// testServiceName is the full name of grpc.testing's TestService.
const testServiceName = "grpc.testing.TestService"

// grpcBackend is a real gRPC server on loopback serving grpc.testing's
// TestService:
//
//   - metadata "x-echo: V" is answered with header "x-echo-header: V" and
//     trailer "x-echo-trailer: V";
//   - a request's response_status, when not OK, is returned as the call's
//     status;
//   - metadata "x-hang: ID" makes StreamingOutputCall block after its
//     responses until the call is cancelled, and report ctx.Err() under ID.
type grpcBackend struct {
	testgrpc.UnimplementedTestServiceServer
	addr string
	// unknown counts calls of services the server does not have.
	unknown atomic.Int64
	// unary counts UnaryCall calls.
	unary atomic.Int64
	// health is the server's grpc.health.v1 service; every service starts
	// SERVING.
	health *health.Server

	mu   sync.Mutex
	hung map[string]chan error
}

func startGRPCBackend(t testing.TB) *grpcBackend { return startGRPCBackendTLS(t, nil) }

// startGRPCBackendTLS is startGRPCBackend serving TLS with cfg when it is
// not nil.
func startGRPCBackendTLS(t testing.TB, cfg *tls.Config) *grpcBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &grpcBackend{addr: ln.Addr().String(), hung: map[string]chan error{}, health: health.NewServer()}
	creds := insecure.NewCredentials()
	if cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			b.unknown.Add(1)
			return grpcstatus.Error(codes.Unimplemented, "backend: unknown service")
		}),
		grpc.MaxRecvMsgSize(8<<20), grpc.MaxSendMsgSize(8<<20),
	)
	testgrpc.RegisterTestServiceServer(srv, b)
	healthgrpc.RegisterHealthServer(srv, b.health)
	b.health.SetServingStatus(testServiceName, healthgrpc.HealthCheckResponse_SERVING)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return b
}

// hangCh is the channel a hanging call with id reports on.
func (b *grpcBackend) hangCh(id string) chan error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.hung[id]
	if !ok {
		ch = make(chan error, 1)
		b.hung[id] = ch
	}
	return ch
}

// echoMetadata answers x-echo with a header and a trailer.
func echoMetadata(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-echo"); len(v) > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-echo-header", v[0]))
		grpc.SetTrailer(ctx, metadata.Pairs("x-echo-trailer", v[0]))
	}
}

func echoStatus(s *testgrpc.EchoStatus) error {
	if s == nil || s.GetCode() == 0 {
		return nil
	}
	return grpcstatus.Error(codes.Code(s.GetCode()), s.GetMessage())
}

// pattern is n bytes, byte i being 'a'+i%26.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func (b *grpcBackend) UnaryCall(ctx context.Context, r *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	b.unary.Add(1)
	echoMetadata(ctx)
	if err := echoStatus(r.GetResponseStatus()); err != nil {
		return nil, err
	}
	body := r.GetPayload().GetBody()
	if r.GetResponseSize() > 0 {
		body = pattern(int(r.GetResponseSize()))
	}
	return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: body}}, nil
}

func (b *grpcBackend) StreamingOutputCall(r *testgrpc.StreamingOutputCallRequest, s grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	ctx := s.Context()
	echoMetadata(ctx)
	for _, p := range r.GetResponseParameters() {
		if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: pattern(int(p.GetSize()))}}); err != nil {
			return err
		}
	}
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("x-hang")) > 0 {
		<-ctx.Done()
		b.hangCh(md.Get("x-hang")[0]) <- ctx.Err()
		return ctx.Err()
	}
	return echoStatus(r.GetResponseStatus())
}

func (b *grpcBackend) StreamingInputCall(s grpc.ClientStreamingServer[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]) error {
	echoMetadata(s.Context())
	var n int32
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(r.GetPayload().GetBody(), pattern(len(r.GetPayload().GetBody()))) {
			return grpcstatus.Error(codes.DataLoss, "backend: payload corrupted")
		}
		n += int32(len(r.GetPayload().GetBody()))
	}
}

func (b *grpcBackend) FullDuplexCall(s grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	echoMetadata(s.Context())
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := echoStatus(r.GetResponseStatus()); err != nil {
			return err
		}
		if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: r.GetPayload()}); err != nil {
			return err
		}
	}
}

// grpcConn is a client connection to addr, over TLS when cfg is set and
// h2c otherwise.
func grpcConn(t testing.TB, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(8<<20), grpc.MaxCallSendMsgSize(8<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// wantCode fails unless err is a gRPC status with code.
func wantCode(t testing.TB, what string, err error, code codes.Code) *grpcstatus.Status {
	t.Helper()
	s, ok := grpcstatus.FromError(err)
	if !ok || s.Code() != code {
		t.Errorf("%s: got %v, want code %s", what, err, code)
	}
	return s
}

// TestGRPC runs every kind of gRPC call through the proxy, to a real gRPC
// server reached over h2c (and a few over TLS, alpn h2), from clients speaking h2c and TLS: messages,
// metadata and trailers both ways, status codes, deadlines and
// cancellation reaching the server, and the proxy's own errors as gRPC
// statuses.
func TestGRPC(t *testing.T) {
	t.Parallel()
	be := startGRPCBackend(t)
	ca := newCA(t, "e2e grpc ca")
	cert := ca.issue("grpc", "grpc.test")
	dead := testbin.DeadAddr(t)
	d := newDataplane(t)
	plain, secure, down := freeAddr(t), freeAddr(t), freeAddr(t)
	d.write(d.settings() +
		"[servers.plain]\naddr = " + tomlString(plain) + "\nlocations = [\"grpc\"]\nenabled_h2 = true\n\n" +
		"[servers.secure]\naddr = " + tomlString(secure) + "\nlocations = [\"grpc\"]\ncertificates = [\"grpc\"]\n\n" +
		"[servers.down]\naddr = " + tomlString(down) + "\nlocations = [\"dead\"]\nenabled_h2 = true\n\n" +
		"[locations.grpc]\npath = \"/grpc.testing.TestService/\"\nupstream = \"grpc\"\n\n" +
		"[locations.dead]\nupstream = \"dead\"\n\n" +
		"[upstreams.grpc]\naddrs = [\"" + be.addr + "\"]\nalpn = \"h2c\"\n\n" +
		"[upstreams.dead]\naddrs = [\"" + dead + "\"]\nalpn = \"h2c\"\nconnection_timeout = \"500ms\"\n\n" +
		certTOML("grpc", cert))
	d.start()

	for _, tc := range []struct {
		desc string
		addr string
		tls  *tls.Config
	}{
		{"h2c", plain, nil},
		{"tls", secure, ca.clientConfig("grpc.test")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			client := testgrpc.NewTestServiceClient(grpcConn(t, tc.addr, tc.tls))
			testGRPCCalls(t, be, client, tc.desc)
		})
	}

	t.Run("TLS upstream (alpn h2)", func(t *testing.T) {
		t.Parallel()
		tbe := startGRPCBackendTLS(t, tlsServerConfig(ca.issue("grpc backend", "grpcbackend.test")))
		d2 := newDataplane(t)
		listen := freeAddr(t)
		d2.write(d2.settings() +
			"[servers.main]\naddr = " + tomlString(listen) + "\nlocations = [\"grpc\"]\nenabled_h2 = true\n\n" +
			"[locations.grpc]\nupstream = \"grpc\"\n\n" +
			"[upstreams.grpc]\naddrs = [\"" + tbe.addr + "\"]\nalpn = \"h2\"\nsni = \"grpcbackend.test\"\nca_cert = " + tomlString(ca.PEM) + "\n")
		d2.start()
		client := testgrpc.NewTestServiceClient(grpcConn(t, listen, nil))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("tls")}})
		if err != nil || string(resp.GetPayload().GetBody()) != "tls" {
			t.Fatalf("unary over a TLS upstream: %v %v", resp, err)
		}
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			body := pattern(1000 * (i + 1))
			if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: body}}); err != nil {
				t.Fatal(err)
			}
			if r, err := stream.Recv(); err != nil || !bytes.Equal(r.GetPayload().GetBody(), body) {
				t.Fatalf("bidi message %d: %v", i, err)
			}
		}
		_ = stream.CloseSend()
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("bidi end: %v", err)
		}
		_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.NotFound), Message: "nope"}})
		wantCode(t, "error over a TLS upstream", err, codes.NotFound)
	})

	t.Run("no route is Unimplemented", func(t *testing.T) {
		t.Parallel()
		cc := grpcConn(t, plain, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := testgrpc.NewUnimplementedServiceClient(cc).UnimplementedCall(ctx, &testgrpc.Empty{})
		s := wantCode(t, "call without a location", err, codes.Unimplemented)
		t.Logf("proxy answered %s %q", s.Code(), s.Message())
		if n := be.unknown.Load(); n != 0 {
			t.Errorf("the backend saw %d calls it should not have", n)
		}
	})

	t.Run("upstream down is Unavailable", func(t *testing.T) {
		t.Parallel()
		client := testgrpc.NewTestServiceClient(grpcConn(t, down, nil))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		s := wantCode(t, "unary to a dead target", err, codes.Unavailable)
		t.Logf("proxy answered %s %q", s.Code(), s.Message())
		stream, err := client.FullDuplexCall(ctx)
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, "bidi to a dead target", err, codes.Unavailable)
	})
}

// testGRPCCalls makes every kind of call with client; id keeps the hanging
// calls of parallel callers apart.
func testGRPCCalls(t *testing.T, be *grpcBackend, client testgrpc.TestServiceClient, id string) {
	md := metadata.Pairs("x-echo", "meta-"+id)

	t.Run("unary with metadata", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(t.Context(), md), 10*time.Second)
		defer cancel()
		var header, trailer metadata.MD
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("ping")}},
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("unary: %v", err)
		}
		if string(resp.GetPayload().GetBody()) != "ping" {
			t.Errorf("unary answered %q", resp.GetPayload().GetBody())
		}
		if got := header.Get("x-echo-header"); len(got) != 1 || got[0] != "meta-"+id {
			t.Errorf("response header x-echo-header = %q", got)
		}
		if got := trailer.Get("x-echo-trailer"); len(got) != 1 || got[0] != "meta-"+id {
			t.Errorf("trailer x-echo-trailer = %q", got)
		}
	})

	t.Run("unary large", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		big := pattern(3 << 20)
		resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: big}})
		if err != nil {
			t.Fatalf("unary 3 MiB: %v", err)
		}
		if !bytes.Equal(resp.GetPayload().GetBody(), big) {
			t.Errorf("3 MiB echo came back as %d different bytes", len(resp.GetPayload().GetBody()))
		}
	})

	t.Run("error status and trailers pass through", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(t.Context(), md), 10*time.Second)
		defer cancel()
		var trailer metadata.MD
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{
			ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.NotFound), Message: "no such thing: Ω"},
		}, grpc.Trailer(&trailer))
		s := wantCode(t, "unary NotFound", err, codes.NotFound)
		if s.Message() != "no such thing: Ω" {
			t.Errorf("message %q, want %q", s.Message(), "no such thing: Ω")
		}
		if got := trailer.Get("x-echo-trailer"); len(got) != 1 || got[0] != "meta-"+id {
			t.Errorf("trailer with the error: x-echo-trailer = %q", got)
		}
		// An error after messages of a stream.
		stream, err := client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
			ResponseParameters: []*testgrpc.ResponseParameters{{Size: 10}},
			ResponseStatus:     &testgrpc.EchoStatus{Code: int32(codes.PermissionDenied), Message: "go away"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("first message before the error: %v", err)
		}
		_, err = stream.Recv()
		if s := wantCode(t, "stream error", err, codes.PermissionDenied); s.Message() != "go away" {
			t.Errorf("stream error message %q", s.Message())
		}
	})

	t.Run("server streaming", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(t.Context(), md), 10*time.Second)
		defer cancel()
		sizes := []int32{1, 100, 64 << 10, 1 << 20, 0, 7}
		params := make([]*testgrpc.ResponseParameters, len(sizes))
		for i, n := range sizes {
			params[i] = &testgrpc.ResponseParameters{Size: n}
		}
		stream, err := client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range sizes {
			r, err := stream.Recv()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !bytes.Equal(r.GetPayload().GetBody(), pattern(int(n))) {
				t.Errorf("message %d: %d bytes, want %d", i, len(r.GetPayload().GetBody()), n)
			}
		}
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("after the messages: %v, want io.EOF (status OK)", err)
		}
		if got := stream.Trailer().Get("x-echo-trailer"); len(got) != 1 {
			t.Errorf("stream trailer x-echo-trailer = %q", got)
		}
	})

	t.Run("client streaming", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		stream, err := client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range []int{5, 0, 1 << 20, 300 << 10, 1} {
			if err := stream.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: pattern(n)}}); err != nil {
				t.Fatalf("send: %v", err)
			}
			total += n
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatalf("close and receive: %v", err)
		}
		if int(resp.GetAggregatedPayloadSize()) != total {
			t.Errorf("server counted %d bytes, sent %d", resp.GetAggregatedPayloadSize(), total)
		}
	})

	t.Run("bidi ping-pong", func(t *testing.T) {
		// Each message must come back before the next is sent: a proxy
		// that waited for the end of the request would deadlock here.
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(t.Context(), md), 10*time.Second)
		defer cancel()
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range []int{3, 40 << 10, 1, 1 << 20, 2} {
			body := pattern(n)
			if err := stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: body}}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			r, err := stream.Recv()
			if err != nil {
				t.Fatalf("receive %d: %v", i, err)
			}
			if !bytes.Equal(r.GetPayload().GetBody(), body) {
				t.Fatalf("message %d: %d bytes back, want %d", i, len(r.GetPayload().GetBody()), n)
			}
		}
		if h, err := stream.Header(); err != nil || len(h.Get("x-echo-header")) != 1 {
			t.Errorf("bidi header %v (%v)", h, err)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("after CloseSend: %v, want io.EOF", err)
		}
		if got := stream.Trailer().Get("x-echo-trailer"); len(got) != 1 {
			t.Errorf("bidi trailer x-echo-trailer = %q", got)
		}
	})

	t.Run("bidi status before the client half-closes", func(t *testing.T) {
		// The server ends the call with an error while the client's side
		// is still open: the status must reach the client at once.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("x")}})
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.ResourceExhausted), Message: "enough"}})
		_, err = stream.Recv()
		wantCode(t, "bidi error", err, codes.ResourceExhausted)
	})

	// The server sends one message, then waits for the call to end: the
	// client's deadline or cancellation must reach it through the proxy.
	hang := func(t *testing.T, ctx context.Context, hid string) grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse] {
		t.Helper()
		stream, err := client.StreamingOutputCall(metadata.AppendToOutgoingContext(ctx, "x-hang", hid),
			&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("first message: %v", err)
		}
		return stream
	}
	backendSaw := func(t *testing.T, hid string) {
		t.Helper()
		select {
		case err := <-be.hangCh(hid):
			t.Logf("backend call ended with %v", err)
		case <-time.After(10 * time.Second):
			t.Errorf("the backend's call was not cancelled 10s after the client's ended")
		}
	}

	t.Run("deadline mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		stream := hang(t, ctx, id+"-deadline")
		_, err := stream.Recv()
		wantCode(t, "after the deadline", err, codes.DeadlineExceeded)
		backendSaw(t, id+"-deadline")
	})

	t.Run("cancel mid-stream", func(t *testing.T) {
		// No deadline is sent: only the proxy can tell the server.
		ctx, cancel := context.WithCancel(t.Context())
		stream := hang(t, ctx, id+"-cancel")
		cancel()
		_, err := stream.Recv()
		wantCode(t, "after cancel", err, codes.Canceled)
		backendSaw(t, id+"-cancel")
	})

	t.Run("many concurrent calls", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i := range 50 {
			wg.Go(func() {
				body := []byte(strings.Repeat("c", i+1))
				resp, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: body}})
				if err != nil || !bytes.Equal(resp.GetPayload().GetBody(), body) {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Errorf("%d of 50 concurrent calls failed", n)
		}
	})
}

// TestGRPCHealthCheck checks the gRPC health check (grpc://NAME?service=S):
// a target whose service is NOT_SERVING is taken out, and gRPC calls get
// Unavailable from the proxy without reaching it; SERVING brings it back.
func TestGRPCHealthCheck(t *testing.T) {
	t.Parallel()
	be := startGRPCBackend(t)
	d := newDataplane(t)
	listen := freeAddr(t)
	const check = "grpc://grpc.test?service=" + testServiceName +
		"&check_frequency=200ms&success=1&failure=1&connection_timeout=200ms&read_timeout=200ms"
	d.write(d.settings() +
		"[servers.main]\naddr = " + tomlString(listen) + "\nlocations = [\"grpc\"]\nenabled_h2 = true\n\n" +
		"[locations.grpc]\nupstream = \"grpc\"\n\n" +
		"[upstreams.grpc]\naddrs = [\"" + be.addr + "\"]\nalpn = \"h2c\"\nhealth_check = " + tomlString(check) + "\n")
	d.start()
	client := testgrpc.NewTestServiceClient(grpcConn(t, listen, nil))
	call := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hi")}})
		return err
	}

	d.waitTarget("grpc", be.addr, "healthy", 5*time.Second, isHealthy(true))
	if err := call(); err != nil {
		t.Fatalf("serving: %v", err)
	}

	be.health.SetServingStatus(testServiceName, healthgrpc.HealthCheckResponse_NOT_SERVING)
	d.waitTarget("grpc", be.addr, "unhealthy", 5*time.Second, isHealthy(false))
	before := be.unary.Load()
	s := wantCode(t, "call while NOT_SERVING", call(), codes.Unavailable)
	t.Logf("proxy answered %s %q", s.Code(), s.Message())
	if n := be.unary.Load() - before; n != 0 {
		t.Errorf("%d calls reached the unhealthy target", n)
	}

	be.health.SetServingStatus(testServiceName, healthgrpc.HealthCheckResponse_SERVING)
	d.waitTarget("grpc", be.addr, "healthy again", 5*time.Second, isHealthy(true))
	if err := call(); err != nil {
		t.Errorf("serving again: %v", err)
	}
}
