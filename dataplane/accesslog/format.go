package accesslog

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
)

// timeLayout is the layout of the time tags: RFC 3339 with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Option configures Compile.
type Option func(*Format)

// WithClientIP resolves {client_ip} (and the JSON client_ip), usually
// through the trusted proxies; without it the client is the peer.
func WithClientIP(fn func(*http.Request) netip.Addr) Option {
	return func(f *Format) { f.clientIP = fn }
}

// WithClock sets the clock that stamps lines and measures latency; the
// default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(f *Format) { f.now = now }
}

// Format is a compiled access log format. It is immutable and safe for
// concurrent use.
type Format struct {
	json     bool
	parts    []config.AccessLogPart
	clientIP func(*http.Request) netip.Addr
	now      func() time.Time
}

// Compile compiles a server's access_log: a preset ("combined", "common",
// "short", "tiny", "json") or a template of tags.
func Compile(format string, opts ...Option) (*Format, error) {
	parsed, err := config.ParseAccessLogFormat(format)
	if err != nil {
		return nil, fmt.Errorf("accesslog: %w", err)
	}
	f := &Format{json: parsed.JSON, parts: parsed.Parts, clientIP: peerAddr, now: time.Now}
	for i, p := range f.parts {
		if p.Tag == config.AccessLogEnv { // fixed for the process: written once, as text
			f.parts[i] = config.AccessLogPart{Tag: config.AccessLogLiteral, Text: string(appendText(nil, envValue(p.Text)))}
		}
	}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// entry is one request being formatted.
type entry struct {
	rec     *observe.Record
	r       *http.Request
	resp    http.Header
	now     time.Time
	latency time.Duration
}

// Append appends the line of a finished request to dst, without the
// newline, and returns the extended buffer. It reads rec, r and respHeader
// only while it runs.
func (f *Format) Append(dst []byte, rec *observe.Record, r *http.Request, respHeader http.Header) []byte {
	e := entry{rec: rec, r: r, resp: respHeader, now: f.now()}
	if !rec.Start.IsZero() {
		e.latency = e.now.Sub(rec.Start)
	}
	if f.json {
		return f.appendJSON(dst, &e)
	}
	for i := range f.parts {
		dst = f.appendPart(dst, &f.parts[i], &e)
	}
	return dst
}

// appendPart appends one part of a template.
func (f *Format) appendPart(dst []byte, p *config.AccessLogPart, e *entry) []byte {
	r, rec := e.r, e.rec
	switch p.Tag {
	case config.AccessLogLiteral:
		return append(dst, p.Text...)
	case config.AccessLogHost:
		return appendText(dst, r.Host)
	case config.AccessLogMethod:
		return appendText(dst, r.Method)
	case config.AccessLogPath:
		return appendText(dst, requestPath(r))
	case config.AccessLogProto:
		return appendText(dst, r.Proto)
	case config.AccessLogQuery:
		return appendText(dst, requestQuery(r))
	case config.AccessLogRemote:
		return appendText(dst, peerIP(r.RemoteAddr))
	case config.AccessLogClientIP:
		return appendAddr(dst, f.clientIP(r), "-")
	case config.AccessLogScheme:
		return append(dst, scheme(r)...)
	case config.AccessLogURI:
		return appendText(dst, requestURI(r))
	case config.AccessLogReferer:
		return appendText(dst, headerValue(r.Header, "Referer"))
	case config.AccessLogUserAgent:
		return appendText(dst, headerValue(r.Header, "User-Agent"))
	case config.AccessLogWhen:
		return e.now.AppendFormat(dst, timeLayout)
	case config.AccessLogWhenUTCISO:
		return e.now.UTC().AppendFormat(dst, timeLayout)
	case config.AccessLogWhenUnix:
		return strconv.AppendInt(dst, e.now.UnixMilli(), 10)
	case config.AccessLogSize:
		return strconv.AppendInt(dst, rec.BytesOut, 10)
	case config.AccessLogSizeHuman:
		return appendHumanSize(dst, rec.BytesOut)
	case config.AccessLogStatus:
		if rec.Status == 0 {
			return append(dst, '-')
		}
		return strconv.AppendInt(dst, int64(rec.Status), 10)
	case config.AccessLogLatency:
		return strconv.AppendInt(dst, e.latency.Milliseconds(), 10)
	case config.AccessLogLatencyHuman:
		return appendHumanDuration(dst, e.latency)
	case config.AccessLogPayloadSize:
		return strconv.AppendInt(dst, rec.BytesIn, 10)
	case config.AccessLogPayloadSizeHuman:
		return appendHumanSize(dst, rec.BytesIn)
	case config.AccessLogRequestID:
		return appendText(dst, rec.RequestID)
	case config.AccessLogTraceID:
		return appendText(dst, rec.TraceID)
	case config.AccessLogRequestHeader:
		return appendText(dst, headerValue(r.Header, p.Text))
	case config.AccessLogResponseHeader:
		return appendText(dst, headerValue(e.resp, p.Text))
	case config.AccessLogCookie:
		return appendText(dst, cookieValue(r.Header, p.Text))
	case config.AccessLogUpstreamAddr:
		return appendText(dst, rec.UpstreamAddr)
	case config.AccessLogUpstream:
		return appendText(dst, rec.Upstream)
	case config.AccessLogUpstreamResponseTime:
		if rec.UpstreamAddr == "" {
			return append(dst, '-')
		}
		return strconv.AppendInt(dst, rec.UpstreamTime.Milliseconds(), 10)
	case config.AccessLogLocation:
		return appendText(dst, rec.Location.Name())
	case config.AccessLogServer:
		return appendText(dst, rec.Server)
	case config.AccessLogAttempts:
		return strconv.AppendInt(dst, int64(rec.Attempts), 10)
	}
	return append(dst, '-') // a tag without a case here (TestEveryTag fails)
}

// requestPath is the path as the client sent it (percent-encoded): the
// request target without its query, or scheme and host in absolute form.
func requestPath(r *http.Request) string {
	target := r.RequestURI
	if target == "" {
		if r.URL == nil {
			return ""
		}
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if target != "" && target[0] != '/' {
		if _, rest, ok := strings.Cut(target, "://"); ok { // absolute form
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				return rest[i:]
			}
			return "/"
		}
	}
	return target
}

func requestQuery(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	return r.URL.RawQuery
}

// requestURI is the request target as sent; a request made in process has
// none and gets its URL's.
func requestURI(r *http.Request) string {
	if r.RequestURI != "" || r.URL == nil {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// headerValue is the first value of h's key (canonical), "" when absent.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// cookieValue finds a request cookie without parsing the others (and
// without allocating). A quoted value is unquoted, as net/http does.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = cut(line, ';')
			k, v, ok := cut(trimSpace(part), '=')
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// peerIP is the IP of a RemoteAddr ("1.2.3.4:5678", "[::1]:5678").
func peerIP(remote string) string {
	for i := len(remote) - 1; i >= 0; i-- {
		if remote[i] == ':' {
			host := remote[:i]
			if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
				host = host[1 : len(host)-1]
			}
			return host
		}
		if remote[i] < '0' || remote[i] > '9' {
			break
		}
	}
	return remote
}

// peerAddr is the client when no trusted proxies resolve it: the peer.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// appendAddr appends a, or empty when a is not valid.
func appendAddr(dst []byte, a netip.Addr, empty string) []byte {
	if !a.IsValid() {
		return append(dst, empty...)
	}
	return a.AppendTo(dst)
}

// envValue is the value of {$name}: the host name for "hostname" (as
// Pingap has it), else the environment variable name.
func envValue(name string) string {
	if name == "hostname" {
		h, _ := os.Hostname()
		return h
	}
	return os.Getenv(name)
}
