package discovery

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// DefaultCluster is the cluster of a node whose Hello names none.
const DefaultCluster = "default"

// Options configure a Server. The zero value works.
type Options struct {
	// ServerID identifies this control-plane replica in Welcome, in push
	// nonces and in node records. Default: the host name.
	ServerID string
	// HealthInterval is how often data planes send a HealthReport.
	// Default: 10s.
	HealthInterval time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of node records; nil means time.Now.
	Now func() time.Time
	// Authenticate checks a stream's Hello (its token, or the client
	// certificate found with peer.FromContext(ctx)). An error ends the
	// stream: with its own gRPC status if it has one, PermissionDenied if
	// it matches ErrPermissionDenied, else Unauthenticated. Nil allows
	// every node.
	Authenticate func(ctx context.Context, hello *pb.Hello) error
	// IsNotFound reports whether an error of Source.Current means the
	// cluster has no version yet, like ErrNoVersion does. Nil: only
	// ErrNoVersion (and a nil info) mean that.
	IsNotFound func(error) bool
	// Nodes reads node records back when nodes connect, so NACKs survive
	// reconnects to other replicas and restarts. Nil: the Fleet, if it
	// implements NodeLookup; else only this server's memory of NACKs.
	Nodes NodeLookup
	// StoreTimeout bounds each call to Source.Current, the Fleet and Nodes
	// (not Source.Watch, which lasts). Default: 5s.
	StoreTimeout time.Duration
	// RetryInterval is how long a cluster watcher waits before it retries
	// a failed Source call or restarts an ended watch. Default: 1s.
	RetryInterval time.Duration
	// Registerer receives the server's metrics (pushes, ACKs, NACKs and
	// convergence by cluster; see Census for the gauges); NewServer panics
	// if they are registered there already. Nil: not exported.
	Registerer prometheus.Registerer
	// TracerProvider traces pushes: a span from each push to the node's
	// ACK or NACK. Nil: not traced.
	TracerProvider trace.TracerProvider
}

func (o Options) withDefaults() Options {
	if o.ServerID == "" {
		o.ServerID, _ = os.Hostname()
		if o.ServerID == "" {
			o.ServerID = "discovery"
		}
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TracerProvider == nil {
		o.TracerProvider = noop.NewTracerProvider()
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 5 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	return o
}

// nodeKey names a node across clusters.
type nodeKey struct{ cluster, id string }

// Server is the DiscoveryService. Register it on a grpc.Server; create that
// server with CodecOption to encode each version's snapshot once instead of
// once per stream.
type Server struct {
	pb.UnimplementedDiscoveryServiceServer

	src     Source
	fleet   Fleet
	opts    Options
	log     *slog.Logger
	metrics *metrics
	tracer  trace.Tracer

	noncePrefix string
	nonces      atomic.Uint64

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine and stream of the server

	mu       sync.Mutex
	closed   bool
	clusters map[string]*cluster
	nodes    map[nodeKey]*stream
	// nacks holds, per cluster and node, the last version the node NACKed
	// on this server, for as long as that version may still be pushed
	// (until the cluster moves past it).
	nacks map[string]map[string]*pb.NackInfo
}

var _ pb.DiscoveryServiceServer = (*Server)(nil)

// NewServer returns a server of src's versions that records node state in
// fleet.
func NewServer(src Source, fleet Fleet, opts Options) *Server {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		src:      src,
		fleet:    fleet,
		opts:     opts,
		log:      opts.Logger.With("component", "discovery", "server_id", opts.ServerID),
		ctx:      ctx,
		cancel:   cancel,
		clusters: map[string]*cluster{},
		nodes:    map[nodeKey]*stream{},
		nacks:    map[string]map[string]*pb.NackInfo{},
		metrics:  newMetrics(opts.Registerer),
		tracer:   opts.TracerProvider.Tracer("github.com/pingap-go/pingap/controlplane/discovery"),
	}
	// The start time keeps nonces unique across restarts of a replica that
	// keeps its id.
	if s.opts.Nodes == nil {
		s.opts.Nodes, _ = fleet.(NodeLookup)
	}
	s.noncePrefix = opts.ServerID + "-" + strconv.FormatInt(opts.Now().UnixNano(), 36) + "-"
	return s
}

// Register registers the DiscoveryService on g.
func (s *Server) Register(g *grpc.Server) {
	pb.RegisterDiscoveryServiceServer(g, s)
}

// Close ends every stream with codes.Unavailable, stops the cluster
// watchers and waits for them, for the streams and for their last node
// writes (each bounded by StoreTimeout). A stream blocked sending a push to
// a client that does not read ends only when its connection does; stop the
// grpc.Server too to bound that. Streams opened after Close are refused.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Stream implements pb.DiscoveryServiceServer: one data plane's session.
func (s *Server) Stream(ss pb.DiscoveryService_StreamServer) error {
	if !s.enter() {
		return errClosing
	}
	defer s.wg.Done()
	return newStream(s, ss).run()
}

var errClosing = status.Error(codes.Unavailable, "discovery: server closing")

// enter counts a goroutine of the server, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) nextNonce() string {
	return s.noncePrefix + strconv.FormatUint(s.nonces.Add(1), 10)
}

// authenticate runs the Authenticate hook and maps its error to a status.
func (s *Server) authenticate(ctx context.Context, hello *pb.Hello) error {
	if s.opts.Authenticate == nil {
		return nil
	}
	err := s.opts.Authenticate(ctx, hello)
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err
	}
	if errors.Is(err, ErrPermissionDenied) {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return status.Error(codes.Unauthenticated, err.Error())
}

func (s *Server) isNotFound(err error) bool {
	return errors.Is(err, ErrNoVersion) || (s.opts.IsNotFound != nil && s.opts.IsNotFound(err))
}

// join registers st as its node's stream and subscribes it to its
// cluster, starting the cluster's watcher if st is the first. A previous
// stream of the same node is told to end; st's node writer waits for that
// stream's writer so records are written in order.
func (s *Server) join(st *stream) (*cluster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosing
	}
	if old := s.nodes[st.key]; old != nil {
		s.log.Warn("node opened a new stream; ending its previous one", "cluster", st.key.cluster, "node", st.key.id)
		old.kick()
		st.writer.after = old.writer.done
	}
	s.nodes[st.key] = st
	c := s.clusters[st.key.cluster]
	if c == nil {
		c = newCluster(s, st.key.cluster)
		s.clusters[st.key.cluster] = c
		s.wg.Add(1)
		go c.run()
	}
	c.subs[st] = struct{}{}
	st.adopt(s.nacks[st.key.cluster][st.key.id], nil)
	return c, nil
}

// leave undoes join. It reports whether st still owned its node (no newer
// stream of the node replaced it).
func (s *Server) leave(st *stream, c *cluster) (owner bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes[st.key] == st {
		delete(s.nodes, st.key)
		owner = true
	}
	delete(c.subs, st)
	if v := c.latest.Load(); v != nil {
		v.conv.gone(st)
	}
	if len(c.subs) == 0 && s.clusters[c.name] == c {
		delete(s.clusters, c.name)
		c.stop()
	}
	return owner
}

// rememberNack keeps a node's NACK for its reconnects to this server.
func (s *Server) rememberNack(k nodeKey, info *pb.NackInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.nacks[k.cluster]
	if m == nil {
		m = map[string]*pb.NackInfo{}
		s.nacks[k.cluster] = m
	}
	m[k.id] = info
}

// forgetNacksBefore drops the NACK markers of versions older than version:
// those versions can no longer be pushed.
func (s *Server) forgetNacksBefore(cluster string, version uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.nacks[cluster]
	for id, n := range m {
		if n.GetVersion() < version {
			delete(m, id)
		}
	}
	if len(m) == 0 {
		delete(s.nacks, cluster)
	}
}

// fanOut tells every stream of c that a new version, v, is there.
func (s *Server) fanOut(c *cluster, v *version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.conv.expect(c.subs)
	for st := range c.subs {
		st.wake()
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
