// Package admin is the control plane's REST API under /api/v1: apply a
// config (TOML or JSON, with dry runs and optimistic concurrency), validate
// and diff candidates, read versions and their history, roll back, and see
// the fleet. Every config is validated with the same validator as the CLI
// and the data plane before anything is stored. Callers authenticate with
// bearer tokens, each with a role (read or admin). docs/api.md is the
// reference and api/openapi.yaml its OpenAPI description.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Store is what the API needs of the version store.
type Store interface {
	// Apply stores snap as the cluster's next version unless its content
	// equals the current one's (created false).
	Apply(ctx context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta) (*pb.VersionInfo, bool, error)
	// Rollback makes a new version with the content of version to, unless
	// that content is current (created false).
	Rollback(ctx context.Context, cluster string, to uint64, meta ApplyMeta) (*pb.VersionInfo, bool, error)
	// Current returns the cluster's current version.
	Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error)
	// Get returns one version.
	Get(ctx context.Context, cluster string, version uint64) (*pb.VersionInfo, *pb.Snapshot, error)
	// Versions lists versions, newest first, at most limit (<= 0: all).
	Versions(ctx context.Context, cluster string, limit int) ([]*pb.VersionInfo, error)
	// Clusters lists the clusters that have a version.
	Clusters(ctx context.Context) ([]string, error)
	// Nodes lists the cluster's nodes with their derived state.
	Nodes(ctx context.Context, cluster string) ([]*pb.NodeStatus, error)
	// Node returns one node.
	Node(ctx context.Context, cluster, id string) (*pb.NodeStatus, error)
}

// ApplyMeta describes an apply: who, why, and the version it expects to
// replace.
type ApplyMeta struct {
	Author, Message string
	// IfVersion, when set, makes the apply fail with a conflict unless the
	// cluster's current version is *IfVersion (0: none yet).
	IfVersion *uint64
}

// Options configure the API.
type Options struct {
	// Logger receives request errors, authentication failures and the
	// applies made (with the token's name, never the token). Nil discards.
	Logger *slog.Logger
	// IsNotFound and IsConflict classify store errors. Nil: no error is of
	// that class.
	IsNotFound, IsConflict func(error) bool
	// Ready reports whether the store is reachable, for /readyz. Nil: always
	// ready.
	Ready func(context.Context) error
	// MaxBody caps a config upload. Default: 32 MiB.
	MaxBody int64
	// TokensFile is a file of accepted bearer tokens, one per line as
	// "TOKEN ROLE [NAME]" (see ParseTokens). Its tokens are added to Tokens.
	// Default: empty.
	TokensFile string
	// Tokens are accepted bearer tokens. With none here nor in TokensFile,
	// the API serves everyone without authentication (and logs a warning).
	Tokens []Token
	// Registerer receives the API's metrics: requests by method, route
	// pattern and code, their duration by route, and applies by result.
	// New fails if they are registered there already. Nil: not exported.
	Registerer prometheus.Registerer
	// TracerProvider traces requests: a server span each, named by route,
	// whose trace context the client may send (traceparent). Applies and
	// rollbacks carry their result. Nil: not traced.
	TracerProvider trace.TracerProvider
}

// API serves /api/v1, /healthz and /readyz.
type API struct {
	store     Store
	opts      Options
	auth      *authenticator
	mux       *http.ServeMux
	patterns  []string
	metrics   *metrics
	tracer    trace.Tracer
	unmatched http.Handler // answers what no route matches
}

// New returns the API over store. It fails when the tokens file cannot be
// read or holds a malformed line.
func New(store Store, opts Options) (*API, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 32 << 20
	}
	never := func(error) bool { return false }
	if opts.IsNotFound == nil {
		opts.IsNotFound = never
	}
	if opts.IsConflict == nil {
		opts.IsConflict = never
	}
	tokens := slices.Clone(opts.Tokens)
	if opts.TokensFile != "" {
		fromFile, err := LoadTokens(opts.TokensFile)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, fromFile...)
	}
	auth, err := newAuthenticator(tokens)
	if err != nil {
		return nil, err
	}
	if auth == nil {
		opts.Logger.Warn("admin API without authentication: anyone who reaches it can change the config; set admin tokens")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = noop.NewTracerProvider()
	}
	a := &API{store: store, opts: opts, auth: auth, mux: http.NewServeMux(), metrics: m,
		tracer: opts.TracerProvider.Tracer("github.com/pingap-go/pingap/controlplane/admin")}
	for _, rt := range a.routes() {
		a.handle(rt)
	}
	a.unmatched = m.instrument(unmatchedRoute, http.HandlerFunc(a.noRoute))
	return a, nil
}

// access is what a route needs of the caller.
type access int

const (
	// public routes need no token (health and readiness).
	public access = iota
	// readAccess needs a read or admin token.
	readAccess
	// adminAccess needs an admin token.
	adminAccess
)

// route is one endpoint.
type route struct {
	method, path string
	access       access
	handler      http.HandlerFunc
}

// routes is every endpoint of the API; New registers exactly these, and
// the OpenAPI test compares them with api/openapi.yaml.
func (a *API) routes() []route {
	const c = "/api/v1/clusters/{cluster}"
	return []route{
		{"GET", "/healthz", public, a.healthz},
		{"GET", "/readyz", public, a.readyz},
		{"GET", "/api/v1/clusters", readAccess, a.clusters},
		{"GET", c + "/config", readAccess, a.getConfig},
		{"POST", c + "/config", adminAccess, a.apply},
		{"POST", c + "/validate", readAccess, a.validate},
		{"GET", c + "/versions", readAccess, a.versions},
		{"GET", c + "/versions/{version}", readAccess, a.getConfig},
		{"GET", c + "/diff", readAccess, a.diffVersions},
		{"POST", c + "/diff", readAccess, a.diffCandidate},
		{"POST", c + "/rollback", adminAccess, a.rollback},
		{"GET", c + "/nodes", readAccess, a.nodes},
		{"GET", c + "/nodes/{node}", readAccess, a.node},
		{"GET", c + "/status", readAccess, a.status},
	}
}

// handle registers a route behind the access check. It is the only place
// that adds to the mux, so Routes lists everything the API serves.
func (a *API) handle(rt route) {
	pattern := rt.method + " " + rt.path
	a.patterns = append(a.patterns, pattern)
	h := rt.handler
	if rt.access != public {
		h = a.authorize(rt.access, rt.handler)
	}
	a.mux.Handle(pattern, a.metrics.instrument(rt.path, a.traced(rt.method, rt.path, h)))
}

// traced runs h in a server span named "METHOD route".
func (a *API) traced(method, route string, h http.Handler) http.Handler {
	name := method + " " + route
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := propagation.HeaderCarrier(r.Header)
		ctx := propagation.TraceContext{}.Extract(r.Context(), c)
		ctx, span := a.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status()))
		if sw.status() >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status()))
		}
	})
}

// statusWriter notes the status a handler answers.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Routes returns the patterns the API serves, as "METHOD /path/{param}".
func (a *API) Routes() []string { return slices.Clone(a.patterns) }

// ServeHTTP serves the API. A request that matches no route gets a JSON
// error: 404 not_found, or 405 method_not_allowed with an Allow header.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r) // sets the path values
		return
	}
	a.unmatched.ServeHTTP(w, r)
}

// noRoute answers a request no route matches.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		a.fail(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, fmt.Errorf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	a.fail(w, http.StatusNotFound, codeNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when the store (etcd) answers within 2s, else 503.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.opts.Ready(ctx); err != nil {
			a.fail(w, http.StatusServiceUnavailable, codeUnavailable, fmt.Errorf("store not reachable: %w", err))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
