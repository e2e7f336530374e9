package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/controlplane/discovery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// fakeSource is an in-memory version store.
type fakeSource struct {
	mu       sync.Mutex
	versions map[string][]*pb.VersionInfo
	snaps    map[string]*pb.Snapshot // cluster/version
	watchers map[string]map[chan *pb.VersionInfo]struct{}
	watches  map[string]int // Watch calls per cluster
	currents map[string]int // Current calls per cluster
	failNext error          // returned once by Current
}

func newFakeSource() *fakeSource {
	return &fakeSource{
		versions: map[string][]*pb.VersionInfo{},
		snaps:    map[string]*pb.Snapshot{},
		watchers: map[string]map[chan *pb.VersionInfo]struct{}{},
		watches:  map[string]int{},
		currents: map[string]int{},
	}
}

func snapKey(cluster string, v uint64) string { return fmt.Sprintf("%s/%d", cluster, v) }

// snapshot returns a small valid snapshot that names itself.
func snapshot(name string) *pb.Snapshot {
	return &pb.Snapshot{Settings: &pb.Settings{Name: name}}
}

// publish stores snap as the cluster's next version and announces it.
func (f *fakeSource) publish(cluster string, snap *pb.Snapshot) *pb.VersionInfo {
	return f.publishAt(cluster, snap, time.Now())
}

// publishAt is publish with the version's creation time given.
func (f *fakeSource) publishAt(cluster string, snap *pb.Snapshot, created time.Time) *pb.VersionInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	info := &pb.VersionInfo{
		Cluster:   cluster,
		Version:   uint64(len(f.versions[cluster]) + 1),
		Hash:      config.Hash(snap),
		CreatedAt: timestamppb.New(created),
	}
	f.versions[cluster] = append(f.versions[cluster], info)
	f.snaps[snapKey(cluster, info.Version)] = snap
	for ch := range f.watchers[cluster] {
		offerLatest(ch, info)
	}
	return info
}

// offerLatest puts info in a one-slot channel, replacing an unread value.
func offerLatest(ch chan *pb.VersionInfo, info *pb.VersionInfo) {
	for {
		select {
		case ch <- info:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

func (f *fakeSource) Current(_ context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.currents[cluster]++
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, nil, err
	}
	vs := f.versions[cluster]
	if len(vs) == 0 {
		return nil, nil, nil
	}
	info := vs[len(vs)-1]
	return info, f.snaps[snapKey(cluster, info.Version)], nil
}

func (f *fakeSource) Watch(ctx context.Context, cluster string) <-chan *pb.VersionInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watches[cluster]++
	ch := make(chan *pb.VersionInfo, 1)
	if vs := f.versions[cluster]; len(vs) > 0 {
		ch <- vs[len(vs)-1]
	}
	if f.watchers[cluster] == nil {
		f.watchers[cluster] = map[chan *pb.VersionInfo]struct{}{}
	}
	f.watchers[cluster][ch] = struct{}{}
	go func() {
		<-ctx.Done()
		f.endWatch(cluster, ch)
	}()
	return ch
}

// endWatch closes one watch (as a failed etcd watch would end).
func (f *fakeSource) endWatch(cluster string, ch chan *pb.VersionInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.watchers[cluster][ch]; ok {
		delete(f.watchers[cluster], ch)
		close(ch)
	}
}

// breakWatches ends every open watch of cluster.
func (f *fakeSource) breakWatches(cluster string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.watchers[cluster] {
		delete(f.watchers[cluster], ch)
		close(ch)
	}
}

func (f *fakeSource) counts(cluster string) (watches, currents int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches[cluster], f.currents[cluster]
}

// fakeFleet records node state in memory.
type fakeFleet struct {
	mu      sync.Mutex
	nodes   map[string]*pb.NodeStatus
	puts    int
	gone    []string
	onPut   func(st *pb.NodeStatus)
	lookup  bool // GetNode answers (else it knows no record)
	lookups int
}

func newFakeFleet() *fakeFleet { return &fakeFleet{nodes: map[string]*pb.NodeStatus{}} }

func nodeID(cluster, id string) string { return cluster + "/" + id }

func (f *fakeFleet) PutNode(_ context.Context, st *pb.NodeStatus) error {
	f.mu.Lock()
	f.nodes[nodeID(st.GetNode().GetCluster(), st.GetNode().GetId())] = st
	f.puts++
	on := f.onPut
	f.mu.Unlock()
	if on != nil {
		on(st)
	}
	return nil
}

func (f *fakeFleet) NodeGone(_ context.Context, cluster, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = append(f.gone, nodeID(cluster, id))
	if st := f.nodes[nodeID(cluster, id)]; st != nil {
		st = proto.Clone(st).(*pb.NodeStatus)
		st.Connected = false
		st.State = pb.NodeState_NODE_STATE_DISCONNECTED
		f.nodes[nodeID(cluster, id)] = st
	}
	return nil
}

func (f *fakeFleet) node(cluster, id string) *pb.NodeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[nodeID(cluster, id)]
}

func (f *fakeFleet) goneList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.gone...)
}

// GetNode reads a record back (discovery.NodeLookup).
func (f *fakeFleet) GetNode(_ context.Context, cluster, id string) (*pb.NodeStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.lookup {
		return nil, nil
	}
	f.lookups++
	return f.nodes[nodeID(cluster, id)], nil
}

// harness is a discovery server on a loopback gRPC server.
type harness struct {
	src   *fakeSource
	fleet *fakeFleet
	srv   *discovery.Server
	g     *grpc.Server
	addr  string
}

type harnessOpts struct {
	opts    discovery.Options
	noCodec bool
	src     *fakeSource
	ff      *fakeFleet
}

func newHarness(t testing.TB, ho harnessOpts) *harness {
	t.Helper()
	h := &harness{src: ho.src, fleet: ho.ff}
	if h.src == nil {
		h.src = newFakeSource()
	}
	if h.fleet == nil {
		h.fleet = newFakeFleet()
	}
	if ho.opts.ServerID == "" {
		ho.opts.ServerID = "cp-test"
	}
	if ho.opts.Logger == nil && os.Getenv("DISCOVERY_TEST_LOG") != "" {
		ho.opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if ho.opts.RetryInterval == 0 {
		ho.opts.RetryInterval = 20 * time.Millisecond
	}
	h.srv = discovery.NewServer(h.src, h.fleet, ho.opts)
	var gopts []grpc.ServerOption
	if !ho.noCodec {
		gopts = h.srv.ServerOptions()
	}
	h.g = grpc.NewServer(gopts...)
	h.srv.Register(h.g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = lis.Addr().String()
	go func() { _ = h.g.Serve(lis) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.srv.Close()
	h.g.Stop()
}

// client is a raw protocol client.
type client struct {
	t      testing.TB
	conn   *grpc.ClientConn
	s      grpc.BidiStreamingClient[pb.StreamRequest, pb.StreamResponse]
	cancel context.CancelFunc
	in     chan *pb.StreamResponse
	err    chan error
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := pb.NewDiscoveryServiceClient(conn).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, s: s, cancel: cancel, in: make(chan *pb.StreamResponse, 100), err: make(chan error, 1)}
	go func() {
		for {
			r, err := s.Recv()
			if err != nil {
				c.err <- err
				return
			}
			c.in <- r
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	c.cancel()
	_ = c.conn.Close()
}

func (c *client) send(req *pb.StreamRequest) {
	c.t.Helper()
	if err := c.s.Send(req); err != nil && !errors.Is(err, io.EOF) {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) hello(id, cluster string, running uint64, hash string) {
	c.t.Helper()
	c.send(helloMsg(id, cluster, running, hash, ""))
}

func helloMsg(id, cluster string, running uint64, hash, token string) *pb.StreamRequest {
	return &pb.StreamRequest{Message: &pb.StreamRequest_Hello{Hello: &pb.Hello{
		Node:           &pb.Node{Id: id, Cluster: cluster},
		RunningVersion: running,
		RunningHash:    hash,
		Token:          token,
	}}}
}

func (c *client) ack(p *pb.Push) {
	c.t.Helper()
	c.send(&pb.StreamRequest{Message: &pb.StreamRequest_Ack{Ack: &pb.Ack{Version: p.Version, Nonce: p.Nonce}}})
}

func (c *client) nack(p *pb.Push, running uint64, msg string) {
	c.t.Helper()
	c.send(&pb.StreamRequest{Message: &pb.StreamRequest_Nack{Nack: &pb.Nack{Version: p.Version, Nonce: p.Nonce, RunningVersion: running, Error: msg}}})
}

// next returns the next message, failing after a while.
func (c *client) next() *pb.StreamResponse {
	c.t.Helper()
	select {
	case r := <-c.in:
		return r
	case err := <-c.err:
		c.t.Fatalf("stream ended: %v", err)
	case <-time.After(5 * time.Second):
		c.t.Fatal("no message within 5s")
	}
	return nil
}

func (c *client) welcome() *pb.Welcome {
	c.t.Helper()
	w := c.next().GetWelcome()
	if w == nil {
		c.t.Fatal("first message is not a welcome")
	}
	return w
}

func (c *client) push() *pb.Push {
	c.t.Helper()
	p := c.next().GetPush()
	if p == nil {
		c.t.Fatal("message is not a push")
	}
	return p
}

// quiet fails if a message arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case r := <-c.in:
		c.t.Fatalf("unexpected message: %v", r)
	case err := <-c.err:
		c.t.Fatalf("stream ended: %v", err)
	case <-time.After(d):
	}
}

// ended returns the stream's final error.
func (c *client) ended() error {
	c.t.Helper()
	for {
		select {
		case <-c.in:
		case err := <-c.err:
			return err
		case <-time.After(5 * time.Second):
			c.t.Fatal("stream did not end within 5s")
			return nil
		}
	}
}

// eventually polls cond for up to 5s.
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
