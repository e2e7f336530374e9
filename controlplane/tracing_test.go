package controlplane_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/pingap-go/pingap/controlplane"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/telemetry"
	"github.com/pingap-go/pingap/internal/testotlp"
)

// Applies and pushes reach a real OTLP receiver: the apply as a server span
// with its result, each push as a span that ends with the node's ACK (or,
// with an error status, its NACK).
func TestTracing(t *testing.T) {
	t.Parallel()
	rc := testotlp.Start(t)
	tp, err := telemetry.NewTracerProvider(&pb.Tracing{OtlpExporter: rc.Addr},
		telemetry.Options{ServiceName: "cp-under-test", BatchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { telemetry.Shutdown(tp) })
	cp, err := controlplane.Start(t.Context(), controlplane.Options{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ServerID: "cp-trace",
		TracerProvider: tp,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Close)
	const cluster = "traced"
	runAgent(t, cp.GRPCAddr(), cluster, "ok-node", &failingApplier{})
	runAgent(t, cp.GRPCAddr(), cluster, "picky-node", &failingApplier{fail: "first"})
	if code := post(t, cp.AdminAddr(), "/api/v1/clusters/"+cluster+"/config", config("first")); code != http.StatusCreated {
		t.Fatalf("apply: %d", code)
	}
	named := func(name string) func(*tracepb.Span) bool {
		return func(s *tracepb.Span) bool { return s.GetName() == name }
	}
	apply := rc.Await(t, 1, named("POST /api/v1/clusters/{cluster}/config"))[0]
	if apply.GetKind() != tracepb.Span_SPAN_KIND_SERVER ||
		testotlp.Attr(apply, "pingap.apply.result").GetStringValue() != "created" ||
		testotlp.Attr(apply, "http.response.status_code").GetIntValue() != 201 {
		t.Fatalf("apply span: kind %v, attributes %v", apply.GetKind(), apply.GetAttributes())
	}
	pushes := rc.Await(t, 2, named("push"))
	byNode := map[string]*tracepb.Span{}
	for _, p := range pushes {
		byNode[testotlp.Attr(p, "pingap.node").GetStringValue()] = p
	}
	ok, picky := byNode["ok-node"], byNode["picky-node"]
	if ok == nil || picky == nil {
		t.Fatalf("push spans for nodes %v, want ok-node and picky-node", byNode)
	}
	events := func(s *tracepb.Span) string {
		var names []string
		for _, e := range s.GetEvents() {
			names = append(names, e.GetName())
		}
		return strings.Join(names, ",")
	}
	if events(ok) != "ack" || ok.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR ||
		testotlp.Attr(ok, "pingap.cluster").GetStringValue() != cluster || testotlp.Attr(ok, "pingap.version").GetIntValue() != 1 {
		t.Errorf("ok-node's push span: events %q, status %v, attributes %v", events(ok), ok.GetStatus(), ok.GetAttributes())
	}
	if events(picky) != "nack" || picky.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("picky-node's push span: events %q, status %v", events(picky), picky.GetStatus())
	}
	if svc := strings.Join(rc.Services(), ","); !strings.Contains(svc, "cp-under-test") {
		t.Errorf("service names %q", svc)
	}
}
