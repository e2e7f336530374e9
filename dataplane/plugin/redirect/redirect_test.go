package redirect

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestRedirect(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		desc     string
		cfg      *pb.RedirectPlugin
		url      string
		tls      bool
		status   int
		location string
	}{
		{"http to https", &pb.RedirectPlugin{HttpToHttps: true}, "http://shop.example/a/b?x=1", false, 301, "https://shop.example/a/b?x=1"},
		{"already https passes", &pb.RedirectPlugin{HttpToHttps: true}, "https://shop.example/a", true, 299, ""},
		{"prefix added", &pb.RedirectPlugin{Prefix: "/v2", Status: 308}, "http://api.example/users?id=7", false, 308, "http://api.example/v2/users?id=7"},
		{"under the prefix passes", &pb.RedirectPlugin{Prefix: "/v2/"}, "http://api.example/v2/users", false, 299, ""},
		{"the prefix itself passes", &pb.RedirectPlugin{Prefix: "/v2"}, "http://api.example/v2", false, 299, ""},
		{"both, to another host", &pb.RedirectPlugin{HttpToHttps: true, Prefix: "/app", Host: "www.example:8443", Status: 302}, "http://old.example/x", false, 302, "https://www.example:8443/app/x"},
		{"escaped path kept", &pb.RedirectPlugin{HttpToHttps: true}, "http://e.example/a%2Fb", false, 301, "https://e.example/a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "r", &pb.Plugin{Category: Category, Config: &pb.Plugin_Redirect{Redirect: tt.cfg}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", tt.url, nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			} else {
				req.TLS = nil
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
			}
		})
	}
	if _, err := New(plugin.BuildContext{}, "r", &pb.Plugin{Category: Category, Config: &pb.Plugin_Redirect{Redirect: &pb.RedirectPlugin{Status: 200}}}); err == nil {
		t.Fatal("status 200 accepted")
	}
}
