// Package observe is what the data plane knows about each request once it
// is served — the Record that metrics, access logs and traces read — and
// the Prometheus metrics themselves.
//
// A Record travels with the ResponseWriter, not the request context: the
// data plane's outermost writer carries it and From finds it through the
// writers plugins wrap around it (they implement Unwrap, as
// http.ResponseController requires). So observing a request costs no
// allocation.
package observe

import (
	"net/http"
	"time"
)

// Record is what the proxy learned about one request.
type Record struct {
	// Start is when the request's headers were read.
	Start time.Time
	// Server is the server's name; Location the matched location's metrics
	// (nil when none matched).
	Server   string
	Location *Location
	// Upstream is the name of the upstream the request went to ("" when
	// none); UpstreamAddr the target of the last attempt ("" when no
	// target was tried); UpstreamTime the time from sending that attempt to
	// its response headers; Attempts the number of attempts (retries + 1).
	Upstream     string
	UpstreamAddr string
	UpstreamTime time.Duration
	Attempts     int
	// RequestID is the id the request_id plugin gave the request.
	RequestID string
	// TraceID is the request's trace id (hex) when it is traced.
	TraceID string
	// Status is the status answered (0 until the headers are written).
	Status int
	// BytesIn counts request body bytes read; BytesOut response body bytes
	// written.
	BytesIn, BytesOut int64
}

// AccessLogger writes the access log line of a finished request. It must
// not block: a line that cannot be queued is dropped and counted.
type AccessLogger interface {
	Log(rec *Record, r *http.Request, respHeader http.Header)
}

// Reset clears r for reuse.
func (r *Record) Reset() { *r = Record{} }

// Carrier is implemented by the ResponseWriter that carries a Record.
type Carrier interface {
	ObserveRecord() *Record
}

// From returns the Record carried by w or a writer it wraps, nil if there
// is none (a handler used outside the data plane, in tests).
func From(w http.ResponseWriter) *Record {
	for range 16 { // wrappers nest a few deep; the bound stops a cycle
		switch c := w.(type) {
		case Carrier:
			return c.ObserveRecord()
		case interface{ Unwrap() http.ResponseWriter }:
			w = c.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
