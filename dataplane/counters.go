package dataplane

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// counters are the data plane's cumulative request counts, for health
// reports and /status. (Per-route metrics come with the metrics registry.)
type counters struct {
	requests atomic.Uint64
	errors   atomic.Uint64 // answered with a 5xx
	inFlight atomic.Int64
}

// Counters returns the requests served and those answered with a 5xx since
// the data plane started.
func (d *DataPlane) Counters() (requests, errors uint64) {
	return d.counters.requests.Load(), d.counters.errors.Load()
}

// statusRecorder notes the final status a handler answers with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush keeps the writer an http.Flusher.
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// Hijack keeps the writer an http.Hijacker.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// count serves r with h and counts the answer.
func (c *counters) count(h http.Handler, w http.ResponseWriter, r *http.Request) {
	rec := recorders.Get().(*statusRecorder)
	rec.ResponseWriter, rec.status = w, 0
	c.inFlight.Add(1)
	defer func() {
		c.inFlight.Add(-1)
		c.requests.Add(1)
		if rec.status >= 500 {
			c.errors.Add(1)
		}
		rec.ResponseWriter = nil
		recorders.Put(rec)
	}()
	h.ServeHTTP(rec, r)
}
