// Package dataplane runs the proxy: it applies config snapshots (from a file
// or, later, a control plane) all or nothing, owns the listeners, and serves
// the status endpoints.
//
// Apply builds the new runtime, binds any new listen addresses, then swaps
// every listener to the new config at once; listeners whose address went
// away drain their in-flight requests before they close. If any step fails
// the running config is untouched.
package dataplane

import (
	"context"
	"errors"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/runtime"
	"github.com/pingap-go/pingap/dataplane/upstream"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Options configure a DataPlane.
type Options struct {
	// Logger receives the data plane's logs; nil discards.
	Logger *slog.Logger
	// Plugins resolves plugin categories; nil knows none.
	Plugins *plugin.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Registry receives the data plane's metrics and serves them on the
	// status port's /metrics. Nil means a registry of the data plane's own
	// (never the global one).
	Registry *prometheus.Registry
	// Pprof serves net/http/pprof's profiles under /debug/pprof/ on the
	// status port.
	Pprof bool
	// Level, when set, follows settings.log_level of each config applied
	// (a config without log_level leaves it as it is: the command line's).
	Level *slog.LevelVar
}

// DataPlane is a running proxy.
type DataPlane struct {
	opts    Options
	log     *slog.Logger
	current atomic.Pointer[runtime.Runtime]

	mu        sync.Mutex // serializes Apply and Shutdown
	listeners map[string]*listener
	admin     *adminListener
	draining  sync.WaitGroup
	stopping  chan struct{} // closed by Shutdown
	counters  counters
	metrics   *observe.Metrics
	closed    bool
	status    Status
}

// Status is what /status reports.
type Status struct {
	// StartedAt is when the data plane was created.
	StartedAt time.Time `json:"started_at"`
	// ConfigHash is the running config's content hash.
	ConfigHash string `json:"config_hash"`
	// ConfigName is settings.name of the running config.
	ConfigName string `json:"config_name"`
	// AppliedAt is when the running config was applied.
	AppliedAt time.Time `json:"applied_at"`
	// Reloads counts successful applies after the first.
	Reloads int `json:"reloads"`
	// FailedReloads counts rejected configs.
	FailedReloads int `json:"failed_reloads"`
	// LastReloadError is the last apply's error; empty when it succeeded.
	LastReloadError string `json:"last_reload_error"`
	// LastReloadAt is when the last apply was attempted.
	LastReloadAt time.Time `json:"last_reload_at"`
	// Requests served since start, and those answered with a 5xx.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// InFlight counts the requests being served now.
	InFlight int64 `json:"in_flight"`
	// Listeners are the bound addresses and the server each serves.
	Listeners map[string]string `json:"listeners"`
	// Upstreams are the running config's upstreams with each target's
	// health, ejection and load.
	Upstreams map[string]upstream.UpstreamStatus `json:"upstreams"`
}

// New returns a data plane with no config; Apply starts it.
func New(opts Options) *DataPlane {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	d := &DataPlane{opts: opts, log: opts.Logger, listeners: map[string]*listener{}, stopping: make(chan struct{})}
	d.status.StartedAt = opts.Now()
	d.metrics = observe.NewMetrics(opts.Registry)
	opts.Registry.MustRegister(newCollector(d))
	return d
}

// ErrClosed is returned by Apply after Shutdown.
var ErrClosed = errors.New("dataplane: shut down")

// Apply builds snap and serves it, or returns why it cannot and keeps the
// running config.
func (d *DataPlane) Apply(snap *pb.Snapshot) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.apply(snap)
	d.metrics.Applied(err == nil)
	now := d.opts.Now()
	d.status.LastReloadAt = now
	if err != nil {
		d.status.FailedReloads++
		d.status.LastReloadError = err.Error()
		return err
	}
	if d.status.ConfigHash != "" {
		d.status.Reloads++
	}
	rt := d.current.Load()
	d.status.LastReloadError = ""
	if l := snap.GetSettings().GetLogLevel(); l != "" && d.opts.Level != nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(l)); err == nil { // validated already
			d.opts.Level.Set(level)
		}
	}
	d.status.ConfigHash = rt.Hash()
	d.status.ConfigName = snap.GetSettings().GetName()
	d.status.AppliedAt = now
	return nil
}

// RecordFailure records a config that could not even be decoded as a failed
// reload, for /status.
func (d *DataPlane) RecordFailure(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.metrics.Applied(false)
	d.status.LastReloadAt = d.opts.Now()
	d.status.FailedReloads++
	d.status.LastReloadError = err.Error()
}

func (d *DataPlane) apply(snap *pb.Snapshot) error {
	if d.closed {
		return ErrClosed
	}
	prev := d.current.Load()
	start := time.Now()
	rt, err := runtime.Build(snap, prev, runtime.Options{Logger: d.log, Plugins: d.opts.Plugins, Now: d.opts.Now,
		Stats: func() any { return d.Status() }, Metrics: d.metrics})
	if err != nil {
		return err
	}
	// Bind what is new before anything changes, so a busy port fails the
	// whole apply.
	want := map[string]string{} // addr -> server
	for name, s := range rt.Servers() {
		for _, a := range s.Addrs {
			want[a] = name
		}
	}
	fresh := map[string]net.Listener{}
	fail := func(err error) error {
		for _, ln := range fresh {
			_ = ln.Close()
		}
		rt.Release(prev)
		return err
	}
	for addr, name := range want {
		if _, ok := d.listeners[addr]; ok {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(config.ErrorList{{Path: config.ObjectPath("servers", name) + ".addr", Msg: err.Error()}})
		}
		fresh[addr] = ln
	}
	newAdmin, err := d.prepareAdmin(rt.AdminAddr())
	if err != nil {
		return fail(config.ErrorList{{Path: "settings.admin_addr", Msg: err.Error()}})
	}

	// Commit: nothing below can fail.
	d.current.Store(rt)
	rt.Start()
	for addr, name := range want {
		s := rt.Servers()[name]
		if l, ok := d.listeners[addr]; ok {
			l.update(name, s)
			continue
		}
		l := newListener(addr, fresh[addr], d.log, &d.counters)
		l.update(name, s)
		d.listeners[addr] = l
	}
	for addr, l := range d.listeners {
		if _, ok := want[addr]; !ok {
			delete(d.listeners, addr)
			d.drain(l, rt.GracePeriod())
		}
	}
	d.swapAdmin(newAdmin)
	if prev != nil {
		prev.Retire(rt)
		grace := rt.GracePeriod()
		d.draining.Add(1)
		go func() {
			defer d.draining.Done()
			wait := func(d2 time.Duration) {
				t := time.NewTimer(d2)
				defer t.Stop()
				select {
				case <-t.C:
				case <-d.stopping:
				}
			}
			first := min(grace, 5*time.Second)
			wait(first) // close connections returned to retired pools late
			prev.Retire(d.current.Load())
			wait(grace - first) // then what the drained requests used
			prev.Release(d.current.Load())
		}()
	}
	bound := make([]string, 0, len(d.listeners))
	for _, l := range d.listeners {
		bound = append(bound, l.boundAddr())
	}
	sort.Strings(bound)
	status := ""
	if d.admin != nil {
		status = d.admin.ln.Addr().String()
	}
	d.log.Info("config applied", "hash", rt.Hash(), "servers", len(rt.Servers()),
		"listeners", bound, "status", status, "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// drain stops l accepting and lets its requests finish within grace.
func (d *DataPlane) drain(l *listener, grace time.Duration) {
	d.draining.Add(1)
	go func() {
		defer d.draining.Done()
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := l.shutdown(ctx); err != nil {
			d.log.Warn("listener drain cut short", "addr", l.addr, "err", err)
		}
	}()
}

// Current is the running runtime, nil before the first Apply.
func (d *DataPlane) Current() *runtime.Runtime { return d.current.Load() }

// Status reports the running config and the last apply.
func (d *DataPlane) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.status
	s.Listeners = map[string]string{}
	for _, l := range d.listeners {
		s.Listeners[l.boundAddr()] = l.serverName()
	}
	s.Requests, s.Errors = d.Counters()
	s.InFlight = d.counters.inFlight.Load()
	s.Upstreams = map[string]upstream.UpstreamStatus{}
	if rt := d.current.Load(); rt != nil {
		for name, u := range rt.Upstreams() {
			s.Upstreams[name] = u.Status()
		}
	}
	return s
}

// Addrs maps each configured listen address to the address actually bound
// (they differ for port 0).
func (d *DataPlane) Addrs() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for addr, l := range d.listeners {
		out[addr] = l.boundAddr()
	}
	return out
}

// Drain shuts the data plane down with the running config's grace period
// (DefaultGracePeriod before any config) for in-flight requests.
func (d *DataPlane) Drain() error {
	grace := runtime.DefaultGracePeriod
	if cur := d.Current(); cur != nil {
		grace = cur.GracePeriod()
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return d.Shutdown(ctx)
}

// Shutdown stops accepting, lets in-flight requests finish until ctx is
// done, and closes everything. The grace period is the caller's ctx.
func (d *DataPlane) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		close(d.stopping)
	}
	d.closed = true
	ls := d.listeners
	d.listeners = map[string]*listener{}
	admin := d.admin
	d.admin = nil
	d.mu.Unlock()

	var wg sync.WaitGroup
	errs := make(chan error, len(ls))
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- l.shutdown(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if admin != nil {
		_ = admin.srv.Close()
	}
	done := make(chan struct{})
	go func() { d.draining.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		all = append(all, ctx.Err())
	}
	if rt := d.current.Load(); rt != nil {
		rt.Release(nil)
	}
	return errors.Join(all...)
}

var _ http.Handler = (*listener)(nil)
