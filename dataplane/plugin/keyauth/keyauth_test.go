package keyauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestKeyAuth(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r; w.WriteHeader(299) })
	tests := []struct {
		desc      string
		cfg       *pb.KeyAuthPlugin
		url, key  string
		want      int
		hiddenKey bool
	}{
		{"header ok", &pb.KeyAuthPlugin{Keys: []string{"k1", "k2"}}, "/", "k2", 299, false},
		{"header wrong", &pb.KeyAuthPlugin{Keys: []string{"k1"}}, "/", "k3", 401, false},
		{"header missing", &pb.KeyAuthPlugin{Keys: []string{"k1"}}, "/", "", 401, false},
		{"prefix of a key", &pb.KeyAuthPlugin{Keys: []string{"k1-long"}}, "/", "k1", 401, false},
		{"header hidden", &pb.KeyAuthPlugin{Keys: []string{"k1"}, HideCredential: true}, "/", "k1", 299, true},
		{"query ok and hidden", &pb.KeyAuthPlugin{Keys: []string{"k1"}, Lookup: "query", Name: "api_key", HideCredential: true}, "/x?api_key=k1&a=b", "", 299, true},
		{"query wrong", &pb.KeyAuthPlugin{Keys: []string{"k1"}, Lookup: "query", Name: "api_key"}, "/x?api_key=nope", "", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			mw, err := New(plugin.BuildContext{}, "ka", &pb.Plugin{Category: Category, Config: &pb.Plugin_KeyAuth{KeyAuth: tt.cfg}})
			if err != nil {
				t.Fatal(err)
			}
			seen = nil
			req := httptest.NewRequest("GET", tt.url, nil)
			if tt.key != "" {
				req.Header.Set(DefaultName, tt.key)
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 && (rec.Body.String() != "unauthorized" || seen != nil) {
				t.Fatalf("refusal body %q, forwarded %v", rec.Body.String(), seen != nil)
			}
			if tt.hiddenKey && (seen.Header.Get(DefaultName) != "" || seen.URL.Query().Get("api_key") != "" || seen.URL.Query().Get("a") == "" && tt.cfg.GetLookup() == "query") {
				t.Fatalf("credential not hidden (or other query lost): %v %v", seen.Header, seen.URL)
			}
		})
	}
	for _, c := range []*pb.KeyAuthPlugin{{}, {Keys: []string{""}}, {Keys: []string{"k"}, Lookup: "cookie"}} {
		if _, err := New(plugin.BuildContext{}, "ka", &pb.Plugin{Category: Category, Config: &pb.Plugin_KeyAuth{KeyAuth: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
}
