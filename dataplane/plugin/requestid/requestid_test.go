package requestid

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

var (
	uuid7  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	nanoid = regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)
)

func serve(t *testing.T, c *pb.RequestIdPlugin, incoming string) (upstream, response string) {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "rid", &pb.Plugin{Category: Category, Config: &pb.Plugin_RequestId{RequestId: c}})
	if err != nil {
		t.Fatal(err)
	}
	name := c.GetHeaderName()
	if name == "" {
		name = DefaultHeader
	}
	req := httptest.NewRequest("GET", "/", nil)
	if incoming != "" {
		req.Header.Set(name, incoming)
	}
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { upstream = r.Header.Get(name) })).ServeHTTP(rec, req)
	return upstream, rec.Header().Get(name)
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	up, resp := serve(t, &pb.RequestIdPlugin{}, "")
	if !uuid7.MatchString(up) || up != resp {
		t.Fatalf("uuid: upstream %q response %q", up, resp)
	}
	up, resp = serve(t, &pb.RequestIdPlugin{Algorithm: "nanoid", HeaderName: "x-trace"}, "")
	if !nanoid.MatchString(up) || up != resp {
		t.Fatalf("nanoid: upstream %q response %q", up, resp)
	}
	if up, _ = serve(t, &pb.RequestIdPlugin{}, "abc-123:edge.1"); up != "abc-123:edge.1" {
		t.Fatalf("valid incoming id replaced: %q", up)
	}
	for _, bad := range []string{"has space", "<script>", string(make([]byte, 200))} {
		if up, _ = serve(t, &pb.RequestIdPlugin{}, bad); up == bad || !uuid7.MatchString(up) {
			t.Errorf("invalid incoming id %q kept or not replaced: %q", bad, up)
		}
	}
	for _, c := range []*pb.RequestIdPlugin{{Algorithm: "sha"}, {Algorithm: "nanoid", Size: 4}, {HeaderName: "bad name"}} {
		if _, err := New(plugin.BuildContext{}, "rid", &pb.Plugin{Category: Category, Config: &pb.Plugin_RequestId{RequestId: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
}

func TestUUIDv7Orders(t *testing.T) {
	t.Parallel()
	a, b := UUIDv7(time.UnixMilli(1_700_000_000_000)), UUIDv7(time.UnixMilli(1_700_000_000_001))
	if a[:13] >= b[:13] || a == b {
		t.Fatalf("%s !< %s", a, b)
	}
	if a[:8] != "018bcfe5" {
		t.Fatalf("timestamp bits %s, want 018bcfe5", a[:8])
	}
	// The plugin's ids carry the build context's clock.
	mw, err := New(plugin.BuildContext{Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) }}, "rid",
		&pb.Plugin{Category: Category, Config: &pb.Plugin_RequestId{RequestId: &pb.RequestIdPlugin{}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if id := rec.Header().Get(DefaultHeader); id[:13] != a[:13] {
		t.Fatalf("id %s, want the clock's timestamp %s", id, a[:13])
	}
}

// The id reaches the request's observe.Record, for the access log.
func TestRecordsID(t *testing.T) {
	mw, err := New(plugin.BuildContext{}, "rid", &pb.Plugin{Category: Category, Config: &pb.Plugin_RequestId{RequestId: &pb.RequestIdPlugin{}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &recordingWriter{ResponseWriter: httptest.NewRecorder()}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Request-Id", "edge-1")
	mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, req)
	if w.rec.RequestID != "edge-1" {
		t.Fatalf("record has request id %q, want edge-1", w.rec.RequestID)
	}
}

type recordingWriter struct {
	http.ResponseWriter
	rec observe.Record
}

func (w *recordingWriter) ObserveRecord() *observe.Record { return &w.rec }
