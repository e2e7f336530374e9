package cache

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
)

// maxJoins bounds how often one request waits for other requests' fills
// before it fetches without the lock (a response that varies can make a
// waiter's variant differ from the one filled).
const maxJoins = 2

// serve answers a GET or HEAD from the cache, or fetches it: a fresh entry
// is a HIT; otherwise the first request for the key fills it while
// concurrent ones wait up to lock and are then served what it stored.
func (c *Cache) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	cc := requestDirectives(r)
	if cc.noStore || len(r.Header["Range"]) > 0 {
		c.pass(w, r, next, LabelPass)
		return
	}
	primary := c.primaryKey(r)
	for joins := 0; ; joins++ {
		e, key := c.store.lookup(primary, r)
		if e != nil && e.fresh(cc, c.now()) {
			c.serveEntry(w, r, e, LabelHit)
			return
		}
		switch {
		case cc.onlyIfCached:
			plugin.Answer(w, http.StatusGatewayTimeout, "gateway timeout")
			return
		case r.Method == http.MethodHead:
			// HEAD is answered from GET entries but never fills them.
			c.pass(w, r, next, missLabel(e))
			return
		case joins == maxJoins:
			c.fill(w, r, next, primary, e, nil)
			return
		}
		f, leader := c.store.join(key)
		if leader {
			c.fill(w, r, next, primary, e, f)
			return
		}
		filled := c.wait(r, f)
		if r.Context().Err() != nil {
			return // the client is gone
		}
		if filled == nil {
			// Not stored (uncacheable, failed) or still filling after lock:
			// fetch without waiting for anyone.
			c.fill(w, r, next, primary, e, nil)
			return
		}
		if got, _ := c.store.lookup(primary, r); got == filled {
			// Just fetched for a concurrent request: good to use even if it
			// must be revalidated next time.
			c.serveEntry(w, r, filled, LabelHit)
			return
		}
	}
}

func missLabel(stale *entry) string {
	if stale != nil {
		return LabelExpired
	}
	return LabelMiss
}

// wait waits for f up to the lock time and returns what it stored, nil
// when nothing, on timeout or when the client goes away.
func (c *Cache) wait(r *http.Request, f *flight) *entry {
	c.stats.waiting.Add(1)
	defer c.stats.waiting.Add(-1)
	t := time.NewTimer(c.opts.lock)
	defer t.Stop()
	select {
	case <-f.done:
		return f.entry
	case <-t.C:
	case <-r.Context().Done():
	}
	return nil
}

// serveEntry answers r from e: 304 when r's own conditional matches, else
// e's status, header and body (no body for HEAD), with Age and X-Cache.
func (c *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entry, l string) {
	h := w.Header()
	nm := e.status/100 == 2 && notModified(r, e.header)
	if nm {
		for _, k := range notModifiedHeaders {
			if v, ok := e.header[k]; ok {
				h[k] = v
			}
		}
	} else {
		for k, v := range e.header {
			h[k] = v
		}
	}
	h["Age"] = []string{strconv.FormatInt(int64(e.currentAge(c.now())/time.Second), 10)}
	h[HeaderXCache] = c.label(l)
	if nm {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 {
		_, _ = w.Write(e.body)
	}
}

// conditionalHeaders are the client's preconditions, removed from a fill's
// request: the cache wants the full response, and evaluates them itself.
var conditionalHeaders = [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

// fill fetches r upstream for the cache: conditionally when stale has a
// validator. The response streams to the client while it is recorded and
// is stored when it is cacheable, complete and within max_file_size. f,
// when not nil, is the fill's flight: it ends (waking the waiters) however
// the fill ends, a panic included.
func (c *Cache) fill(w http.ResponseWriter, r *http.Request, next http.Handler, primary string, stale *entry, f *flight) {
	var stored *entry
	if f != nil {
		defer func() { c.store.finish(f, stored) }()
	}
	out := r.Clone(r.Context())
	for _, h := range conditionalHeaders {
		delete(out.Header, h)
	}
	revalidate := stale != nil && (stale.etag != "" || stale.lastModified != "")
	if revalidate {
		if stale.etag != "" {
			out.Header["If-None-Match"] = []string{stale.etag}
		}
		if stale.lastModified != "" {
			out.Header["If-Modified-Since"] = []string{stale.lastModified}
		}
	}
	fw := &fillWriter{c: c, w: w, r: r, stale: stale, revalidate: revalidate, h: http.Header{}}
	next.ServeHTTP(fw, out)
	stored = fw.finish(primary)
}

// fillWriter is the ResponseWriter of a fill. It decides when the header
// is written whether the response is storable, then passes the body to the
// client while keeping a copy. A 304 to its conditional request is not
// passed on: finish serves the refreshed entry instead.
type fillWriter struct {
	c          *Cache
	w          http.ResponseWriter
	r          *http.Request // the client's request
	stale      *entry
	revalidate bool

	h           http.Header
	wrote       bool
	status      int
	at          time.Time // when the header arrived
	notModified bool      // a 304 to the revalidation
	failed      bool      // a 5xx while a stale entry may stand in: serve that instead
	storing     bool      // still recording the body to store it
	discard     bool      // the client got a 304: no body for it
	plan        plan
	body        []byte
}

func (fw *fillWriter) Header() http.Header { return fw.h }

func (fw *fillWriter) WriteHeader(code int) {
	if fw.wrote {
		return
	}
	if code < 200 {
		fw.w.WriteHeader(code)
		return
	}
	fw.wrote, fw.status, fw.at = true, code, fw.c.now()
	if fw.revalidate && code == http.StatusNotModified {
		fw.notModified = true
		return
	}
	if code >= 500 && fw.stale != nil && fw.stale.usableStale(fw.c.opts.staleIfError, fw.at) {
		fw.failed = true
		return
	}
	p, ok := fw.c.decide(fw.r, code, fw.h, fw.at)
	cl, hasCL := contentLength(fw.h)
	if ok && hasCL && cl > fw.c.opts.maxFileSize {
		ok = false
	}
	l := missLabel(fw.stale)
	if !ok {
		l = LabelPass
	} else {
		fw.plan, fw.storing = p, true
		if hasCL {
			fw.body = make([]byte, 0, cl)
		}
	}
	dst := fw.w.Header()
	if code/100 == 2 && notModified(fw.r, fw.h) {
		for _, k := range notModifiedHeaders {
			if v, ok := fw.h[k]; ok {
				dst[k] = v
			}
		}
		dst[HeaderXCache] = fw.c.label(l)
		fw.discard = true
		fw.w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, v := range fw.h {
		dst[k] = v
	}
	dst[HeaderXCache] = fw.c.label(l)
	fw.w.WriteHeader(code)
}

func (fw *fillWriter) Write(p []byte) (int, error) {
	if !fw.wrote {
		fw.WriteHeader(http.StatusOK)
	}
	if fw.notModified || fw.failed {
		return len(p), nil
	}
	if fw.storing {
		if int64(len(fw.body)+len(p)) > fw.c.opts.maxFileSize {
			fw.storing, fw.body = false, nil // streamed on, not stored
		} else {
			fw.body = append(fw.body, p...)
		}
	}
	if fw.discard {
		return len(p), nil
	}
	return fw.w.Write(p)
}

// Flush passes a flush (a stream's chunk) on to the client.
func (fw *fillWriter) Flush() {
	if !fw.wrote {
		fw.WriteHeader(http.StatusOK)
	}
	if !fw.notModified && !fw.failed && !fw.discard {
		_ = http.NewResponseController(fw.w).Flush()
	}
}

// Unwrap lets http.ResponseController reach the client's writer.
func (fw *fillWriter) Unwrap() http.ResponseWriter { return fw.w }

// finish runs when the upstream's response has been passed on completely:
// it stores it (or refreshes the stale entry after a 304) and returns the
// entry stored, nil when none.
func (fw *fillWriter) finish(primary string) *entry {
	c := fw.c
	switch {
	case !fw.wrote:
		return nil
	case fw.notModified:
		return c.revalidated(fw.w, fw.r, primary, fw.stale, fw.h, fw.at)
	case fw.failed:
		c.serveEntry(fw.w, fw.r, fw.stale, LabelStale) // the stale entry stays stored
		return nil
	case !fw.storing:
		// A new answer that cannot be stored supersedes the stale one; an
		// upstream failure does not.
		if fw.stale != nil && fw.status < 500 {
			c.store.removeIf(fw.stale)
		}
		return nil
	}
	if cl, ok := contentLength(fw.h); ok && cl != int64(len(fw.body)) {
		return nil // truncated: never store a partial body
	}
	e := newEntry(fw.status, storedHeader(fw.h), fw.body, fw.at, fw.plan)
	c.store.put(primary, fw.r, e, fw.plan.vary)
	return e
}

// revalidated refreshes stale with the header of the 304 that confirmed
// it, stores the result when it is still storable, and serves it.
func (c *Cache) revalidated(w http.ResponseWriter, r *http.Request, primary string, stale *entry, h304 http.Header, at time.Time) *entry {
	merged := mergeHeaders(stale.header, h304)
	p, ok := c.decide(r, stale.status, merged, at)
	e := newEntry(stale.status, storedHeader(merged), stale.body, at, p)
	var stored *entry
	if ok {
		c.store.put(primary, r, e, p.vary)
		stored = e
	} else {
		c.store.removeIf(stale)
	}
	c.serveEntry(w, r, e, LabelRevalidated)
	return stored
}

// newEntry builds a response entry received at at, kept as p says.
func newEntry(status int, h http.Header, body []byte, at time.Time, p plan) *entry {
	return &entry{
		status: status, header: h, body: body[:len(body):len(body)],
		etag: firstValue(h, "Etag"), lastModified: firstValue(h, "Last-Modified"),
		received: at, age: p.age, expires: at.Add(p.ttl), noCache: p.noCache, mustRevalidate: p.mustRevalidate,
		size: headerSize(h) + int64(len(body)),
	}
}

// contentLength is the Content-Length field's value, if valid.
func contentLength(h http.Header) (int64, bool) {
	v := h["Content-Length"]
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	return n, err == nil && n >= 0
}
