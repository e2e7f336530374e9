package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/tracing"
	"github.com/pingap-go/pingap/dataplane/upstream"
	"github.com/pingap-go/pingap/dataplane/upstream/h1client"
)

// requestInfo is what the forwarding headers and the balancer need of one
// request, computed once. The header variables that only a rare template
// uses ($host, $remote_port, $server_addr, $server_port) are read from req
// when a template asks for them.
type requestInfo struct {
	req        *http.Request
	scheme     string
	remoteAddr string // the TCP peer's IP
	peer       netip.Addr
	clientIP   netip.Addr // peer, or the real client behind trusted proxies
	trusted    bool       // the peer is a trusted proxy
	xff        string     // the X-Forwarded-For value sent upstream
	start      time.Time  // when forwarding began
}

func newRequestInfo(r *http.Request, trusted *TrustedProxies) requestInfo {
	ri := requestInfo{req: r, scheme: "http", start: time.Now()}
	if r.TLS != nil {
		ri.scheme = "https"
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ri.peer = ap.Addr().Unmap()
		ri.remoteAddr = ri.peer.String()
	} else {
		ri.remoteAddr, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	ri.trusted = trusted.Contains(ri.peer)
	prior := r.Header["X-Forwarded-For"]
	ri.clientIP = ri.peer
	if ri.trusted {
		ri.clientIP = trusted.ClientIP(ri.peer, prior)
	}
	if ri.trusted && len(prior) > 0 {
		ri.xff = strings.Join(prior, ", ") + ", " + ri.remoteAddr
	} else {
		ri.xff = ri.remoteAddr
	}
	return ri
}

// realIP is the X-Real-Ip value: the client's address as text (the peer's,
// already rendered, when no trusted proxy stands in between).
func (ri *requestInfo) realIP() string {
	if ri.clientIP == ri.peer && ri.peer.IsValid() {
		return ri.remoteAddr
	}
	return ri.clientIP.String()
}

// bufPool holds the buffers that copy response bodies.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// forward sends the request to a target of the location's upstream and
// streams the response back.
func (l *Location) forward(w http.ResponseWriter, r *http.Request) {
	route := l.routeOf(r)
	if route == nil {
		WriteError(w, r, http.StatusBadGateway)
		return
	}
	if l.maxBody > 0 {
		if r.ContentLength > l.maxBody {
			WriteError(w, r, http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, l.maxBody)
		}
	}
	rec := observe.From(w)
	if rec != nil {
		rec.Upstream = route.up.Name()
	}
	var body *bodyTracker
	// ContentLength 0 is a request without a body (HTTP/2 sets it when the
	// headers end the stream); forwarding its Body would make a chunked,
	// empty upload.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		body = &bodyTracker{rc: r.Body}
		r.Body = body
		if rec != nil {
			defer func() { rec.BytesIn = body.read.Load() }()
		}
	}
	upgrade := upgradeType(r)
	if body != nil && r.ProtoMajor == 1 && upgrade == "" {
		full, buf, err := prebuffer(body, r.ContentLength)
		if buf != nil {
			defer smallBodies.Put(buf)
		}
		if err != nil {
			l.clientBodyFailed(w, r, err)
			return
		}
		body.full = full
	}
	ri := newRequestInfo(r, l.trusted)
	start := ri.start
	var tried []*upstream.Target
	for attempt := 0; ; attempt++ {
		target, err := route.pick(r, &ri, tried)
		if err != nil {
			l.logger.Warn("no upstream target", "location", l.name, "upstream", route.up.Name(), "err", err)
			WriteError(w, r, http.StatusServiceUnavailable)
			return
		}
		tried = append(tried, target)
		if rec != nil {
			rec.UpstreamAddr, rec.Attempts = target.Addr(), attempt+1
		}
		// Whether a failed attempt may be retried is decided when it failed:
		// retry_timeout counts the time the attempts took.
		more := func() bool {
			return attempt < route.maxRetries && (route.retryTimeout <= 0 || time.Since(start) < route.retryTimeout)
		}
		if l.attempt(w, r, &ri, route, target, body, upgrade, more, attempt, rec) {
			return
		}
		l.logger.Info("retrying on another target", "location", l.name, "failed_target", target.Addr(), "attempt", attempt+2)
	}
}

// attempt forwards r to target once. It returns false, having written
// nothing, when the attempt failed in a way worth retrying and retry allows
// it; otherwise it answers the client and returns true. n counts the attempts
// before this one; rec, when not nil, records the attempt.
func (l *Location) attempt(w http.ResponseWriter, r *http.Request, ri *requestInfo, route *Route,
	target *upstream.Target, body *bodyTracker, upgrade string, retry func() bool, n int, rec *observe.Record) bool {
	done := target.Begin()
	defer done()
	out := l.outRequest(r, ri, route.scheme, target)
	var ab *attemptBody
	switch {
	case body != nil && body.full != nil:
		// A small body read whole up front: every attempt can resend it.
		out.Body = io.NopCloser(bytes.NewReader(body.full))
		out.ContentLength = int64(len(body.full))
		out.TransferEncoding = nil
	case body != nil:
		ab = &attemptBody{b: body}
		out.Body = ab
	}
	if upgrade != "" {
		out.Header["Connection"] = []string{"Upgrade"}
		out.Header["Upgrade"] = []string{upgrade}
	}
	span := tracing.StartAttempt(r, out, target.Addr(), n)
	sent := time.Now()
	resp, err := route.up.Transport().RoundTrip(out)
	elapsed := time.Since(sent)
	if err != nil {
		span.End(0, err)
	} else {
		span.End(resp.StatusCode, nil)
	}
	route.up.Metrics().ObserveAttempt(elapsed, n > 0)
	if rec != nil {
		rec.UpstreamTime = elapsed
	}
	if err == nil {
		ab.arm()
	}
	bodyUntouched := body == nil || body.full != nil || body.read.Load() == 0
	if err != nil {
		if body.failure() != nil || r.Context().Err() != nil {
			l.failed(w, r, target, body, err) // the client's doing: not the target's fault
			return true
		}
		target.Observe(outcomeOf(err))
		if bodyUntouched && (notSent(err) || idempotent(r.Method)) && retry() {
			l.logger.Warn("upstream attempt failed", "location", l.name, "target", target.Addr(), "err", err)
			return false
		}
		l.failed(w, r, target, body, err)
		return true
	}
	if resp.StatusCode >= 500 {
		target.Observe(upstream.ServerError)
	} else {
		target.Observe(upstream.Success)
	}
	if gatewayError(resp.StatusCode) && (idempotent(r.Method) || body == nil) && bodyUntouched && retry() {
		_ = resp.Body.Close()
		return false
	}
	if resp.StatusCode == http.StatusSwitchingProtocols && upgrade != "" {
		l.switchProtocols(w, r, resp, upgrade, route.upgradeIdle)
		return true
	}
	defer func() { _ = resp.Body.Close() }()
	l.respond(w, r, ri, resp)
	return true
}

// pick chooses a target, avoiding the ones already tried when it can.
func (rt *Route) pick(r *http.Request, ri *requestInfo, tried []*upstream.Target) (*upstream.Target, error) {
	t, err := rt.up.Pick(r, ri.clientIP)
	if err != nil || len(tried) == 0 || !slices.Contains(tried, t) {
		return t, err
	}
	// The balancer chose a target that already failed (hashing always
	// does): take the next usable one in config order instead.
	for _, c := range rt.up.Targets() {
		if c.Healthy() && !slices.Contains(tried, c) {
			return c, nil
		}
	}
	return t, nil
}

// gatewayError reports whether a target's answer says it could not serve
// the request (Envoy's "gateway-error" retry condition: 502, 503, 504).
func gatewayError(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// idempotent reports whether a method may be sent twice (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// timeouter is an error that can say it is a timeout (net.Error and the
// upstream client's errors).
type timeouter interface{ Timeout() bool }

// notSent reports whether a round trip failed before any of the request
// reached the target, so a retry is safe whatever the method.
func notSent(err error) bool {
	var op *net.OpError
	return h1client.IsRetryable(err) || errors.As(err, &op) && op.Op == "dial"
}

// outcomeOf classifies a failed round trip for outlier detection.
func outcomeOf(err error) upstream.Outcome {
	var nerr timeouter
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout() {
		return upstream.Timeout
	}
	return upstream.ConnectFailure
}

// attemptBody is the request body one attempt sends. A transport closes
// the body when a round trip fails, but a retry needs the client's body
// open, so Close is held back until the target has answered (arm). After
// that, Close must reach the client's body: an HTTP/2 transport closes it to
// stop the upload when the target ends the stream early (a gRPC error in the
// middle of a bidirectional call), and waits for that.
type attemptBody struct {
	b         *bodyTracker
	mu        sync.Mutex
	armed     bool
	wantClose bool
}

func (a *attemptBody) Read(p []byte) (int, error) { return a.b.Read(p) }

// Close closes the client's body once armed; before, it is remembered.
func (a *attemptBody) Close() error {
	a.mu.Lock()
	if !a.armed {
		a.wantClose = true
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	return a.b.Close()
}

// arm lets Close through, closing now if it was asked for already. It is
// nil-safe.
func (a *attemptBody) arm() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.armed = true
	want := a.wantClose
	a.mu.Unlock()
	if want {
		_ = a.b.Close()
	}
}

// outRequest builds the request sent to target.
func (l *Location) outRequest(r *http.Request, ri *requestInfo, scheme string, target *upstream.Target) *http.Request {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Close = false
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.URL.Scheme = scheme
	out.URL.Host = target.Addr()
	out.URL.User = nil
	out.URL.Fragment = ""
	if l.rewrite != nil {
		p := l.rewrite.Regex.ReplaceAllString(r.URL.Path, l.rewrite.Replacement)
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		out.URL.Path, out.URL.RawPath = p, ""
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	h := out.Header
	teTrailers := headerHasToken(h, "Te", "trailers")
	RemoveHopHeaders(h)
	delete(h, "Content-Length") // framing is the transport's, from out.ContentLength
	if teTrailers {
		h["Te"] = []string{"trailers"}
	}
	// The values set here share one allocation; each slice is capped so
	// that an append (proxy_add_headers) copies it rather than overwrite
	// the next.
	vals := make([]string, 4+len(l.set))
	one := func(i int, v string) []string {
		vals[i] = v
		return vals[i : i+1 : i+1]
	}
	h["X-Forwarded-For"] = one(0, ri.xff)
	h["X-Real-Ip"] = one(1, ri.realIP())
	if !ri.trusted || len(h["X-Forwarded-Proto"]) == 0 {
		h["X-Forwarded-Proto"] = one(2, ri.scheme)
	}
	if !ri.trusted || len(h["X-Forwarded-Host"]) == 0 {
		h["X-Forwarded-Host"] = one(3, r.Host)
	}
	for _, name := range l.remove {
		delete(h, name)
	}
	for i := range l.set {
		h[l.set[i].name] = one(4+i, l.set[i].value.expand(ri))
	}
	for i := range l.add {
		h[l.add[i].name] = append(h[l.add[i].name], l.add[i].value.expand(ri))
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // do not let the client library add its own
	}
	return out
}

// failed answers a request whose round trip failed before a response.
func (l *Location) failed(w http.ResponseWriter, r *http.Request, target *upstream.Target, body *bodyTracker, err error) {
	var tooLarge *http.MaxBytesError
	var nerr timeouter
	if berr := body.failure(); berr != nil {
		l.clientBodyFailed(w, r, berr) // the client's body broke the round trip, not the target
		return
	}
	switch {
	case errors.As(err, &tooLarge):
		WriteError(w, r, http.StatusRequestEntityTooLarge)
	case r.Context().Err() != nil:
		// The client went away; nobody is left to answer.
		l.logger.Debug("client closed request", "location", l.name, "target", target.Addr())
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout():
		l.logger.Warn("upstream timeout", "location", l.name, "target", target.Addr(), "err", err)
		WriteError(w, r, http.StatusGatewayTimeout)
	default:
		l.logger.Warn("upstream error", "location", l.name, "target", target.Addr(), "err", err)
		WriteError(w, r, http.StatusBadGateway)
	}
}

// clientBodyFailed answers a request whose body could not be read: too
// large (413), too slow (408) or malformed or cut off (400).
func (l *Location) clientBodyFailed(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	var nerr timeouter
	switch {
	case errors.As(err, &tooLarge):
		WriteError(w, r, http.StatusRequestEntityTooLarge)
	case errors.As(err, &nerr) && nerr.Timeout():
		WriteError(w, r, http.StatusRequestTimeout)
	default:
		l.logger.Debug("client request body failed", "location", l.name, "err", err)
		WriteError(w, r, http.StatusBadRequest)
	}
}

// prebufferSize is the largest HTTP/1 request body read whole before a
// target is contacted.
const prebufferSize = 16 << 10

// smallBodies holds the buffers of prebuffered bodies.
var smallBodies = sync.Pool{New: func() any { b := make([]byte, prebufferSize+1); return &b }}

// prebuffer reads a small HTTP/1 request body whole before any target is
// contacted, as nginx's request buffering does: a malformed body (a bad
// chunk size) is then refused with nothing sent to a target, the body goes
// out with the head in one write and a known length, and a retry can resend
// it. A body larger than prebufferSize keeps streaming: what was read is
// replayed ahead of the rest. full is the whole body when it fit; buf,
// when not nil, is the pooled buffer that holds what was read, for the
// caller to return to smallBodies once the response is done.
func prebuffer(b *bodyTracker, length int64) (full []byte, buf *[]byte, err error) {
	if length > prebufferSize {
		return nil, nil, nil
	}
	bp := smallBodies.Get().(*[]byte)
	n, err := io.ReadFull(b.rc, *bp)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return (*bp)[:n], bp, nil // not nil, even when empty
	case err != nil:
		smallBodies.Put(bp)
		return nil, nil, err
	}
	// Longer than it said or chunked and long: stream the rest after it.
	b.rc = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader((*bp)[:n]), b.rc), b.rc}
	return nil, bp, nil
}

// bodyTracker records how a request body read went, so a failed round trip
// can be blamed on the client (408, 413, 400) or the target (502, 504), and
// a retry knows whether any of the body was consumed.
type bodyTracker struct {
	rc   io.ReadCloser
	full []byte // the whole body, when prebuffer read it (nil otherwise)
	read atomic.Int64
	mu   sync.Mutex
	err  error
}

func (b *bodyTracker) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.read.Add(int64(n))
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return n, err
}

func (b *bodyTracker) Close() error { return b.rc.Close() }

// failure is the body's read error, nil for a nil tracker.
func (b *bodyTracker) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// respond copies the upstream response to the client, flushing as it goes
// when the response is a stream.
func (l *Location) respond(w http.ResponseWriter, r *http.Request, ri *requestInfo, resp *http.Response) {
	RemoveHopHeaders(resp.Header)
	dst := w.Header()
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			names = append(names, k)
		}
		dst["Trailer"] = []string{strings.Join(names, ", ")}
		// Trailers need a chunked (HTTP/1.1) or framed (HTTP/2) body: a
		// Content-Length would make the server drop them.
		delete(dst, "Content-Length")
	}
	w.WriteHeader(resp.StatusCode)

	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if stream {
		// A stream's headers go out now: the first event may be long coming.
		_ = http.NewResponseController(w).Flush()
	}
	if err := copyBody(w, resp.Body, stream); err != nil {
		// Headers are gone; abort the connection so the client sees a
		// truncated response rather than a complete-looking one.
		l.logger.Debug("response copy aborted", "location", l.name, "err", err)
		if r.ProtoMajor == 2 && isGRPC(r) && r.Context().Err() == nil {
			// A gRPC client gets a status, not a bare stream reset.
			endGRPC(w, r, ri.start, err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		if _, announced := dst[k]; !announced && !headerHasToken(dst, "Trailer", k) {
			k = http.TrailerPrefix + k
		}
		dst[k] = vv
	}
}

func copyBody(w http.ResponseWriter, body io.Reader, flush bool) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
