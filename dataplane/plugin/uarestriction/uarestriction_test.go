package uarestriction

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestUARestriction(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		desc, typ, ua string
		want          int
	}{
		{"deny (default): matching agent", "", "python-requests/2.31", 403},
		{"deny: other agent", "deny", "Mozilla/5.0", 299},
		{"deny: anchored expression does not match the middle", "deny", "x curl/8.0", 299},
		{"allow: matching agent", "allow", "curl/8.0", 299},
		{"allow: empty agent", "allow", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "ua", &pb.Plugin{Category: Category, Config: &pb.Plugin_UaRestriction{
				UaRestriction: &pb.UaRestrictionPlugin{UaList: []string{"python-requests", "^curl/"}, Type: tt.typ}}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("User-Agent", tt.ua)
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
	for _, bad := range []*pb.UaRestrictionPlugin{{}, {UaList: []string{"("}}, {UaList: []string{"x"}, Type: "block"}} {
		if _, err := New(plugin.BuildContext{}, "ua", &pb.Plugin{Category: Category, Config: &pb.Plugin_UaRestriction{UaRestriction: bad}}); err == nil {
			t.Errorf("config %v built", bad)
		}
	}
}
