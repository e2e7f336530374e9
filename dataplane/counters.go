package dataplane

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/runtime"
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

// statusRecorder is the outermost ResponseWriter of every request: it
// carries the request's observe.Record (status, bytes, and what the proxy
// adds) and is pooled.
type statusRecorder struct {
	http.ResponseWriter
	rec observe.Record
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

// ObserveRecord makes the writer an observe.Carrier.
func (s *statusRecorder) ObserveRecord() *observe.Record { return &s.rec }

func (s *statusRecorder) WriteHeader(code int) {
	if s.rec.Status == 0 && code >= 200 {
		s.rec.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.rec.Status == 0 {
		s.rec.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.rec.BytesOut += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush keeps the writer an http.Flusher.
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// Hijack keeps the writer an http.Hijacker.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// count serves r with srv, counts the answer and observes it.
func (c *counters) count(srv *runtime.Server, w http.ResponseWriter, r *http.Request) {
	sr := recorders.Get().(*statusRecorder)
	sr.ResponseWriter = w
	sr.rec.Reset()
	sr.rec.Start = time.Now()
	sr.rec.Server = srv.Handler.Name()
	c.inFlight.Add(1)
	defer func() {
		c.inFlight.Add(-1)
		c.requests.Add(1)
		rec := &sr.rec
		if rec.Status >= 500 {
			c.errors.Add(1)
		}
		loc := rec.Location
		if loc == nil {
			loc = srv.Unmatched
		}
		loc.Observe(rec.Upstream, rec.Status, time.Since(rec.Start), rec.BytesIn, rec.BytesOut)
		if srv.AccessLog != nil {
			srv.AccessLog.Log(rec, r, w.Header())
		}
		sr.ResponseWriter = nil
		recorders.Put(sr)
	}()
	srv.Entry.ServeHTTP(sr, r)
}
