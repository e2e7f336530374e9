package dataplane

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/pingap-go/pingap/internal/testbin"
	"github.com/pingap-go/pingap/internal/testotlp"
)

func byKind(spans []*tracepb.Span, kind tracepb.Span_SpanKind) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.GetKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

// Requests through the real proxy reach a real OTLP receiver as a server
// span (child of the client's traceparent) and a client span per upstream
// attempt (child of the server span), and the upstream gets the trace
// context and baggage.
func TestTracingToOTLPReceiver(t *testing.T) {
	t.Parallel()
	rc := testotlp.Start(t)
	collector := rc.Addr
	var mu sync.Mutex
	seen := map[string]http.Header{} // by path: headers the backend received
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(be.Close)
	addr, dead := freePort(t), testbin.DeadAddr(t)
	dp := newDP(t)
	cfg := fmt.Sprintf(`
[settings.tracing]
otlp_exporter = %q
service_name = "edge-test"
[upstreams.b]
addrs = [%q]
[upstreams.flaky]
addrs = [%q, %q]
algo = "round_robin"
max_retries = 1
[locations.l]
upstream = "b"
[locations.f]
path = "/flaky"
upstream = "flaky"
[servers.s]
addr = %q
locations = ["l", "f"]
`, collector, be.Listener.Addr().String(), dead, be.Listener.Addr().String(), addr)
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	send := func(path, traceparent string, extra http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Header.Set("Traceparent", traceparent)
		for k, v := range extra {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}

	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	send("/one", "00-"+traceID+"-"+clientSpan+"-01", http.Header{"Baggage": {"tenant=acme"}})
	spans := awaitTrace(t, rc, traceID, 2)
	servers, clients := byKind(spans, tracepb.Span_SPAN_KIND_SERVER), byKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
	if len(servers) != 1 || len(clients) != 1 {
		t.Fatalf("trace has %d server and %d client spans, want 1 and 1", len(servers), len(clients))
	}
	srv, cli := servers[0], clients[0]
	if hex.EncodeToString(srv.GetParentSpanId()) != clientSpan {
		t.Errorf("server span's parent %x, want the client's %s", srv.GetParentSpanId(), clientSpan)
	}
	if string(cli.GetParentSpanId()) != string(srv.GetSpanId()) {
		t.Errorf("client span's parent %x, want the server span %x", cli.GetParentSpanId(), srv.GetSpanId())
	}
	for key, want := range map[string]string{"http.request.method": "GET", "url.path": "/one", "pingap.location": "l", "pingap.upstream": "b"} {
		if got := testotlp.Attr(srv, key).GetStringValue(); got != want {
			t.Errorf("server span %s = %q, want %q", key, got, want)
		}
	}
	if got := testotlp.Attr(srv, "http.response.status_code").GetIntValue(); got != 200 {
		t.Errorf("server span status code %d", got)
	}
	if got := testotlp.Attr(cli, "server.address").GetStringValue(); got != "127.0.0.1" {
		t.Errorf("client span server.address %q", got)
	}
	mu.Lock()
	up := seen["/one"]
	mu.Unlock()
	wantParent := "00-" + traceID + "-" + hex.EncodeToString(cli.GetSpanId()) + "-01"
	if got := up.Get("Traceparent"); got != wantParent {
		t.Errorf("upstream got traceparent %q, want %q (the client span as parent)", got, wantParent)
	}
	if got := up.Get("Baggage"); got != "tenant=acme" {
		t.Errorf("upstream got baggage %q", got)
	}
	svc := strings.Join(rc.Services(), ",")
	if !strings.Contains(svc, "edge-test") {
		t.Errorf("resources name services %q, want edge-test", svc)
	}

	// A retry shows as a second client span with http.request.resend_count.
	for i := range 4 {
		id := fmt.Sprintf("%032x", 0xabc0+i)
		send("/flaky", "00-"+id+"-"+clientSpan+"-01", nil)
		spans := awaitTrace(t, rc, id, 2)
		cl := byKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
		if len(cl) == 1 {
			continue // the balancer picked the live target first
		}
		spans = awaitTrace(t, rc, id, 3)
		cl = byKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
		if len(cl) != 2 {
			t.Fatalf("retried request has %d client spans, want 2", len(cl))
		}
		var failed, resent bool
		for _, c := range cl {
			failed = failed || c.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
			resent = resent || testotlp.Attr(c, "http.request.resend_count").GetIntValue() == 1
		}
		if !failed || !resent {
			t.Fatalf("retry spans: failed attempt marked %v, resend count set %v", failed, resent)
		}
		break
	}

	// An unsampled parent is honoured (parent-based sampling): no spans,
	// but the upstream still gets the trace context.
	const quiet = "0af7651916cd43dd8448eb211c80319c"
	send("/quiet", "00-"+quiet+"-"+clientSpan+"-00", nil)
	send("/one", "00-"+traceID+"-"+clientSpan+"-01", nil) // a sampled request after it, to know the exporter ran
	awaitTrace(t, rc, traceID, 4)
	if n := len(rc.Trace(quiet)); n != 0 {
		t.Fatalf("an unsampled trace produced %d spans", n)
	}
	mu.Lock()
	q := seen["/quiet"].Get("Traceparent")
	mu.Unlock()
	if !strings.HasPrefix(q, "00-"+quiet+"-") || !strings.HasSuffix(q, "-00") {
		t.Fatalf("upstream got traceparent %q for the unsampled request", q)
	}
}

// awaitTrace waits for n spans of trace id.
func awaitTrace(t *testing.T, rc *testotlp.Receiver, id string, n int) []*tracepb.Span {
	t.Helper()
	return rc.Await(t, n, func(s *tracepb.Span) bool { return hex.EncodeToString(s.GetTraceId()) == id })
}
