package proxy

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
)

// Short bodies of the responses the proxy produces itself. They never carry
// upstream addresses or internal errors; details go to the log.
var statusBodies = map[int]string{
	http.StatusRequestEntityTooLarge:       "request entity too large\n",
	http.StatusRequestHeaderFieldsTooLarge: "request header fields too large\n",
}

// gRPC status codes the proxy answers with (google.golang.org/grpc/codes).
const (
	grpcInternal          = 13
	grpcUnimplemented     = 12
	grpcUnavailable       = 14
	grpcDeadlineExceeded  = 4
	grpcResourceExhausted = 8
)

// grpcCodes maps the proxy's own HTTP statuses to gRPC status codes, after
// the gRPC HTTP mapping, except that a proxy timeout is DEADLINE_EXCEEDED.
var grpcCodes = map[int]int{
	http.StatusBadRequest:                  grpcInternal,
	http.StatusNotFound:                    grpcUnimplemented,
	http.StatusRequestTimeout:              grpcDeadlineExceeded,
	http.StatusRequestEntityTooLarge:       grpcResourceExhausted,
	http.StatusRequestHeaderFieldsTooLarge: grpcResourceExhausted,
	http.StatusTooManyRequests:             grpcUnavailable,
	http.StatusBadGateway:                  grpcUnavailable,
	http.StatusServiceUnavailable:          grpcUnavailable,
	http.StatusGatewayTimeout:              grpcDeadlineExceeded,
}

// isGRPC reports whether r is a gRPC call, which must be answered with a
// gRPC status rather than an HTTP error page.
func isGRPC(r *http.Request) bool {
	return config.IsGRPCContentType(r.Header.Get("Content-Type"))
}

// WriteError answers r with status and a short plain-text body, or, for a
// gRPC call, with the matching gRPC status as a trailers-only response.
// Plugins use it for the answers they make themselves.
func WriteError(w http.ResponseWriter, r *http.Request, status int) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	if r != nil && isGRPC(r) {
		code, ok := grpcCodes[status]
		if !ok {
			code = grpcUnavailable
		}
		h["Content-Type"] = []string{"application/grpc"}
		h["Grpc-Status"] = []string{strconv.Itoa(code)}
		h["Grpc-Message"] = []string{strings.TrimSpace(bodyFor(status))}
		w.WriteHeader(http.StatusOK)
		return
	}
	body := bodyFor(status)
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// endGRPC ends a gRPC response whose upstream stream broke after the
// headers were sent: trailers carry DEADLINE_EXCEEDED when the call's
// grpc-timeout has passed (the target gave up on it), else UNAVAILABLE.
func endGRPC(w http.ResponseWriter, r *http.Request, start time.Time, cause error) {
	code, msg := grpcUnavailable, "upstream stream ended"
	var nerr interface{ Timeout() bool }
	if d, ok := grpcTimeout(r.Header.Get("Grpc-Timeout")); ok && time.Since(start) >= d-d/20 ||
		errors.As(cause, &nerr) && nerr.Timeout() {
		code, msg = grpcDeadlineExceeded, "deadline exceeded"
	}
	h := w.Header()
	h[http.TrailerPrefix+"Grpc-Status"] = []string{strconv.Itoa(code)}
	h[http.TrailerPrefix+"Grpc-Message"] = []string{msg}
}

// grpcTimeout parses a grpc-timeout header ("100m", "5S").
func grpcTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var u time.Duration
	switch v[len(v)-1] {
	case 'H':
		u = time.Hour
	case 'M':
		u = time.Minute
	case 'S':
		u = time.Second
	case 'm':
		u = time.Millisecond
	case 'u':
		u = time.Microsecond
	case 'n':
		u = time.Nanosecond
	default:
		return 0, false
	}
	return time.Duration(n) * u, true
}

func bodyFor(status int) string {
	if body, ok := statusBodies[status]; ok {
		return body
	}
	return strings.ToLower(http.StatusText(status)) + "\n"
}
