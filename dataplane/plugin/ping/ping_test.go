package ping

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestPing(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		desc, cfgPath, method, path string
		wantStatus                  int
		wantBody                    string
	}{
		{"default path", "", "GET", "/ping", 200, "pong\n"},
		{"HEAD", "", "HEAD", "/ping", 200, ""},
		{"other path passes on", "", "GET", "/pingx", 299, ""},
		{"POST passes on", "", "POST", "/ping", 299, ""},
		{"configured path", "/health", "GET", "/health", 200, "pong\n"},
		{"default path not answered when configured", "/health", "GET", "/ping", 299, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "p", &pb.Plugin{Category: Category, Config: &pb.Plugin_Ping{Ping: &pb.PingPlugin{Path: tt.cfgPath}}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
