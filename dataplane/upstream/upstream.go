package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Defaults of the Upstream config fields.
const (
	DefaultConnectionTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 90 * time.Second
	DefaultPoolSize          = 512
)

// Options are the process-wide inputs of [New].
type Options struct {
	// Logger receives health changes and lifecycle events. Nil discards them.
	Logger *slog.Logger
	// DefaultPoolSize is the number of idle keep-alive connections kept per
	// target when the config's keepalive_pool_size is 0 (the data plane passes
	// settings.upstream_keepalive_pool_size). Zero means DefaultPoolSize.
	DefaultPoolSize int
	// Rand is the random source of the random balancer and of the health
	// checks' jitter; it must be safe for concurrent use. Nil means
	// math/rand/v2's Uint64.
	Rand func() uint64
	// Now is the clock of outlier detection (ejection times) and of Status.
	// Nil means time.Now.
	Now func() time.Time
	// After returns a channel that receives after d; the health checks wait
	// between probes with it. Nil means time.After.
	After func(d time.Duration) <-chan time.Time
	// Previous is the upstream of the same name that this one replaces on a
	// reload, or nil. Targets whose address remains inherit its health
	// state: active health (when this upstream has a health_check), outlier
	// ejection and counters (when outlier detection is on). New only reads
	// Previous; the caller still closes it.
	Previous *Upstream
	// Metrics observes the upstream's attempts; nil observes nothing.
	Metrics *observe.Upstream
}

// Upstream is a built backend pool: its targets, its balancer and its
// keep-alive transport, and its active health checks. It is safe for
// concurrent use; only the targets' in-flight counts and health change after
// New.
type Upstream struct {
	name      string
	cfg       *pb.Upstream
	targets   []*Target
	pool      *pool
	balancer  balancer
	failOpen  balancer // nil unless fail_open: the balancer that ignores health
	transport roundTripper
	logger    *slog.Logger
	health    *activeHealth // nil without health_check
	metrics   *observe.Upstream

	mu      sync.Mutex // guards started, closed and cancel
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the health check goroutines
}

// New builds the upstream called name from cfg. Errors name the field, as in
// `upstreams.api.addrs[1]: invalid address "x": ...`. The caller keeps cfg;
// New keeps a copy for [Upstream.Config].
func New(name string, cfg *pb.Upstream, opts Options) (*Upstream, error) {
	prefix := "upstreams." + name
	if cfg == nil {
		return nil, fmt.Errorf("%s: missing config", prefix)
	}
	opts = opts.withDefaults()
	logger := opts.Logger
	p := &pool{name: name, logger: logger, now: opts.Now, metrics: opts.Metrics}
	targets, err := parseTargets(prefix, cfg.GetAddrs(), p)
	if err != nil {
		return nil, err
	}
	if p.outlier, err = parseOutlier(prefix, cfg.GetOutlierDetection(), len(targets)); err != nil {
		return nil, err
	}
	algo, err := config.ParseAlgo(cfg.GetAlgo())
	if err != nil {
		return nil, fmt.Errorf("%s.algo: %w", prefix, err)
	}
	newBalancer, ok := balancers[algo.Kind]
	if !ok {
		return nil, fmt.Errorf("%s.algo: algo %q is not supported by the data plane", prefix, cfg.GetAlgo())
	}
	tc, err := parseTransportConfig(prefix, cfg, opts.DefaultPoolSize)
	if err != nil {
		return nil, err
	}
	p.probeTTL = (tc.connect + tc.read).Nanoseconds()
	health, err := newActiveHealth(prefix, cfg, targets, opts)
	if err != nil {
		return nil, err
	}
	params := balancerParams{targets: targets, algo: algo, rand: opts.Rand, pool: p}
	u := &Upstream{
		name:      name,
		cfg:       proto.Clone(cfg).(*pb.Upstream),
		targets:   targets,
		pool:      p,
		balancer:  newBalancer(params),
		transport: newTransport(tc),
		logger:    logger,
		health:    health,
		metrics:   opts.Metrics,
	}
	if cfg.GetFailOpen() {
		params.all = true
		u.failOpen = newBalancer(params)
	}
	u.inherit(opts.Previous)
	logger.Debug("upstream built", "upstream", name, "targets", len(targets), "algo", cfg.GetAlgo())
	return u, nil
}

// Metrics observes the upstream's attempts (nil observes nothing).
func (u *Upstream) Metrics() *observe.Upstream { return u.metrics }

// withDefaults fills in the nil fields of o.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rand == nil {
		o.Rand = rand.Uint64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

func parseTargets(prefix string, addrs []string, p *pool) ([]*Target, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s.addrs: at least one target is required", prefix)
	}
	seen := make(map[string]int, len(addrs))
	targets := make([]*Target, 0, len(addrs))
	for i, s := range addrs {
		ct, err := config.ParseTarget(s)
		if err != nil {
			return nil, fmt.Errorf("%s.addrs[%d]: %w", prefix, i, err)
		}
		if j, dup := seen[ct.Addr]; dup {
			return nil, fmt.Errorf("%s.addrs[%d]: duplicate target %q (also addrs[%d]); give one entry a higher weight instead", prefix, i, ct.Addr, j)
		}
		seen[ct.Addr] = i
		targets = append(targets, newTarget(ct.Addr, ct.Weight, p))
	}
	return targets, nil
}

// parseTransportConfig reads the timeouts and the pool size. An unset or zero
// timeout takes its default.
func parseTransportConfig(prefix string, cfg *pb.Upstream, defaultPool int) (transportConfig, error) {
	var tc transportConfig
	var err error
	fields := []struct {
		name string
		d    *durationpb.Duration
		def  time.Duration
		dst  *time.Duration
	}{
		{"connection_timeout", cfg.GetConnectionTimeout(), DefaultConnectionTimeout, &tc.connect},
		{"read_timeout", cfg.GetReadTimeout(), DefaultReadTimeout, &tc.read},
		{"idle_timeout", cfg.GetIdleTimeout(), DefaultIdleTimeout, &tc.idle},
		{"write_timeout", cfg.GetWriteTimeout(), 0, &tc.write},
	}
	for _, f := range fields {
		if *f.dst, err = duration(f.d, f.def); err != nil {
			return tc, fmt.Errorf("%s.%s: %w", prefix, f.name, err)
		}
	}
	if tc.alpn, err = config.ParseALPN(cfg.GetAlpn()); err != nil {
		return tc, fmt.Errorf("%s.alpn: %w", prefix, err)
	}
	if tc.tls, err = upstreamClientTLS(prefix, cfg, tc.alpn); err != nil {
		return tc, err
	}
	tc.poolSize = int(cfg.GetKeepalivePoolSize())
	if tc.poolSize == 0 {
		tc.poolSize = defaultPool
	}
	if tc.poolSize <= 0 {
		tc.poolSize = DefaultPoolSize
	}
	tc.maxConns = int(cfg.GetMaxConnections())
	return tc, nil
}

func duration(d *durationpb.Duration, def time.Duration) (time.Duration, error) {
	if d == nil {
		return def, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, fmt.Errorf("invalid duration: %w", err)
	}
	v := d.AsDuration()
	switch {
	case v < 0:
		return 0, fmt.Errorf("invalid duration %s: negative", v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// Name returns the upstream's name.
func (u *Upstream) Name() string { return u.name }

// Config returns the config the upstream was built from. The runtime compares
// it with proto.Equal to reuse unchanged upstreams across reloads. The caller
// must not modify it.
func (u *Upstream) Config() *pb.Upstream { return u.cfg }

// Targets returns the upstream's targets in config order. The slice is a
// copy; the targets are shared.
func (u *Upstream) Targets() []*Target {
	return append([]*Target(nil), u.targets...)
}

// pickAttempts bounds how often Pick asks the balancer again after the
// picked target became unusable (a half-open target whose one probe request
// another pick took).
const pickAttempts = 4

// Pick chooses the target for a request with the upstream's balancer among
// the usable targets ([Target.Healthy]). clientIP is used by hash:ip; r by
// the other hash algorithms. A half-open target is returned to exactly one
// caller until its outcome is observed. When no target is usable, Pick
// returns ErrNoTarget, or with fail_open the balancer's pick among all
// targets, health ignored.
func (u *Upstream) Pick(r *http.Request, clientIP netip.Addr) (*Target, error) {
	for range pickAttempts {
		t := u.balancer.pick(r, clientIP)
		if t == nil {
			break
		}
		if t.claim() {
			return t, nil
		}
	}
	if u.failOpen != nil {
		if t := u.failOpen.pick(r, clientIP); t != nil {
			return t, nil
		}
	}
	return nil, ErrNoTarget
}

// Transport returns the upstream's pooled keep-alive transport, shared by all
// its targets. The proxy sends each request with RoundTrip, with
// URL.Scheme "http" ("https" when the upstream speaks TLS) and URL.Host the
// picked target's Addr.
//
// Settings: connection_timeout bounds the dial (TCP keep-alive probes on);
// read_timeout bounds the wait for response headers once the request is
// written; idle_timeout is how long an idle connection is kept; write_timeout,
// when set, is the deadline of each write of the request to the connection;
// at most keepalive_pool_size idle connections are kept per target. It uses
// no proxy and does not ask for compression. With alpn h1 it is an
// [h1client.Client], which sends a request body without waiting for "100
// Continue"; otherwise a [net/http.Transport] speaking the protocols alpn
// names, which waits 1s for "100 Continue".
func (u *Upstream) Transport() http.RoundTripper { return u.transport }

// Start starts the active health checks, one goroutine per target, each
// probing its target at once and then every check_frequency. New starts
// nothing, so that a runtime built only to be validated costs no probes; the
// runtime calls Start when it begins serving with the upstream. Start is
// idempotent and does nothing after Close or without a health_check.
func (u *Upstream) Start() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.started || u.closed || u.health == nil {
		return
	}
	u.started = true
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	for i, t := range u.targets {
		c := u.health.checkers[i]
		u.wg.Go(func() { u.health.run(ctx, t, c) })
	}
	u.logger.Debug("upstream health checks started", "upstream", u.name, "targets", len(u.targets))
}

// Close stops the health checks and waits for them, and closes the idle
// connections of the transport and of the checks. Requests in flight finish;
// their connections are closed when they become idle, unless a new request
// was sent meanwhile. Close is called when a reload retires the upstream; it
// is idempotent.
func (u *Upstream) Close() {
	u.mu.Lock()
	u.closed = true
	cancel := u.cancel
	u.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	u.wg.Wait()
	if u.health != nil {
		u.health.close()
	}
	if c, ok := u.transport.(interface{ Close() }); ok {
		c.Close() // connections still in use close when their request ends
	} else {
		u.transport.CloseIdleConnections()
	}
	u.logger.Debug("upstream closed", "upstream", u.name, "inflight", u.pool.inflight.Load())
}
