package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/upstream"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Location is a compiled location: its plugin chain in front of the
// forwarding step. It is immutable once built.
type Location struct {
	name    string
	route   *Route // nil when plugins answer every request
	rewrite *config.Rewrite
	set     []headerRule
	add     []headerRule
	remove  []string
	maxBody int64
	trusted *TrustedProxies
	logger  *slog.Logger
	metrics *observe.Location
	handler http.Handler
}

// DefaultMaxRetries is how many other targets a failed attempt is retried
// on when the upstream sets no max_retries.
const DefaultMaxRetries = 1

// LocationOptions are the shared inputs of NewLocation.
type LocationOptions struct {
	// Trusted decides whether forwarding headers from the client are kept.
	Trusted *TrustedProxies
	// Logger receives upstream errors; nil discards.
	Logger *slog.Logger
	// Plugins are the server's and the location's middlewares, in order.
	Plugins []plugin.Middleware
	// Metrics are the location's bound metrics; nil observes nothing.
	Metrics *observe.Location
}

// NewLocation compiles a location. up may be nil only if cfg names no
// upstream; such a location answers 502 unless a plugin answers first.
func NewLocation(name string, cfg *pb.Location, up *upstream.Upstream, opts LocationOptions) (*Location, error) {
	field := "locations." + name
	l := &Location{name: name, trusted: opts.Trusted, logger: opts.Logger, metrics: opts.Metrics}
	if up != nil {
		l.route = NewRoute(up)
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GetRewrite() != "" {
		rw, err := config.ParseRewrite(cfg.GetRewrite())
		if err != nil {
			return nil, fieldErr(field+".rewrite", err)
		}
		l.rewrite = &rw
	}
	var err error
	if l.set, err = compileHeaderRules(field+".proxy_set_headers", cfg.GetProxySetHeaders()); err != nil {
		return nil, err
	}
	if l.add, err = compileHeaderRules(field+".proxy_add_headers", cfg.GetProxyAddHeaders()); err != nil {
		return nil, err
	}
	for i, h := range cfg.GetProxyRemoveHeaders() {
		h = strings.TrimSpace(h)
		if !config.ValidHeaderName(h) {
			return nil, fmt.Errorf("%s.proxy_remove_headers[%d]: %q is not a valid header name", field, i, h)
		}
		l.remove = append(l.remove, http.CanonicalHeaderKey(h))
	}
	if n := cfg.GetClientMaxBodySize(); n > 0 {
		if n > 1<<62 {
			n = 1 << 62
		}
		l.maxBody = int64(n)
	}
	l.handler = plugin.Chain(http.HandlerFunc(l.forward), opts.Plugins...)
	return l, nil
}

// Route is an upstream with the forwarding settings its config implies.
// A location forwards to its own; a plugin may send a request to another
// one with WithRoute (traffic splitting).
type Route struct {
	up *upstream.Upstream
	// upgradeIdle closes upgraded (WebSocket) tunnels idle this long.
	upgradeIdle time.Duration
	// maxRetries and retryTimeout bound the retries on other targets.
	maxRetries   int
	retryTimeout time.Duration
	// scheme is "https" when the upstream speaks TLS.
	scheme string
}

// NewRoute derives the forwarding settings of up.
func NewRoute(up *upstream.Upstream) *Route {
	rt := &Route{up: up, upgradeIdle: DefaultUpgradeIdleTimeout, maxRetries: DefaultMaxRetries, scheme: "http"}
	uc := up.Config()
	if d := uc.GetUpgradeIdleTimeout().AsDuration(); d > 0 {
		rt.upgradeIdle = d
	}
	if uc.MaxRetries != nil {
		rt.maxRetries = int(uc.GetMaxRetries())
	}
	rt.retryTimeout = uc.GetRetryTimeout().AsDuration()
	if config.UpstreamTLS(uc) {
		rt.scheme = "https"
	}
	return rt
}

type routeKey struct{}

// WithRoute returns r sent to rt's upstream instead of the location's own.
func WithRoute(r *http.Request, rt *Route) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, rt))
}

// routeOf is the route r goes to: one set by WithRoute, else the
// location's.
func (l *Location) routeOf(r *http.Request) *Route {
	if rt, ok := r.Context().Value(routeKey{}).(*Route); ok {
		return rt
	}
	return l.route
}

// Name is the location's name.
func (l *Location) Name() string { return l.name }

// ServeHTTP runs the location's plugin chain and forwards the request.
func (l *Location) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rec := observe.From(w); rec != nil {
		rec.Location = l.metrics
	}
	l.handler.ServeHTTP(w, r)
}

func fieldErr(field string, err error) error {
	return fmt.Errorf("%s: %w", field, err)
}
