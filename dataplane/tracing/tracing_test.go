package tracing

import (
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// An untraced request gets no span and no header: the proxy's cost with
// tracing off is one context lookup per attempt.
func TestStartAttemptUntraced(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	out := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	a := StartAttempt(r, out, "127.0.0.1:1", 0)
	if a != nil || out.Header.Get("Traceparent") != "" {
		t.Fatalf("untraced request got a span %v and traceparent %q", a, out.Header.Get("Traceparent"))
	}
	a.End(200, nil) // a nil Attempt ends quietly
}

// Wrap makes a server span whose trace id reaches the request's record,
// and StartAttempt a client span under it, in the same instrumentation
// scope, with the trace context sent upstream.
func TestWrapAndAttempt(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tr := newTracer(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	var sent string
	h := tr.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080/x", nil)
		a := StartAttempt(r, out, "10.0.0.1:8080", 1)
		sent = out.Header.Get("Traceparent")
		a.End(503, nil)
		observe.From(w).Status = http.StatusBadGateway // as the data plane's writer records it
		w.WriteHeader(http.StatusBadGateway)
	}), func(*http.Request) string { return "192.0.2.7" })
	w := &carrier{ResponseWriter: httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
	ended := spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended, want 2", len(ended))
	}
	client, server := ended[0], ended[1]
	if server.SpanKind() != trace.SpanKindServer || client.SpanKind() != trace.SpanKindClient {
		t.Fatalf("span kinds %v, %v", server.SpanKind(), client.SpanKind())
	}
	if client.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Fatal("the client span is not the server span's child")
	}
	if w.rec.TraceID != server.SpanContext().TraceID().String() {
		t.Fatalf("record trace id %q, want %s", w.rec.TraceID, server.SpanContext().TraceID())
	}
	if want := "00-" + client.SpanContext().TraceID().String() + "-" + client.SpanContext().SpanID().String() + "-01"; sent != want {
		t.Fatalf("traceparent sent upstream %q, want %q", sent, want)
	}
	if client.Status().Code.String() != "Error" {
		t.Fatalf("a 503 attempt has status %v", client.Status())
	}
	if server.Status().Code.String() != "Error" {
		t.Fatalf("a request answered 502 has status %v", server.Status())
	}
	if client.InstrumentationScope() != server.InstrumentationScope() || server.InstrumentationScope().Version == "" {
		t.Fatalf("client span scope %+v, server span scope %+v: want one scope with a version",
			client.InstrumentationScope(), server.InstrumentationScope())
	}
}

func TestNewRejectsBadEndpoint(t *testing.T) {
	if _, err := New(&pb.Tracing{OtlpExporter: "nohost"}, Options{}); err == nil {
		t.Fatal("an exporter without a port was accepted")
	}
	tr, err := New(&pb.Tracing{OtlpExporter: "127.0.0.1:1", Protocol: "http"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr.Close() // idempotent
}

type carrier struct {
	http.ResponseWriter
	rec observe.Record
}

func (c *carrier) ObserveRecord() *observe.Record { return &c.rec }

// BenchmarkStartAttempt measures the per-attempt cost of tracing: off (the
// request carries no span) and on (a recording span, no export).
func BenchmarkStartAttempt(b *testing.B) {
	out := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	b.Run("off", func(b *testing.B) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		b.ReportAllocs()
		for b.Loop() {
			StartAttempt(r, out, "127.0.0.1:1", 0).End(200, nil)
		}
	})
	b.Run("on", func(b *testing.B) {
		newTracer(sdktrace.NewTracerProvider()).Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			b.ReportAllocs()
			for b.Loop() {
				StartAttempt(r, out, "127.0.0.1:1", 0).End(200, nil)
			}
		}), func(*http.Request) string { return "" }).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}
