package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zapcore"
)

// Defaults of Config.
const (
	// DefaultPrefix is the key prefix when Config.Prefix is empty.
	DefaultPrefix = "/pingap"
	// DefaultRetention is the number of versions kept per cluster when
	// Config.Retention is 0.
	DefaultRetention = 100
	// DefaultDialTimeout is Config.DialTimeout's default.
	DefaultDialTimeout = 5 * time.Second
)

// Config configures Open. Exactly one of Endpoints and Client is set.
type Config struct {
	// Endpoints are the client URLs of an external etcd cluster; Open
	// creates a client for them and Close closes it. Empty: use Client.
	Endpoints []string
	// Client is an existing client (for example Embedded.Client()); the
	// Store never closes it.
	Client *clientv3.Client
	// TLS is the client TLS config for Endpoints. Nil: plain connections.
	TLS *tls.Config
	// Username and Password authenticate to Endpoints when set.
	Username, Password string
	// DialTimeout bounds Open's first request to Endpoints.
	// Default: 5s.
	DialTimeout time.Duration
	// Prefix is the prefix of every key the Store uses, so several
	// installations can share one etcd. Default: "/pingap".
	Prefix string
	// Retention is how many versions are kept per cluster; older manifests
	// are deleted after each apply, and objects no kept version of any
	// cluster references are collected. Default: 100. Negative is an error.
	Retention int
	// Logger receives the Store's warnings (failed pruning, watch
	// restarts). Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock for version and node timestamps. Default: time.Now.
	Now func() time.Time
	// Registerer receives the Store's metric: the duration of its etcd
	// requests (pingap_controlplane_etcd_request_duration_seconds). Open
	// fails if it is registered there already. Nil: not exported.
	Registerer prometheus.Registerer
}

// Store keeps config versions, the objects they are made of and fleet state
// in etcd. It is safe for concurrent use, and any number of Stores (one per
// control-plane replica) may share one etcd.
type Store struct {
	client    *clientv3.Client
	kv        clientv3.KV    // client's, timed; every KV request goes here
	lease     clientv3.Lease // client's, timed
	m         *metrics
	ownClient bool
	keys      keys
	retention int
	log       *slog.Logger
	now       func() time.Time

	// ctx ends when the Store is closed; watches and sessions stop then.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Open connects to etcd as cfg says and checks that it answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("store: retention %d is negative", cfg.Retention)
	}
	if (len(cfg.Endpoints) == 0) == (cfg.Client == nil) {
		return nil, errors.New("store: set exactly one of Endpoints and Client")
	}
	s := &Store{
		client:    cfg.Client,
		keys:      newKeys(cfg.Prefix),
		retention: cfg.Retention,
		log:       cfg.Logger,
		now:       cfg.Now,
	}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	m := newMetrics()
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	if s.client == nil {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   cfg.Endpoints,
			TLS:         cfg.TLS,
			Username:    cfg.Username,
			Password:    cfg.Password,
			DialTimeout: dialTimeout,
			Logger:      newZapLogger(s.log, zapcore.WarnLevel),
		})
		if err != nil {
			return nil, fmt.Errorf("store: connect to etcd %v: %w", cfg.Endpoints, err)
		}
		s.client, s.ownClient = c, true
	}
	s.m, s.kv, s.lease = m, timedKV{s.client.KV, m}, timedLease{s.client.Lease, m}
	pingCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		if s.ownClient {
			_ = s.client.Close()
		}
		return nil, err
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.vec); err != nil {
			if s.ownClient {
				_ = s.client.Close()
			}
			return nil, fmt.Errorf("store: register metrics: %w", err)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Ping checks that etcd answers, with one count-only read of one key: cheap
// enough for a readiness probe.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.kv.Get(ctx, s.keys.gcFence, clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("store: etcd %v does not answer: %w", s.client.Endpoints(), err)
	}
	return nil
}

// Close stops the Store's watches and session keep-alives and closes the
// etcd client if Open created it. Sessions should be closed first, so their
// nodes turn disconnected at once rather than after their lease's TTL.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		if s.ownClient {
			err = s.client.Close()
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("store: close etcd client: %w", err)
	}
	return nil
}

// keys builds the Store's etcd keys; see the package comment for the
// layout. Cluster names and node ids are path-escaped, so they may hold any
// character.
type keys struct {
	prefix   string // "/pingap/"
	objects  string // "/pingap/objects/"
	clusters string // "/pingap/clusters/"
	nodes    string // "/pingap/nodes/"
	live     string // "/pingap/live/"
	replicas string // "/pingap/replicas/"
	// gcFence is written by every collection that deletes objects; an apply
	// commits only if it is unchanged since the apply began.
	gcFence string
	// applyEpoch is written by every committed apply; a collection deletes
	// only if it is unchanged since it read the manifests.
	applyEpoch string
}

func newKeys(prefix string) keys {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	p := strings.TrimRight(prefix, "/") + "/"
	return keys{
		prefix:     p,
		objects:    p + "objects/",
		clusters:   p + "clusters/",
		nodes:      p + "nodes/",
		live:       p + "live/",
		replicas:   p + "replicas/",
		gcFence:    p + "meta/gc-fence",
		applyEpoch: p + "meta/apply-epoch",
	}
}

func (k keys) object(hash string) string { return k.objects + hash }

func (k keys) cluster(c string) string { return k.clusters + url.PathEscape(c) + "/" }

func (k keys) current(c string) string { return k.cluster(c) + "current" }

func (k keys) versions(c string) string { return k.cluster(c) + "versions/" }

func (k keys) version(c string, v uint64) string {
	return fmt.Sprintf("%s%020d", k.versions(c), v)
}

func (k keys) nodeDir(c string) string { return k.nodes + url.PathEscape(c) + "/" }

func (k keys) node(c, id string) string { return k.nodeDir(c) + url.PathEscape(id) }

func (k keys) liveDir(c string) string { return k.live + url.PathEscape(c) + "/" }

func (k keys) liveNode(c, id string) string { return k.liveDir(c) + url.PathEscape(id) }

func checkCluster(cluster string) error {
	if cluster == "" {
		return errors.New("store: empty cluster name")
	}
	return nil
}
