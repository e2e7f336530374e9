// Package runtime compiles a config snapshot into the immutable objects the
// data plane serves from (routers, location handlers, upstream pools), and
// carries what must survive a reload (pools of unchanged upstreams) from one
// Runtime to the next.
package runtime

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/accesslog"
	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/proxy"
	"github.com/pingap-go/pingap/dataplane/tracing"
	"github.com/pingap-go/pingap/dataplane/upstream"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Defaults for settings the snapshot leaves unset.
const (
	DefaultGracePeriod  = 10 * time.Second
	defaultHeaderTimout = 10 * time.Second
	defaultIdleTimeout  = 60 * time.Second
	defaultMaxHeader    = 1 << 20
)

// Options are the inputs of Build that do not come from the snapshot.
type Options struct {
	// Logger is the data plane's logger; nil discards.
	Logger *slog.Logger
	// Plugins resolves plugin categories; nil means no plugins are known.
	Plugins *plugin.Registry
	// Now is the plugins' clock; nil means time.Now.
	Now func() time.Time
	// Stats returns the data plane's statistics for the stats plugin.
	Stats func() any
	// Metrics are the data plane's metrics; nil observes nothing.
	Metrics *observe.Metrics
	// Tracing tunes the span exporter (tests shorten its batches).
	Tracing tracing.Options
	// AccessLogOut receives the access logs when settings.access_log has
	// no path; nil is os.Stdout.
	AccessLogOut io.Writer
}

// Runtime is one compiled config version. It is immutable; a reload builds a
// new one and the data plane swaps it in.
type Runtime struct {
	snapshot  *pb.Snapshot
	hash      string
	servers   map[string]*Server
	upstreams map[string]*upstream.Upstream
	plugins   map[string]*shared[*pluginInstance]
	tracer    *shared[*tracing.Tracer]   // nil without settings.tracing
	accessLog *shared[*accesslog.Writer] // nil when no server logs
	grace     time.Duration
	released  sync.Once
}

// shared is a resource that runtimes carry over from one to the next (a
// plugin instance, the tracer, the access log writer). Each runtime that
// holds it counts, and the last one to let go closes it, in whatever order
// a quick series of reloads releases them.
type shared[T any] struct {
	v     T
	refs  atomic.Int32
	close func(T)
}

func share[T any](v T, closeFn func(T)) *shared[T] { return &shared[T]{v: v, close: closeFn} }

// hold adds a holder.
func (s *shared[T]) hold() *shared[T] {
	s.refs.Add(1)
	return s
}

// drop removes a holder and closes the resource when it was the last.
func (s *shared[T]) drop() {
	if s.refs.Add(-1) == 0 {
		s.close(s.v)
	}
}

// pluginInstance is a built plugin, kept so that a reload which does not
// change its config (nor the trusted proxies it resolves clients through)
// carries it over with its state: caches, counters, fetched keys.
type pluginInstance struct {
	cfg     *pb.Plugin
	mw      plugin.Middleware
	closers []func()
	// uses are the upstreams the instance looked up while it was built; it
	// is carried over only if the next config keeps each of them.
	uses map[string]*upstream.Upstream
}

// close runs the instance's cleanups (they are idempotent).
func (p *pluginInstance) close() {
	for _, fn := range p.closers {
		fn()
	}
}

// Server is a compiled server with the listener settings it needs.
type Server struct {
	// Handler routes and serves the server's requests.
	Handler *proxy.Server
	// Addrs are the listen addresses.
	Addrs []string
	// Listener holds the http.Server settings for this server's listeners.
	Listener ListenerSettings
	// TLS is the server's TLS config (certificates chosen by SNI), nil for
	// plain HTTP. Listeners look it up per handshake, so a reload swaps
	// certificates without touching open connections.
	TLS *tls.Config
	// Unmatched counts the requests answered before a location was chosen
	// (no location matched, or too many header fields).
	Unmatched *observe.Location
	// Entry is what the listener serves: Handler, wrapped by tracing when
	// the config traces.
	Entry http.Handler
	// AccessLog writes the server's access log; nil when it has none.
	AccessLog observe.AccessLogger
}

// ListenerSettings are the per-listener timeouts and limits; a change in them
// restarts the listener's HTTP server (the socket stays open).
type ListenerSettings struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// TLS is set when the server terminates TLS (HTTP/2 offered by ALPN).
	TLS bool
	// H2C accepts HTTP/2 with prior knowledge on a plain listener.
	H2C bool
	// MaxConnections caps concurrent connections per listen address; 0 is
	// no limit.
	MaxConnections int
	// MaxHeaderCount caps request header fields (HTTP/1.x is refused with
	// 431 before routing).
	MaxHeaderCount int
}

// Build validates snap and compiles it. prev, when not nil, is the runtime
// being replaced: upstreams whose config did not change are carried over with
// their connection pools. On error nothing of prev is touched.
func Build(snap *pb.Snapshot, prev *Runtime, opts Options) (_ *Runtime, err error) {
	if err := config.Validate(snap, nil); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	settings := snap.GetSettings()
	rt := &Runtime{
		snapshot:  snap,
		hash:      config.Hash(snap),
		servers:   map[string]*Server{},
		upstreams: map[string]*upstream.Upstream{},
		plugins:   map[string]*shared[*pluginInstance]{},
		grace:     durationOr(settings.GetGracePeriod().AsDuration(), DefaultGracePeriod),
	}
	defer func() {
		if err != nil {
			rt.release(prev) // what rt created that prev does not own
		}
	}()
	trusted, err := proxy.ParseTrustedProxies(settings.GetTrustedProxies())
	if err != nil {
		return nil, err
	}
	poolSize := rt.poolSize()
	for _, name := range slices.Sorted(maps.Keys(snap.GetUpstreams())) {
		cfg := snap.GetUpstreams()[name]
		if old := prev.reusable(name, cfg, poolSize); old != nil {
			rt.upstreams[name] = old
			continue
		}
		var previous *upstream.Upstream
		if prev != nil {
			previous = prev.upstreams[name] // health and ejection state carry over by address
		}
		u, err := upstream.New(name, cfg, upstream.Options{Logger: logger, DefaultPoolSize: poolSize, Previous: previous,
			Metrics: opts.Metrics.Upstream(name)})
		if err != nil {
			return nil, err
		}
		rt.upstreams[name] = u
	}
	if err := rt.buildPlugins(prev, opts, logger, trusted); err != nil {
		return nil, err
	}
	if err := rt.buildTracer(prev, opts); err != nil {
		return nil, err
	}
	rt.buildAccessLog(prev, opts, logger)
	certs, err := loadCertificates(snap)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(snap.GetServers())) {
		s, err := rt.buildServer(name, snap, trusted, logger, opts.Metrics)
		if err != nil {
			return nil, err
		}
		if s.TLS, err = serverTLS(name, snap.GetServers()[name], snap, certs); err != nil {
			return nil, err
		}
		if rt.tracer != nil {
			s.Entry = rt.tracer.v.Wrap(s.Handler, func(r *http.Request) string { return trusted.RequestClientIP(r).String() })
		}
		if s.AccessLog, err = rt.serverAccessLog(name, trusted, opts); err != nil {
			return nil, err
		}
		rt.servers[name] = s
	}
	return rt, nil
}

// buildTracer sets up settings.tracing, keeping prev's tracer when the
// settings did not change (its exporter and queued spans carry over).
func (rt *Runtime) buildTracer(prev *Runtime, opts Options) error {
	cfg := rt.snapshot.GetSettings().GetTracing()
	if cfg == nil {
		return nil
	}
	if prev != nil && prev.tracer != nil && proto.Equal(prev.snapshot.GetSettings().GetTracing(), cfg) {
		rt.tracer = prev.tracer.hold()
		return nil
	}
	t, err := tracing.New(cfg, opts.Tracing)
	if err != nil {
		return err
	}
	rt.tracer = share(t, (*tracing.Tracer).Close).hold()
	return nil
}

// buildAccessLog starts the writer of settings.access_log when a server
// logs, keeping prev's writer when the output did not change (its queue and
// open file carry over).
func (rt *Runtime) buildAccessLog(prev *Runtime, opts Options, logger *slog.Logger) {
	logs := false
	for _, s := range rt.snapshot.GetServers() {
		logs = logs || s.GetAccessLog() != ""
	}
	if !logs {
		return
	}
	cfg := rt.snapshot.GetSettings().GetAccessLog()
	if prev != nil && prev.accessLog != nil && sameOutput(prev.snapshot.GetSettings().GetAccessLog(), cfg) {
		rt.accessLog = prev.accessLog.hold()
		return
	}
	w := accesslog.NewWriter(cfg, accesslog.WriterOptions{
		Stdout: opts.AccessLogOut, Logger: logger.With("component", "access_log"),
		Dropped: opts.Metrics.AccessLogDropped(), Written: opts.Metrics.AccessLogWritten(),
	})
	rt.accessLog = share(w, func(w *accesslog.Writer) { _ = w.Close() }).hold()
}

// sameOutput reports whether two settings.access_log are the same output;
// none is standard output with the defaults.
func sameOutput(a, b *pb.AccessLogOutput) bool {
	if a == nil {
		a = &pb.AccessLogOutput{}
	}
	if b == nil {
		b = &pb.AccessLogOutput{}
	}
	return proto.Equal(a, b)
}

// serverAccessLog is the access logger of the server called name: its
// format bound to the shared writer; nil when it does not log.
func (rt *Runtime) serverAccessLog(name string, trusted *proxy.TrustedProxies, opts Options) (observe.AccessLogger, error) {
	format := rt.snapshot.GetServers()[name].GetAccessLog()
	if format == "" || rt.accessLog == nil {
		return nil, nil
	}
	fopts := []accesslog.Option{accesslog.WithClientIP(trusted.RequestClientIP)}
	if opts.Now != nil {
		fopts = append(fopts, accesslog.WithClock(opts.Now))
	}
	f, err := accesslog.Compile(format, fopts...)
	if err != nil {
		return nil, fmt.Errorf("servers.%s.access_log: %w", name, err)
	}
	return rt.accessLog.v.Logger(f), nil
}

func (rt *Runtime) buildServer(name string, snap *pb.Snapshot, trusted *proxy.TrustedProxies,
	logger *slog.Logger, metrics *observe.Metrics) (*Server, error) {
	cfg := snap.GetServers()[name]
	addrs, err := config.ParseListenAddrs(cfg.GetAddr())
	if err != nil {
		return nil, fmt.Errorf("servers.%s.addr: %w", name, err)
	}
	serverPlugins := rt.pick(cfg.GetPlugins())
	locs := map[string]*proxy.Location{}
	for _, ln := range cfg.GetLocations() {
		lc := snap.GetLocations()[ln]
		if lc == nil {
			continue // NewServer reports the dangling reference
		}
		var up *upstream.Upstream
		if lc.GetUpstream() != "" {
			up = rt.upstreams[lc.GetUpstream()]
			if up == nil {
				return nil, fmt.Errorf("locations.%s.upstream: unknown upstream %q", ln, lc.GetUpstream())
			}
		}
		mws := append(append([]plugin.Middleware{}, serverPlugins...), rt.pick(lc.GetPlugins())...)
		loc, err := proxy.NewLocation(ln, lc, up, proxy.LocationOptions{
			Trusted: trusted, Logger: logger.With("server", name), Plugins: mws,
			Metrics: metrics.Location(name, ln, lc.GetUpstream()),
		})
		if err != nil {
			return nil, err
		}
		locs[ln] = loc
	}
	h, err := proxy.NewServer(name, cfg, locs, snap.GetLocations())
	if err != nil {
		return nil, err
	}
	ls := ListenerSettings{
		ReadHeaderTimeout: durationOr(cfg.GetReadHeaderTimeout().AsDuration(), defaultHeaderTimout),
		ReadTimeout:       cfg.GetReadTimeout().AsDuration(),
		WriteTimeout:      cfg.GetWriteTimeout().AsDuration(),
		IdleTimeout:       durationOr(cfg.GetIdleTimeout().AsDuration(), defaultIdleTimeout),
		MaxHeaderBytes:    defaultMaxHeader,
		TLS:               config.ServerTLS(cfg),
		H2C:               cfg.GetEnabledH2() && !config.ServerTLS(cfg),
		MaxConnections:    int(cfg.GetMaxConnections()),
		MaxHeaderCount:    h.MaxHeaderCount(),
	}
	if n := cfg.GetMaxHeaderSize(); n > 0 {
		ls.MaxHeaderBytes = int(min(n, 1<<30))
	}
	return &Server{Handler: h, Entry: h, Addrs: addrs, Listener: ls, Unmatched: metrics.Location(name, "", "")}, nil
}

// buildPlugins builds the snapshot's plugins, carrying over prev's
// instances whose config and trusted proxies did not change.
func (rt *Runtime) buildPlugins(prev *Runtime, opts Options, logger *slog.Logger, trusted *proxy.TrustedProxies) error {
	reg := opts.Plugins
	if reg == nil {
		reg = plugin.NewRegistry()
	}
	sameTrust := prev != nil && slices.Equal(prev.snapshot.GetSettings().GetTrustedProxies(),
		rt.snapshot.GetSettings().GetTrustedProxies())
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(rt.snapshot.GetPlugins())) {
		cfg := rt.snapshot.GetPlugins()[name]
		if sameTrust {
			if old := prev.plugins[name]; old != nil && proto.Equal(old.v.cfg, cfg) && rt.keeps(old.v.uses) {
				rt.plugins[name] = old.hold()
				continue
			}
		}
		inst := &pluginInstance{cfg: cfg, uses: map[string]*upstream.Upstream{}}
		mw, err := reg.Build(plugin.BuildContext{
			Logger:   logger.With("plugin", name),
			ClientIP: trusted.RequestClientIP,
			Now:      opts.Now,
			OnClose:  func(fn func()) { inst.closers = append(inst.closers, fn) },
			Upstream: func(name string) *upstream.Upstream {
				u := rt.upstreams[name]
				inst.uses[name] = u
				return u
			},
			Stats: opts.Stats,
			Counter: func(event string) func() {
				return opts.Metrics.PluginCounter(name, cfg.GetCategory(), event)
			},
		}, name, cfg)
		if err != nil {
			inst.close() // what it registered before failing
			errs = append(errs, err)
			continue
		}
		inst.mw = mw
		rt.plugins[name] = share(inst, (*pluginInstance).close).hold()
	}
	return errors.Join(errs...)
}

// keeps reports whether rt has the same upstream objects as uses.
func (rt *Runtime) keeps(uses map[string]*upstream.Upstream) bool {
	for name, u := range uses {
		if rt.upstreams[name] != u {
			return false
		}
	}
	return true
}

// pick returns the middlewares of the named plugins, in order.
func (rt *Runtime) pick(names []string) []plugin.Middleware {
	out := make([]plugin.Middleware, 0, len(names))
	for _, n := range names {
		if p := rt.plugins[n]; p != nil {
			out = append(out, p.v.mw)
		}
	}
	return out
}

// reusable returns prev's upstream called name when its config is unchanged.
func (rt *Runtime) reusable(name string, cfg *pb.Upstream, poolSize int) *upstream.Upstream {
	if rt == nil {
		return nil
	}
	old := rt.upstreams[name]
	if old == nil || !proto.Equal(old.Config(), cfg) {
		return nil
	}
	if cfg.GetKeepalivePoolSize() == 0 && rt.poolSize() != poolSize {
		return nil
	}
	return old
}

// poolSize is the keepalive pool size of upstreams that set none.
func (rt *Runtime) poolSize() int {
	if n := int(rt.snapshot.GetSettings().GetUpstreamKeepalivePoolSize()); n > 0 {
		return n
	}
	return upstream.DefaultPoolSize
}

// release closes rt's upstreams that other does not share and lets go of
// rt's shared resources (once).
func (rt *Runtime) release(other *Runtime) {
	rt.closeUpstreams(other)
	rt.released.Do(func() { // rt lets go of its shared resources once
		for _, p := range rt.plugins {
			p.drop()
		}
		if rt.tracer != nil {
			rt.tracer.drop()
		}
		if rt.accessLog != nil {
			rt.accessLog.drop()
		}
	})
}

// closeUpstreams closes rt's upstreams that other does not share.
func (rt *Runtime) closeUpstreams(other *Runtime) {
	for name, u := range rt.upstreams {
		if other == nil || other.upstreams[name] != u {
			u.Close()
		}
	}
}

// Retire starts retiring rt once next serves: the upstreams next does not
// carry over stop their health checks and close their idle connections.
// Requests still in flight on rt finish; call Retire again a little later
// to close the connections they returned to the pools, and Release once
// they drained.
func (rt *Runtime) Retire(next *Runtime) {
	if rt == nil {
		return
	}
	rt.closeUpstreams(next)
}

// Release closes the upstreams rt holds that next does not carry over, and
// lets go of rt's plugin instances, tracer and access log writer: each is
// closed (cleanups run, queued spans and lines are sent) once no runtime
// holds it any more. Call it once rt's requests drained, or with nil on
// shutdown; later calls do nothing more than Retire.
func (rt *Runtime) Release(next *Runtime) {
	if rt == nil {
		return
	}
	rt.release(next)
}

// Start starts the background work of the runtime's upstreams (active
// health checks). It is idempotent; call it once the runtime serves.
func (rt *Runtime) Start() {
	for _, u := range rt.upstreams {
		u.Start()
	}
}

// Snapshot is the config this runtime was built from.
func (rt *Runtime) Snapshot() *pb.Snapshot { return rt.snapshot }

// Hash is the snapshot's content hash.
func (rt *Runtime) Hash() string { return rt.hash }

// Servers are the compiled servers by name.
func (rt *Runtime) Servers() map[string]*Server { return rt.servers }

// Upstreams are the upstream pools by name.
func (rt *Runtime) Upstreams() map[string]*upstream.Upstream { return rt.upstreams }

// GracePeriod is how long draining requests may take.
func (rt *Runtime) GracePeriod() time.Duration { return rt.grace }

// AdminAddr is the status listener's address, empty when disabled.
func (rt *Runtime) AdminAddr() string { return rt.snapshot.GetSettings().GetAdminAddr() }

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
