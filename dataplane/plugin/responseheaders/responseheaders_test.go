package responseheaders

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func build(t *testing.T, c *pb.ResponseHeadersPlugin) plugin.Middleware {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "rh", &pb.Plugin{Category: Category, Config: &pb.Plugin_ResponseHeaders{ResponseHeaders: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func TestResponseEdits(t *testing.T) {
	t.Parallel()
	upstream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Server", "backend/1.0")
		h.Set("X-Old", "v")
		h.Set("Cache-Control", "private")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		_, _ = w.Write([]byte("body"))
	})
	mw := build(t, &pb.ResponseHeadersPlugin{
		RemoveHeaders:       []string{"server"},
		RenameHeaders:       []string{"X-Old:X-New"},
		SetHeaders:          []string{"Cache-Control:no-store"},
		SetHeadersNotExists: []string{"X-Frame-Options:DENY", "X-Content-Type-Options:nosniff"},
		AddHeaders:          []string{"Via:pingap"},
	})
	rec := httptest.NewRecorder()
	mw(upstream).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	h := rec.Header()
	checks := map[string]string{
		"Server": "", "X-Old": "", "X-New": "v", "Cache-Control": "no-store",
		"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff", "Via": "pingap",
	}
	for k, want := range checks {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec.Body.String() != "body" {
		t.Errorf("body %q", rec.Body.String())
	}
}

func TestRequestEdits(t *testing.T) {
	t.Parallel()
	var seen http.Header
	upstream := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })
	mw := build(t, &pb.ResponseHeadersPlugin{OnRequest: true, RemoveHeaders: []string{"Cookie"}, SetHeaders: []string{"X-Tenant:acme"}})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "secret=1")
	mw(upstream).ServeHTTP(httptest.NewRecorder(), req)
	if seen.Get("Cookie") != "" || seen.Get("X-Tenant") != "acme" {
		t.Fatalf("upstream saw %v", seen)
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.ResponseHeadersPlugin{
		{AddHeaders: []string{"nocolon"}}, {RemoveHeaders: []string{"bad name"}}, {RenameHeaders: []string{"X-Only"}},
	} {
		if _, err := New(plugin.BuildContext{}, "rh", &pb.Plugin{Category: Category, Config: &pb.Plugin_ResponseHeaders{ResponseHeaders: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
}
