// Package tracing exports OpenTelemetry traces of the data plane: a server
// span per request and a client span per upstream attempt, W3C trace
// context and baggage read from clients and propagated upstream, sent over
// OTLP (gRPC or HTTP) as settings.tracing says.
//
// Nothing here is global: each config's Tracer owns its TracerProvider, and
// the proxy finds the config's tracer in the request's context, where Wrap
// put it next to the server span. Without tracing the request path only
// asks the context for a tracer, once per upstream attempt.
package tracing

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/telemetry"
	"github.com/pingap-go/pingap/internal/version"
)

// ScopeName is the instrumentation scope of the data plane's spans.
const ScopeName = "github.com/pingap-go/pingap/dataplane"

// DefaultServiceName is service.name when the config sets none.
const DefaultServiceName = "pingap"

// Options tune the exporter; the zero value is what the data plane uses.
type Options = telemetry.Options

// Tracer is the tracing of one settings.tracing.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New builds the exporter and provider for cfg. It does not connect: spans
// are sent in the background, and a collector that is down loses spans,
// never requests.
func New(cfg *pb.Tracing, opts Options) (*Tracer, error) {
	if opts.ServiceName == "" {
		opts.ServiceName = DefaultServiceName
	}
	tp, err := telemetry.NewTracerProvider(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("settings.tracing.%w", err)
	}
	return newTracer(tp), nil
}

// newTracer is the Tracer of tp: one instrumentation scope, with the
// data plane's version, for server and client spans alike.
func newTracer(tp *sdktrace.TracerProvider) *Tracer {
	return &Tracer{provider: tp, tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(version.Version))}
}

// tracerKey is the context key of the tracer that made a request's server
// span; StartAttempt makes the client spans with it.
type tracerKey struct{}

// Close sends the spans still queued (for at most 5s) and stops the
// exporter. It is idempotent.
func (t *Tracer) Close() { telemetry.Shutdown(t.provider) }

// Wrap traces the requests h serves with a server span each. clientIP
// resolves the client's address through the trusted proxies.
func (t *Tracer) Wrap(h http.Handler, clientIP func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := extract(r.Context(), r.Header)
		attrs := []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPath(r.URL.Path),
			semconv.URLScheme(scheme(r)),
			semconv.NetworkProtocolVersion(protoVersion(r)),
			semconv.ClientAddress(clientIP(r)),
		}
		if host, port, ok := splitHost(r.Host); ok {
			attrs = append(attrs, semconv.ServerAddress(host))
			if port > 0 {
				attrs = append(attrs, semconv.ServerPort(port))
			}
		}
		if ua := r.UserAgent(); ua != "" {
			attrs = append(attrs, semconv.UserAgentOriginal(ua))
		}
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		ctx = context.WithValue(ctx, tracerKey{}, t.tracer)
		rec := observe.From(w)
		if rec != nil && span.SpanContext().IsValid() {
			rec.TraceID = span.SpanContext().TraceID().String()
		}
		h.ServeHTTP(w, r.WithContext(ctx))
		if rec == nil {
			return
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(rec.Status))
		if name := rec.Location.Name(); name != "" {
			span.SetAttributes(attribute.String("pingap.location", name))
		}
		if rec.Upstream != "" {
			span.SetAttributes(attribute.String("pingap.upstream", rec.Upstream))
		}
		if rec.RequestID != "" {
			span.SetAttributes(attribute.String("pingap.request_id", rec.RequestID))
		}
		if rec.Status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.Status))
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(rec.Status)))
		}
	})
}

// extract reads W3C traceparent/tracestate and baggage from h.
func extract(ctx context.Context, h http.Header) context.Context {
	c := propagation.HeaderCarrier(h)
	return propagation.Baggage{}.Extract(propagation.TraceContext{}.Extract(ctx, c), c)
}

// inject writes ctx's trace context and baggage into h.
func inject(ctx context.Context, h http.Header) {
	c := propagation.HeaderCarrier(h)
	propagation.TraceContext{}.Inject(ctx, c)
	propagation.Baggage{}.Inject(ctx, c)
}

// Attempt is a client span of one upstream attempt.
type Attempt struct {
	span trace.Span
}

// StartAttempt starts the client span of an attempt to send out (the
// request to the target) when r is traced (it went through Wrap), and
// writes the trace context into out's headers. n counts the attempts
// before this one. Untraced requests get a nil *Attempt, whose methods do
// nothing.
func StartAttempt(r, out *http.Request, target string, n int) *Attempt {
	tracer, ok := r.Context().Value(tracerKey{}).(trace.Tracer)
	if !ok {
		return nil
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(out.Method),
		semconv.URLFull(out.URL.String()),
	}
	if host, port, ok := splitHost(target); ok {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if n > 0 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(n))
	}
	ctx, span := tracer.Start(r.Context(), out.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	inject(ctx, out.Header)
	return &Attempt{span: span}
}

// End ends the span with the attempt's outcome: a status code, or err.
func (a *Attempt) End(status int, err error) {
	if a == nil {
		return
	}
	if err != nil {
		a.span.RecordError(err)
		a.span.SetStatus(codes.Error, "upstream attempt failed")
		a.span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err)))
	} else {
		a.span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			a.span.SetStatus(codes.Error, http.StatusText(status))
			a.span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		}
	}
	a.span.End()
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func protoVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "2"
	case 3:
		return "3"
	}
	return "1." + strconv.Itoa(r.ProtoMinor)
}

// splitHost splits "host[:port]".
func splitHost(hostport string) (string, int, bool) {
	if hostport == "" {
		return "", 0, false
	}
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.Trim(hostport, "[]"), 0, true
	}
	port, _ := strconv.Atoi(p)
	return host, port, true
}
