// Package testotlp is a real OTLP/gRPC trace collector for tests: it
// listens on loopback, keeps the spans it receives and lets a test wait for
// a trace.
package testotlp

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// Receiver is a running collector.
type Receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	// Addr is the collector's "host:port".
	Addr string

	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

// Start runs a collector until the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &Receiver{Addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, rc)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return rc
}

// Export implements the OTLP trace service.
func (rc *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				rc.services = append(rc.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			rc.spans = append(rc.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far that match keep (all with nil).
func (rc *Receiver) Spans(keep func(*tracepb.Span) bool) []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range rc.spans {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// Services are the service.name values of the resources received.
func (rc *Receiver) Services() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.services...)
}

// Trace returns the spans of trace id (hex) received so far.
func (rc *Receiver) Trace(id string) []*tracepb.Span {
	return rc.Spans(func(s *tracepb.Span) bool { return hex.EncodeToString(s.GetTraceId()) == id })
}

// Await waits until keep matches n spans, failing the test after a
// generous bound, and returns them.
func (rc *Receiver) Await(t testing.TB, n int, keep func(*tracepb.Span) bool) []*tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans := rc.Spans(keep)
		if len(spans) >= n {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching spans received, want %d", len(spans), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Attr is the value of a span's attribute key, nil when absent.
func Attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.GetAttributes() {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return nil
}
