// Package controlplane assembles a control-plane replica: the etcd store
// (embedded or external), the discovery gRPC service data planes stream
// from, and the admin HTTP API. A replica keeps nothing etcd does not hold,
// so any number of them may run against one etcd cluster.
package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/pingap-go/pingap/controlplane/admin"
	"github.com/pingap-go/pingap/controlplane/discovery"
	"github.com/pingap-go/pingap/controlplane/store"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Options configure a replica.
type Options struct {
	// DataDir holds the embedded etcd's data (DataDir/etcd). Used when
	// EtcdEndpoints is empty. Default: ./pingap-data.
	DataDir string
	// EmbeddedEtcdAddr is the client address ("host:port") of the embedded
	// etcd, so other replicas can use it with EtcdEndpoints. Default: a free
	// loopback port.
	EmbeddedEtcdAddr string
	// EtcdEndpoints selects an external etcd cluster instead of the
	// embedded one.
	EtcdEndpoints []string
	// EtcdTLS, EtcdUsername and EtcdPassword authenticate to an external
	// etcd.
	EtcdTLS                    *tls.Config
	EtcdUsername, EtcdPassword string
	// GRPCAddr is the discovery listener for data planes.
	// Default: 127.0.0.1:18000.
	GRPCAddr string
	// AdminAddr is the admin HTTP API listener. Default: 127.0.0.1:9180.
	AdminAddr string
	// GRPCTLS serves the discovery listener over TLS. With ClientCAs set in
	// it and ClientAuth RequireAndVerifyClientCert, data planes need a
	// client certificate, and a node's id must be named in it (common name
	// or a DNS name).
	GRPCTLS *tls.Config
	// Tokens are accepted bootstrap tokens; when any is set, a data plane
	// without mutual TLS must present one.
	Tokens []string
	// AdminTokensFile is the admin API's tokens file: one bearer token per
	// line as "TOKEN ROLE [NAME]", ROLE read or admin (see
	// admin.ParseTokens). These are for operators and pingapctl, not data
	// planes (those are Tokens). With neither AdminTokensFile nor
	// AdminTokens the admin API needs no authentication. Default: empty.
	AdminTokensFile string
	// AdminTokens are admin API tokens given directly (for example from
	// PINGAP_ADMIN_TOKENS, see admin.ParseTokensEnv), accepted next to
	// those of AdminTokensFile. Default: none.
	AdminTokens []admin.Token
	// AdminTLS serves the admin API over TLS. Nil: plain HTTP.
	AdminTLS *tls.Config
	// ServerID names this replica. Default: host name + ":" + GRPCAddr.
	ServerID string
	// HealthInterval is how often data planes report. Default: 10s.
	HealthInterval time.Duration
	// NodeTTL is how long a replica's nodes stay connected in etcd after
	// the replica vanished without closing. Default: 10s.
	NodeTTL time.Duration
	// Retention is how many versions each cluster keeps. Default: 100.
	Retention int
	// Logger receives all logs; nil discards.
	Logger *slog.Logger
	// Registry receives the replica's metrics (pingap_controlplane_*, see
	// docs/controlplane.md). Nil: a registry of the replica's own, never
	// the global one, so one process may run several replicas. Start fails
	// if the metrics are registered there already.
	Registry *prometheus.Registry
	// MetricsAddr is a listener serving Registry at /metrics. Default:
	// empty, no listener.
	MetricsAddr string
	// Pprof serves net/http/pprof's profiles under /debug/pprof/ on the
	// MetricsAddr listener. Default: false.
	Pprof bool
	// TracerProvider traces admin API requests (applies and rollbacks with
	// their result) and pushes (a span from each push to its ACK or NACK).
	// Nil: not traced.
	TracerProvider trace.TracerProvider
}

// ControlPlane is a running replica.
type ControlPlane struct {
	opts      Options
	log       *slog.Logger
	embedded  *store.Embedded
	store     *store.Store
	session   *store.Session
	discovery *discovery.Server
	grpc      *grpc.Server
	grpcLn    net.Listener
	admin     *http.Server
	adminLn   net.Listener
	metrics   *http.Server // nil without MetricsAddr
	metricsLn net.Listener
}

// Start opens the store, binds its listeners (discovery, admin API and, with
// MetricsAddr, metrics) and serves until Close.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	c := &ControlPlane{opts: withDefaults(opts)}
	c.log = c.opts.Logger
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := c.openStore(ctx); err != nil {
		return nil, err
	}
	if c.grpcLn, err = net.Listen("tcp", c.opts.GRPCAddr); err != nil {
		return nil, fmt.Errorf("controlplane: grpc listener: %w", err)
	}
	if c.adminLn, err = net.Listen("tcp", c.opts.AdminAddr); err != nil {
		return nil, fmt.Errorf("controlplane: admin listener: %w", err)
	}
	if c.opts.MetricsAddr != "" {
		if c.metricsLn, err = net.Listen("tcp", c.opts.MetricsAddr); err != nil {
			return nil, fmt.Errorf("controlplane: metrics listener: %w", err)
		}
	}
	if c.opts.ServerID == "" {
		host, _ := os.Hostname()
		c.opts.ServerID = host + ":" + c.grpcLn.Addr().String()
	}
	if c.session, err = c.store.Session(ctx, c.opts.NodeTTL); err != nil {
		return nil, fmt.Errorf("controlplane: fleet session: %w", err)
	}
	if err := c.session.Announce(ctx, c.opts.ServerID); err != nil {
		return nil, fmt.Errorf("controlplane: fleet session: %w", err)
	}
	c.discovery = discovery.NewServer(c.store, fleet{c.session, c.store}, discovery.Options{
		Registerer:     c.opts.Registry,
		ServerID:       c.opts.ServerID,
		HealthInterval: c.opts.HealthInterval,
		Logger:         c.log,
		Authenticate:   authenticator(c.opts.GRPCTLS, c.opts.Tokens),
		IsNotFound:     func(err error) bool { return errors.Is(err, store.ErrNotFound) },
		TracerProvider: c.opts.TracerProvider,
	})
	gopts := c.discovery.ServerOptions()
	if c.opts.GRPCTLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(c.opts.GRPCTLS)))
	}
	c.grpc = grpc.NewServer(gopts...)
	c.discovery.Register(c.grpc)
	api, err := admin.New(storeAdapter{c.store}, admin.Options{
		Logger:         c.log,
		IsNotFound:     func(err error) bool { return errors.Is(err, store.ErrNotFound) },
		IsConflict:     func(err error) bool { return errors.Is(err, store.ErrConflict) },
		Ready:          c.store.Ping,
		TokensFile:     c.opts.AdminTokensFile,
		Tokens:         c.opts.AdminTokens,
		Registerer:     c.opts.Registry,
		TracerProvider: c.opts.TracerProvider,
	})
	if err != nil {
		return nil, fmt.Errorf("controlplane: admin API: %w", err)
	}
	c.admin = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	if c.opts.AdminTLS != nil {
		c.adminLn = tls.NewListener(c.adminLn, c.opts.AdminTLS)
	}
	if err := c.opts.Registry.Register(newFleetCollector(c.opts.ServerID, c.discovery, c.store)); err != nil {
		return nil, fmt.Errorf("controlplane: register metrics: %w", err)
	}
	go func() { _ = c.grpc.Serve(c.grpcLn) }()
	go func() { _ = c.admin.Serve(c.adminLn) }()
	if c.metricsLn != nil {
		c.metrics = &http.Server{Handler: metricsHandler(c.opts.Registry, c.log, c.opts.Pprof), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = c.metrics.Serve(c.metricsLn) }()
		c.log.Info("control plane metrics", "addr", c.metricsLn.Addr().String(), "pprof", c.opts.Pprof)
	}
	c.log.Info("control plane serving", "server_id", c.opts.ServerID,
		"grpc", c.grpcLn.Addr().String(), "admin", c.adminLn.Addr().String(), "etcd", c.etcdDescription())
	return c, nil
}

func withDefaults(o Options) Options {
	if o.DataDir == "" {
		o.DataDir = "pingap-data"
	}
	if o.GRPCAddr == "" {
		o.GRPCAddr = "127.0.0.1:18000"
	}
	if o.AdminAddr == "" {
		o.AdminAddr = "127.0.0.1:9180"
	}
	if o.NodeTTL <= 0 {
		o.NodeTTL = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return o
}

func (c *ControlPlane) openStore(ctx context.Context) error {
	cfg := store.Config{
		Endpoints: c.opts.EtcdEndpoints, TLS: c.opts.EtcdTLS,
		Username: c.opts.EtcdUsername, Password: c.opts.EtcdPassword,
		Retention: c.opts.Retention, Logger: c.log, Registerer: c.opts.Registry,
	}
	if len(c.opts.EtcdEndpoints) == 0 {
		eo := store.EmbeddedOptions{Logger: c.log}
		if a := c.opts.EmbeddedEtcdAddr; a != "" {
			host, port, err := net.SplitHostPort(a)
			if err != nil {
				return fmt.Errorf("controlplane: embedded etcd address %q: %w", a, err)
			}
			eo.Host = host
			if eo.ClientPort, err = strconv.Atoi(port); err != nil {
				return fmt.Errorf("controlplane: embedded etcd address %q: bad port", a)
			}
		}
		e, err := store.StartEmbedded(ctx, filepath.Join(c.opts.DataDir, "etcd"), eo)
		if err != nil {
			return fmt.Errorf("controlplane: embedded etcd in %s: %w", c.opts.DataDir, err)
		}
		c.embedded = e
		cfg.Client = e.Client()
	}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("controlplane: etcd: %w", err)
	}
	c.store = s
	return nil
}

func (c *ControlPlane) etcdDescription() string {
	if c.embedded != nil {
		return fmt.Sprintf("embedded %v in %s", c.embedded.Endpoints(), c.opts.DataDir)
	}
	return fmt.Sprintf("%v", c.opts.EtcdEndpoints)
}

// GRPCAddr is the discovery listener's bound address.
func (c *ControlPlane) GRPCAddr() string { return c.grpcLn.Addr().String() }

// AdminAddr is the admin API's bound address.
func (c *ControlPlane) AdminAddr() string { return c.adminLn.Addr().String() }

// MetricsAddr is the metrics listener's bound address ("" without
// Options.MetricsAddr).
func (c *ControlPlane) MetricsAddr() string {
	if c.metricsLn == nil {
		return ""
	}
	return c.metricsLn.Addr().String()
}

// Registry is the registry of the replica's metrics (Options.Registry or
// its own).
func (c *ControlPlane) Registry() *prometheus.Registry { return c.opts.Registry }

// EtcdEndpoints are the embedded etcd's client URLs (nil with an external
// etcd).
func (c *ControlPlane) EtcdEndpoints() []string {
	if c.embedded == nil {
		return nil
	}
	return c.embedded.Endpoints()
}

// Store is the replica's version store.
func (c *ControlPlane) Store() *store.Store { return c.store }

// Close stops serving: streams end (data planes reconnect to another
// replica), the fleet session is revoked (this replica's nodes show
// DISCONNECTED until they reconnect), then the store closes.
func (c *ControlPlane) Close() {
	if c.discovery != nil {
		c.discovery.Close()
	}
	if c.grpc != nil {
		c.grpc.Stop()
	}
	for _, srv := range []*http.Server{c.admin, c.metrics} {
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
		}
	}
	for _, ln := range []net.Listener{c.grpcLn, c.adminLn, c.metricsLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if c.session != nil {
		_ = c.session.Close()
	}
	if c.store != nil {
		_ = c.store.Close()
	}
	if c.embedded != nil {
		_ = c.embedded.Close()
	}
}

// fleet is the discovery server's view of node records.
type fleet struct {
	*store.Session
	st *store.Store
}

// GetNode reads a node's record back; a node without one gives
// store.ErrNotFound, which the discovery server's IsNotFound recognizes.
func (f fleet) GetNode(ctx context.Context, cluster, id string) (*pb.NodeStatus, error) {
	return f.st.Node(ctx, cluster, id)
}

// storeAdapter fits the store to the admin API.
type storeAdapter struct{ *store.Store }

func (s storeAdapter) Apply(ctx context.Context, cluster string, snap *pb.Snapshot, meta admin.ApplyMeta) (*pb.VersionInfo, bool, error) {
	return s.Store.Apply(ctx, cluster, snap, store.ApplyMeta{Author: meta.Author, Message: meta.Message, IfVersion: meta.IfVersion})
}

func (s storeAdapter) Rollback(ctx context.Context, cluster string, to uint64, meta admin.ApplyMeta) (*pb.VersionInfo, bool, error) {
	return s.Store.Rollback(ctx, cluster, to, store.ApplyMeta{Author: meta.Author, Message: meta.Message, IfVersion: meta.IfVersion})
}
