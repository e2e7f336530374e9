// Package plugin defines the data plane's one plugin model: a plugin is HTTP
// middleware, built once per config from its typed configuration and chained
// in the order a server and a location list it.
//
// Plugin kinds are registered in a Registry by category name. A Registry is
// a value, not package state, so tests and several data planes in one
// process can use different sets; the built-in set is assembled in one place
// by the data plane's wiring.
package plugin

import (
	"bufio"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/pingap-go/pingap/dataplane/upstream"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Middleware wraps the rest of the chain. It may answer the request itself
// (and not call next), change the request before calling next, or wrap the
// ResponseWriter to change the response.
type Middleware func(next http.Handler) http.Handler

// BuildContext carries what a plugin factory may use while it builds.
type BuildContext struct {
	// Logger is the data plane's logger, already tagged with the plugin name.
	// Nil in tests means discard; use the Log method.
	Logger *slog.Logger
	// ClientIP resolves a request's client address through
	// settings.trusted_proxies (the peer address when it is not a trusted
	// proxy). Nil in tests means the peer address; use the ClientAddr method.
	ClientIP func(r *http.Request) netip.Addr
	// Now is the clock for time-based checks (token expiry, timestamps).
	// Nil means time.Now; use the Clock method.
	Now func() time.Time
	// OnClose registers a function that runs when the config version this
	// instance was built for is retired and the instance is not carried
	// over to the next one (or the data plane shuts down). It may run more
	// than once, while requests still drain, so it must be idempotent. Nil
	// in tests means never; use the Cleanup method.
	OnClose func(fn func())
	// Upstream returns the config's upstream called name, nil if there is
	// none (validation makes sure referenced upstreams exist). A plugin
	// that uses one is rebuilt when that upstream is.
	Upstream func(name string) *upstream.Upstream
	// Stats returns the data plane's statistics, a JSON-encodable value
	// (for the stats plugin). Nil when there is no data plane (tests).
	Stats func() any
	// Counter returns the increment of the plugin's counter of event
	// (pingap_plugin_events_total{plugin, category, event}). Events are a
	// fixed set per plugin ("hit", "miss", "refused"), never request data.
	// Nil in tests; use the Count method.
	Counter func(event string) func()
}

// Count returns the increment of the plugin's counter of event, a no-op
// when there are no metrics. Call it at build time and keep the result.
func (c BuildContext) Count(event string) func() {
	if c.Counter == nil {
		return func() {}
	}
	return c.Counter(event)
}

// Clock returns ctx.Now, or time.Now when it is nil.
func (c BuildContext) Clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Log returns ctx.Logger, or a logger that discards everything when it is
// nil.
func (c BuildContext) Log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ClientAddr returns ctx.ClientIP, or PeerIP when it is nil.
func (c BuildContext) ClientAddr() func(r *http.Request) netip.Addr {
	if c.ClientIP != nil {
		return c.ClientIP
	}
	return PeerIP
}

// Cleanup registers fn with OnClose, when there is one.
func (c BuildContext) Cleanup(fn func()) {
	if c.OnClose != nil {
		c.OnClose(fn)
	}
}

// PeerIP is the address of a request's TCP peer, the zero Addr if
// RemoteAddr does not parse.
func PeerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Factory builds a plugin instance from its config. It is called once per
// config version; it must validate everything it needs so that the returned
// middleware never parses configuration per request.
type Factory func(ctx BuildContext, name string, cfg *pb.Plugin) (Middleware, error)

// Registry maps plugin categories to factories.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[string]Factory{}}
}

// Register adds a factory for category. Registering a category twice is a
// programming error and panics, so a clash is found at start, not in use.
func (r *Registry) Register(category string, f Factory) {
	if category == "" || f == nil {
		panic("plugin: Register with empty category or nil factory")
	}
	if _, dup := r.factories[category]; dup {
		panic(fmt.Sprintf("plugin: category %q registered twice", category))
	}
	r.factories[category] = f
}

// Categories lists the registered categories, sorted.
func (r *Registry) Categories() []string {
	return slices.Sorted(maps.Keys(r.factories))
}

// Build builds the plugin called name.
func (r *Registry) Build(ctx BuildContext, name string, cfg *pb.Plugin) (Middleware, error) {
	f, ok := r.factories[cfg.GetCategory()]
	if !ok {
		return nil, fmt.Errorf("plugins.%s.category: unknown plugin category %q (known: %v)", name, cfg.GetCategory(), r.Categories())
	}
	mw, err := f(ctx, name, cfg)
	if err != nil {
		return nil, fmt.Errorf("plugins.%s: %w", name, err)
	}
	return mw, nil
}

// Chain composes middlewares around h; the first runs first.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Answer answers status with a short plain-text body. Plugins use it for
// the refusals they make themselves (401, 403, 503), so those look alike and
// reveal nothing.
func Answer(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Forbidden answers 403 with body.
func Forbidden(w http.ResponseWriter, body string) { Answer(w, http.StatusForbidden, body) }

// OnHeaders wraps w so that edit runs on the response headers once, just
// before they are written (by WriteHeader with a final status, or by the
// first Write). The wrapper keeps http.Flusher, http.Hijacker and
// http.ResponseController working.
func OnHeaders(w http.ResponseWriter, edit func(http.Header)) http.ResponseWriter {
	return &headerWriter{ResponseWriter: w, edit: edit}
}

type headerWriter struct {
	http.ResponseWriter
	edit func(http.Header)
	done bool
}

func (w *headerWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.edit(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps the writer an http.Flusher. A flush before anything was
// written sends the headers, edited first.
func (w *headerWriter) Flush() {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack keeps the writer an http.Hijacker (upgrades pass through).
func (w *headerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Wait waits d (nothing when d <= 0) unless r's context ends first; it
// reports whether the request is still wanted.
func Wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
