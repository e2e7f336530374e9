// Package testbackend is a real HTTP backend for end-to-end tests,
// benchmarks and demos of the proxy. Every response names the backend that
// produced it in the X-Backend header ("NAME@ADDR"), so a test can tell which
// target a balancer picked, and the default endpoint echoes the request it
// received as JSON, so a test can see what the proxy forwarded.
//
// Endpoints (any method):
//
//	/delay/<duration>          sleeps, then answers like the default endpoint
//	/status/<code>             answers with that status (200..599)
//	/bytes/<n>                 answers n bytes, byte i being 'a'+i%26
//	/stream?n=5&interval=50ms  sends n lines, flushing each, interval apart
//	/echo                      answers the request body with its Content-Type
//	anything else              200 with the request as JSON (see Echo)
package testbackend

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HeaderBackend is the response header naming the backend, "NAME@ADDR".
const HeaderBackend = "X-Backend"

// Limits that keep a mistaken request from exhausting the machine.
const (
	// MaxDelay is the longest /delay accepted.
	MaxDelay = 10 * time.Minute
	// MaxBytes is the largest /bytes answer.
	MaxBytes = 1 << 30
	// MaxEchoBytes is the largest body /echo answers; larger bodies get 413.
	MaxEchoBytes = 64 << 20
	// MaxStreamChunks is the largest n of /stream.
	MaxStreamChunks = 100000
)

// Echo is the JSON document the default endpoint answers: what the backend
// received.
type Echo struct {
	// Backend is "NAME@ADDR", the same as the X-Backend header.
	Backend string `json:"backend"`
	// Method is the request method.
	Method string `json:"method"`
	// Path is the request path as received (escaped form).
	Path string `json:"path"`
	// RawQuery is the query string without the "?".
	RawQuery string `json:"raw_query"`
	// Host is the request's Host header.
	Host string `json:"host"`
	// Headers are the request headers, canonical names, several values of one
	// name joined with ", ".
	Headers map[string]string `json:"headers"`
	// BodyBytes is the number of body bytes read.
	BodyBytes int64 `json:"body_bytes"`
	// RemoteAddr is the peer's address, "ip:port".
	RemoteAddr string `json:"remote_addr"`
}

type handler struct {
	name string
	addr string
	mux  *http.ServeMux
	// pattern is what /bytes writes, block by block: byte i is 'a'+i%26,
	// and its length is a multiple of 26 so the pattern runs on across
	// blocks. Read only.
	pattern []byte
}

// New returns the backend's handler. name is the NAME part of the X-Backend
// header every response carries; ADDR is the local address of the
// connection each request arrived on.
func New(name string) http.Handler { return NewWithAddr(name, "") }

// NewWithAddr is New with a fixed ADDR part of X-Backend, such as a
// listener's address; an empty addr behaves like New.
func NewWithAddr(name, addr string) http.Handler {
	h := &handler{name: name, addr: addr, pattern: make([]byte, 26*1260)}
	for i := range h.pattern {
		h.pattern[i] = 'a' + byte(i%26)
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("/delay/{d}", h.delay)
	h.mux.HandleFunc("/status/{code}", h.status)
	h.mux.HandleFunc("/bytes/{n}", h.bytes)
	h.mux.HandleFunc("/stream", h.stream)
	h.mux.HandleFunc("/echo", h.echoBody)
	h.mux.HandleFunc("/", h.echoRequest)
	return h
}

// ServeHTTP sets X-Backend and dispatches to the endpoint.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(HeaderBackend, h.backend(r))
	h.mux.ServeHTTP(w, r)
}

// backend is "NAME@ADDR" for a request.
func (h *handler) backend(r *http.Request) string {
	addr := h.addr
	if addr == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			addr = a.String()
		}
	}
	return h.name + "@" + addr
}

// echoRequest answers the request as JSON, after reading its whole body.
func (h *handler) echoRequest(w http.ResponseWriter, r *http.Request) {
	h.writeEcho(w, r, http.StatusOK)
}

func (h *handler) writeEcho(w http.ResponseWriter, r *http.Request, code int) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, "testbackend: reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	e := Echo{
		Backend:    h.backend(r),
		Method:     r.Method,
		Path:       r.URL.EscapedPath(),
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		Headers:    joinHeaders(r.Header),
		BodyBytes:  n,
		RemoteAddr: r.RemoteAddr,
	}
	body, err := json.Marshal(e)
	if err != nil {
		http.Error(w, "testbackend: "+err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if bodyAllowed(code) && r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// joinHeaders flattens a header map, joining repeated values with ", " in
// the order received.
func joinHeaders(hdr http.Header) map[string]string {
	out := make(map[string]string, len(hdr))
	for k, vs := range hdr {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified && code >= 200
}

// delay sleeps for the duration in the path, then answers like echoRequest.
// It stops early, without an answer, when the client goes away.
func (h *handler) delay(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.PathValue("d"))
	if err != nil || d < 0 || d > MaxDelay {
		http.Error(w, fmt.Sprintf("testbackend: invalid delay %q: want a duration 0..%s", r.PathValue("d"), MaxDelay), http.StatusBadRequest)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	h.writeEcho(w, r, http.StatusOK)
}

// status answers with the status code in the path and the echo document as
// body where the code allows one.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		http.Error(w, fmt.Sprintf("testbackend: invalid status %q: want 200..599", r.PathValue("code")), http.StatusBadRequest)
		return
	}
	h.writeEcho(w, r, code)
}

// bytes answers n bytes: byte i is 'a'+i%26, so a client can check every
// byte it received.
func (h *handler) bytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 0 || n > MaxBytes {
		http.Error(w, fmt.Sprintf("testbackend: invalid size %q: want 0..%d", r.PathValue("n"), MaxBytes), http.StatusBadRequest)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method == http.MethodHead {
		return
	}
	for n > 0 {
		chunk := h.pattern
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		n -= int64(len(chunk))
	}
}

// stream sends n lines "chunk I\n", flushing each, interval apart.
func (h *handler) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, interval := 5, 50*time.Millisecond
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > MaxStreamChunks {
			http.Error(w, fmt.Sprintf("testbackend: invalid n %q: want 0..%d", s, MaxStreamChunks), http.StatusBadRequest)
			return
		}
		n = v
	}
	if s := q.Get("interval"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 || v > MaxDelay {
			http.Error(w, fmt.Sprintf("testbackend: invalid interval %q", s), http.StatusBadRequest)
			return
		}
		interval = v
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(max(interval, time.Nanosecond))
	defer t.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		if _, err := fmt.Fprintf(w, "chunk %d\n", i); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// echoBody answers the request body with the request's Content-Type.
func (h *handler) echoBody(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEchoBytes+1))
	if err != nil {
		http.Error(w, "testbackend: reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > MaxEchoBytes {
		http.Error(w, fmt.Sprintf("testbackend: body over %d bytes", MaxEchoBytes), http.StatusRequestEntityTooLarge)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
