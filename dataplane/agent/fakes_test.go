package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

// fakeApplier records what it applies and fails when told to.
type fakeApplier struct {
	mu      sync.Mutex
	applied []*pb.Snapshot
	fail    error
	curV    uint64
	curH    string
}

func (f *fakeApplier) Apply(s *pb.Snapshot) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.applied = append(f.applied, s)
	return nil
}

func (f *fakeApplier) Current() (uint64, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.curV, f.curH
}

func (f *fakeApplier) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.applied {
		out = append(out, s.GetSettings().GetName())
	}
	return out
}

func (f *fakeApplier) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func snapshot(name string) *pb.Snapshot { return &pb.Snapshot{Settings: &pb.Settings{Name: name}} }

func push(version uint64, name, nonce string) *pb.Push {
	s := snapshot(name)
	return &pb.Push{Version: version, Nonce: nonce, Snapshot: s, Hash: config.Hash(s)}
}

// fakeCP is a scripted control plane: it records what the agent sends and
// pushes what the test hands it.
type fakeCP struct {
	pb.UnimplementedDiscoveryServiceServer
	interval time.Duration
	serverID string
	refuse   error

	hellos  chan *pb.Hello
	answers chan *pb.StreamRequest // acks and nacks
	health  chan *pb.HealthReport
	pushes  chan *pb.Push
	kill    chan struct{}

	g    *grpc.Server
	addr string
}

// startCP serves a fakeCP on addr ("" for a free port), set up by setup
// before it serves.
func startCP(t testing.TB, addr string, setup ...func(*fakeCP)) *fakeCP {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lis net.Listener
	var err error
	// The port of a stopped server may take a moment to be free again.
	for range 100 {
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	cp := &fakeCP{
		interval: time.Hour,
		serverID: "fake-cp",
		hellos:   make(chan *pb.Hello, 100),
		answers:  make(chan *pb.StreamRequest, 100),
		health:   make(chan *pb.HealthReport, 1000),
		pushes:   make(chan *pb.Push),
		kill:     make(chan struct{}),
		g:        grpc.NewServer(),
		addr:     lis.Addr().String(),
	}
	for _, f := range setup {
		f(cp)
	}
	pb.RegisterDiscoveryServiceServer(cp.g, cp)
	go func() { _ = cp.g.Serve(lis) }()
	t.Cleanup(cp.g.Stop)
	return cp
}

func (f *fakeCP) Stream(ss pb.DiscoveryService_StreamServer) error {
	req, err := ss.Recv()
	if err != nil {
		return err
	}
	f.hellos <- req.GetHello()
	if f.refuse != nil {
		return f.refuse
	}
	if err := ss.Send(&pb.StreamResponse{Message: &pb.StreamResponse_Welcome{Welcome: &pb.Welcome{
		HealthInterval: durationpb.New(f.interval), ServerId: f.serverID,
	}}}); err != nil {
		return err
	}
	go func() {
		for {
			req, err := ss.Recv()
			if err != nil {
				return
			}
			if h := req.GetHealth(); h != nil {
				select {
				case f.health <- h:
				default:
				}
				continue
			}
			f.answers <- req
		}
	}()
	for {
		select {
		case p := <-f.pushes:
			if err := ss.Send(&pb.StreamResponse{Message: &pb.StreamResponse_Push{Push: p}}); err != nil {
				return err
			}
		case <-f.kill:
			return status.Error(codes.Unavailable, "killed by the test")
		case <-ss.Context().Done():
			return ss.Context().Err()
		}
	}
}

func (f *fakeCP) hello(t testing.TB) *pb.Hello {
	t.Helper()
	select {
	case h := <-f.hellos:
		return h
	case <-time.After(5 * time.Second):
		t.Fatal("no hello within 5s")
		return nil
	}
}

func (f *fakeCP) push(t testing.TB, p *pb.Push) {
	t.Helper()
	select {
	case f.pushes <- p:
	case <-time.After(5 * time.Second):
		t.Fatal("no stream took the push within 5s")
	}
}

func (f *fakeCP) answer(t testing.TB) *pb.StreamRequest {
	t.Helper()
	select {
	case a := <-f.answers:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no answer within 5s")
		return nil
	}
}

func testLogger(buf *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// running runs a until the test ends; stop cancels it and waits.
func running(t testing.TB, a *Agent) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fastBackoff() Backoff { return Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond} }
