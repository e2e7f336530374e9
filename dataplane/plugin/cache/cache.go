// Package cache is the "cache" plugin: an HTTP response cache in memory
// (RFC 9111, as a shared cache), in the spirit of nginx's proxy_cache and
// Varnish.
//
// GET responses with explicit freshness (s-maxage, max-age, Expires), or
// any heuristically cacheable response when default_ttl is set, are kept
// in an LRU store within a byte budget and served to later GET and HEAD
// requests for the same host, path, query (and configured headers, and the
// response's Vary). Stale entries with a validator are revalidated with a
// conditional request; concurrent misses for one key make one upstream
// request. Every GET or HEAD answer carries X-Cache (see the Label
// constants); an allowed client can remove entries with the PURGE method.
package cache

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "cache"

// Defaults of the options left at zero.
const (
	DefaultMaxSize     = 100 << 20
	DefaultMaxTTL      = time.Hour
	DefaultLock        = time.Second
	DefaultMaxFileSize = 1 << 20
)

// HeaderXCache is the response header that says how the cache answered.
const HeaderXCache = "X-Cache"

// Values of X-Cache.
const (
	// LabelHit: served from a fresh entry, upstream not contacted. Requests
	// that waited for a concurrent miss of the same key and are served the
	// entry it stored report HIT too.
	LabelHit = "HIT"
	// LabelMiss: nothing usable was stored; the response came from
	// upstream and is being stored.
	LabelMiss = "MISS"
	// LabelExpired: a stale entry could not be revalidated (no validator,
	// or the upstream sent a new response); this one came from upstream.
	LabelExpired = "EXPIRED"
	// LabelRevalidated: a stale entry was confirmed by a 304 from upstream
	// and served (refreshed).
	LabelRevalidated = "REVALIDATED"
	// LabelBypass: the request matched skip; the cache was not consulted.
	LabelBypass = "BYPASS"
	// LabelStale: an expired entry was served because the upstream failed
	// (stale_if_error).
	LabelStale = "STALE"
	// LabelPass: the request (no-store, Range) or the response (status,
	// no-store, private, Set-Cookie, Vary: *, no freshness, larger than
	// max_file_size by its Content-Length) is not cacheable.
	LabelPass = "PASS"
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware of a cache instance (see NewCache).
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c, err := NewCache(ctx, cfg.GetCache())
	if err != nil {
		return nil, err
	}
	return c.Middleware, nil
}

// options are the compiled options.
type options struct {
	maxSize, maxFileSize     int64
	maxTTL, defaultTTL, lock time.Duration
	staleIfError             time.Duration
	headers                  []string // canonical
	skip                     *regexp.Regexp
	purge                    config.IPList
}

func compile(c *pb.CachePlugin) (options, error) {
	o := options{
		maxSize: sizeOr(c.GetMaxSize(), DefaultMaxSize), maxFileSize: sizeOr(c.GetMaxFileSize(), DefaultMaxFileSize),
		maxTTL: durationOr(c.GetMaxTtl().AsDuration(), DefaultMaxTTL), defaultTTL: c.GetDefaultTtl().AsDuration(),
		lock: durationOr(c.GetLock().AsDuration(), DefaultLock), staleIfError: c.GetStaleIfError().AsDuration(),
	}
	// A body over the whole budget would only evict everything, itself too.
	o.maxFileSize = min(o.maxFileSize, o.maxSize)
	if o.defaultTTL < 0 {
		return o, fmt.Errorf("default_ttl: negative")
	}
	if o.staleIfError < 0 {
		return o, fmt.Errorf("stale_if_error: negative")
	}
	for i, h := range c.GetHeaders() {
		h = strings.TrimSpace(h)
		if !config.ValidHeaderName(h) {
			return o, fmt.Errorf("headers[%d]: %q is not a header name", i, h)
		}
		o.headers = append(o.headers, http.CanonicalHeaderKey(h))
	}
	if s := c.GetSkip(); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			return o, fmt.Errorf("skip: %w", err)
		}
		o.skip = re
	}
	purge, err := config.ParseIPList(c.GetPurgeIpList())
	if err != nil {
		return o, fmt.Errorf("purge_ip_list%w", err)
	}
	o.purge = purge
	return o, nil
}

func sizeOr(v uint64, def int64) int64 {
	if v == 0 {
		return def
	}
	return int64(min(v, math.MaxInt64/2))
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Cache is one cache plugin instance: its store, fills in progress and
// gauges. It lives as long as its config is unchanged (reloads carry it
// over), so entries survive them.
type Cache struct {
	opts     options
	store    *store
	stats    counters
	now      func() time.Time
	clientIP func(*http.Request) netip.Addr
	// labels holds each X-Cache value as a header value, shared by every
	// response (never modified).
	labels map[string][]string
	// events count each X-Cache value in the plugin's metrics.
	events map[string]func()
}

// NewCache builds a cache instance from its options.
func NewCache(ctx plugin.BuildContext, cfg *pb.CachePlugin) (*Cache, error) {
	o, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	c := &Cache{opts: o, now: ctx.Clock(), clientIP: ctx.ClientAddr(), labels: map[string][]string{}, events: map[string]func(){}}
	for _, l := range []string{LabelHit, LabelMiss, LabelExpired, LabelRevalidated, LabelBypass, LabelPass, LabelStale} {
		c.labels[l] = []string{l}
		c.events[l] = ctx.Count(strings.ToLower(l))
	}
	c.store = newStore(o.maxSize, &c.stats, ctx.Count("eviction"))
	return c, nil
}

// counters are the instance's gauges. Answers and evictions are counted
// as plugin events (BuildContext.Count), not here.
type counters struct {
	bytes, entries, waiting atomic.Int64
}

// Stats is a snapshot of a cache's size and waiting requests.
type Stats struct {
	// Bytes is the memory the entries account for (keys, headers, bodies);
	// Entries is the number of stored responses.
	Bytes, Entries int64
	// Waiting is the number of requests waiting now for a concurrent fill
	// of their key.
	Waiting int64
}

// Stats returns the current gauges.
func (c *Cache) Stats() Stats {
	s := &c.stats
	return Stats{Bytes: s.bytes.Load(), Entries: s.entries.Load(), Waiting: s.waiting.Load()}
}

// label counts an answer in the plugin's events and returns its X-Cache
// header value.
func (c *Cache) label(l string) []string {
	c.events[l]()
	return c.labels[l]
}

// Middleware is the cache in front of next.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case "PURGE":
			c.purge(w, r)
			return
		default:
			next.ServeHTTP(w, r)
			if unsafeMethod(r.Method) {
				// RFC 9111 4.4: a change through the URL invalidates it.
				c.store.remove(c.primaryKey(r))
			}
			return
		}
		switch {
		case len(r.Header["Upgrade"]) > 0:
			next.ServeHTTP(w, r) // WebSocket and other upgrades are never cached
		case c.opts.skip != nil && c.opts.skip.MatchString(r.URL.RequestURI()):
			c.pass(w, r, next, LabelBypass)
		default:
			c.serve(w, r, next)
		}
	})
}

func unsafeMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodDelete || m == http.MethodPatch
}

// primaryKey is host, path and query, and the configured headers' values.
func (c *Cache) primaryKey(r *http.Request) string {
	var buf [256]byte // keys that fit are built without a heap buffer
	b := appendLower(buf[:0], r.Host)
	b = append(b, 0)
	b = appendRequestURI(b, r.URL)
	b = append(b, 0)
	for _, h := range c.opts.headers {
		for i, v := range r.Header[h] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
		b = append(b, 0)
	}
	return string(b)
}

// appendRequestURI appends u.RequestURI() (without building it first).
func appendRequestURI(b []byte, u *url.URL) []byte {
	if u.Opaque != "" {
		return append(b, u.RequestURI()...)
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b = append(b, p...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
}

// pass forwards r with X-Cache set to l on the response.
func (c *Cache) pass(w http.ResponseWriter, r *http.Request, next http.Handler, l string) {
	v := c.label(l)
	next.ServeHTTP(plugin.OnHeaders(w, func(h http.Header) { h[HeaderXCache] = v }), r)
}

// purge answers a PURGE: of one URL (all its variants), or of every URL of
// the host whose path starts with the prefix before a trailing "*".
// Clients not in purge_ip_list get 405, as if PURGE were not supported.
func (c *Cache) purge(w http.ResponseWriter, r *http.Request) {
	if !c.opts.purge.Contains(c.clientIP(r)) {
		w.Header().Set("Allow", "GET, HEAD")
		plugin.Answer(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	prefix := append(appendLower(nil, r.Host), 0)
	if p := r.URL.EscapedPath(); strings.HasSuffix(p, "*") && r.URL.RawQuery == "" {
		prefix = append(prefix, strings.TrimSuffix(p, "*")...)
	} else {
		prefix = append(appendRequestURI(prefix, r.URL), 0)
	}
	n := c.store.purge(string(prefix))
	if n == 0 {
		plugin.Answer(w, http.StatusNotFound, "not found")
		return
	}
	plugin.Answer(w, http.StatusOK, fmt.Sprintf("%d", n))
}
