package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func build(t *testing.T, c *pb.CorsPlugin) http.Handler {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "cors", &pb.Plugin{Category: Category, Config: &pb.Plugin_Cors{Cors: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		_, _ = w.Write([]byte("ok"))
	}))
}

func TestCORS(t *testing.T) {
	t.Parallel()
	cfg := &pb.CorsPlugin{AllowOrigin: "https://app.example.com, *.example.org", AllowCredential: true,
		ExposeHeaders: "X-Total", MaxAge: durationpb.New(600_000_000_000)}
	tests := []struct {
		desc, method, origin, reqMethod string
		wantStatus                      int
		wantACAO                        string
	}{
		{"simple allowed", "GET", "https://app.example.com", "", 200, "https://app.example.com"},
		{"simple other origin gets no CORS", "GET", "https://evil.test", "", 200, ""},
		{"scheme must match", "GET", "http://app.example.com", "", 200, ""},
		{"wildcard any scheme", "GET", "http://img.example.org", "", 200, "http://img.example.org"},
		{"wildcard needs a subdomain", "GET", "https://example.org", "", 200, ""},
		{"no origin", "GET", "", "", 200, ""},
		{"preflight allowed", "OPTIONS", "https://app.example.com", "PUT", 204, "https://app.example.com"},
		{"preflight refused", "OPTIONS", "https://evil.test", "PUT", 403, ""},
		{"plain OPTIONS passes", "OPTIONS", "https://app.example.com", "", 200, "https://app.example.com"},
	}
	h := build(t, cfg)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tt.reqMethod)
				req.Header.Set("Access-Control-Request-Headers", "X-Token")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Access-Control-Allow-Origin") != tt.wantACAO {
				t.Fatalf("got %d ACAO %q, want %d %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantACAO)
			}
			if tt.wantACAO == "" {
				return
			}
			if rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("credentials not allowed")
			}
			vary := rec.Header().Values("Vary")
			if len(vary) == 0 || vary[len(vary)-1] == "Accept-Encoding" && len(vary) == 1 {
				t.Errorf("Vary = %v, want Origin added", vary)
			}
			if tt.wantStatus == 204 {
				if rec.Header().Get("Access-Control-Allow-Headers") != "X-Token" || rec.Header().Get("Access-Control-Max-Age") != "600" ||
					rec.Header().Get("Access-Control-Allow-Methods") != DefaultMethods {
					t.Errorf("preflight headers %v", rec.Header())
				}
			} else if rec.Header().Get("Access-Control-Expose-Headers") != "X-Total" || rec.Body.String() != "ok" {
				t.Errorf("response headers %v body %q", rec.Header(), rec.Body.String())
			}
		})
	}
}

func TestStarAndEcho(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  *pb.CorsPlugin
		want string
	}{
		{&pb.CorsPlugin{AllowOrigin: "*"}, "*"},
		{&pb.CorsPlugin{AllowOrigin: "*", AllowCredential: true}, "https://x.test"},
		{&pb.CorsPlugin{AllowOrigin: "$http_origin"}, "https://x.test"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Origin", "https://x.test")
		rec := httptest.NewRecorder()
		build(t, tt.cfg).ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("%v: ACAO %q, want %q", tt.cfg, got, tt.want)
		}
	}
	for _, bad := range []string{"", "ftp://a.com", "https://a.com/path", "https://a*.com"} {
		if _, err := New(plugin.BuildContext{}, "c", &pb.Plugin{Category: Category, Config: &pb.Plugin_Cors{Cors: &pb.CorsPlugin{AllowOrigin: bad}}}); err == nil {
			t.Errorf("allow_origin %q built", bad)
		}
	}
}
