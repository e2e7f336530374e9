// Package telemetry builds the OpenTelemetry tracer provider that exports
// over OTLP, from the same settings for the data plane (settings.tracing)
// and the control plane (its flags). It is a value per process or config,
// never the global provider.
package telemetry

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/version"
)

// Options tune the exporter; the zero value is what production uses.
type Options struct {
	// BatchTimeout is how long spans wait to be sent in a batch. Default:
	// 1s.
	BatchTimeout time.Duration
	// ServiceName is service.name when cfg sets none.
	ServiceName string
}

// NewTracerProvider builds an exporter and provider for cfg: OTLP over gRPC
// or HTTP, parent-based ratio sampling, batches in the background. It does
// not connect: a collector that is down loses spans, never work. Shut the
// provider down to send what is queued.
func NewTracerProvider(cfg *pb.Tracing, opts Options) (*sdktrace.TracerProvider, error) {
	ep, err := config.ParseOTLPEndpoint(cfg.GetOtlpExporter(), cfg.GetProtocol(), cfg.GetTls())
	if err != nil {
		return nil, fmt.Errorf("otlp_exporter: %w", err)
	}
	headers := map[string]string{}
	for i, h := range cfg.GetHeaders() {
		kv, err := config.ParseHeader(h)
		if err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
		headers[kv.Name] = kv.Value
	}
	var client otlptrace.Client
	if ep.GRPC {
		o := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(ep.HostPort), otlptracegrpc.WithHeaders(headers)}
		if !ep.TLS {
			o = append(o, otlptracegrpc.WithInsecure())
		}
		client = otlptracegrpc.NewClient(o...)
	} else {
		o := []otlptracehttp.Option{otlptracehttp.WithEndpoint(ep.HostPort), otlptracehttp.WithHeaders(headers)}
		if ep.Path != "" {
			o = append(o, otlptracehttp.WithURLPath(ep.Path))
		}
		if !ep.TLS {
			o = append(o, otlptracehttp.WithInsecure())
		}
		client = otlptracehttp.NewClient(o...)
	}
	exp := otlptrace.NewUnstarted(client)
	if err := exp.Start(context.Background()); err != nil { // gRPC connects lazily
		return nil, fmt.Errorf("otlp_exporter: %w", err)
	}
	name := cfg.GetServiceName()
	if name == "" {
		name = opts.ServiceName
	}
	ratio := 1.0
	if cfg.SampleRatio != nil {
		ratio = cfg.GetSampleRatio()
	}
	batch := opts.BatchTimeout
	if batch <= 0 {
		batch = time.Second
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(name), semconv.ServiceVersion(version.Version))
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(batch)),
	), nil
}

// Shutdown sends what tp has queued, for at most 5s, and stops it.
func Shutdown(tp *sdktrace.TracerProvider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tp.Shutdown(ctx)
}
