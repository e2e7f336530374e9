package refererrestriction

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestRefererRestriction(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	list := []string{"example.com", "*.example.org", "~^cdn[0-9]+\\.example\\.net$", "Static.Example.", "[2001:db8::1]"}
	tests := []struct {
		desc, typ, referer string
		blockEmpty         bool
		want               int
	}{
		{"allow: exact", "allow", "https://example.com/page", false, 299},
		{"allow: exact host case and port", "allow", "https://EXAMPLE.com:8443/", false, 299},
		{"allow: wildcard", "allow", "https://img.example.org/a.png", false, 299},
		{"allow: regex", "allow", "http://cdn7.example.net/", false, 299},
		{"allow: other site", "allow", "https://evil.test/", false, 403},
		{"allow: suffix trick", "allow", "https://example.com.evil.test/", false, 403},
		{"allow: no referer passes", "allow", "", false, 299},
		{"allow: no referer blocked", "allow", "", true, 403},
		{"allow: garbage referer", "allow", "::not a url", false, 403},
		{"allow: pattern with a trailing dot and capitals", "allow", "https://static.example/x", false, 299},
		{"allow: bracketed IPv6 pattern", "allow", "http://[2001:db8::1]:8080/", false, 299},
		{"deny: listed", "deny", "https://example.com/", false, 403},
		{"deny: other", "deny", "https://other.test/", false, 299},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "ref", &pb.Plugin{Category: Category, Config: &pb.Plugin_RefererRestriction{
				RefererRestriction: &pb.RefererRestrictionPlugin{RefererList: list, Type: tt.typ, BlockEmpty: tt.blockEmpty}}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			if tt.referer != "" {
				req.Header.Set("Referer", tt.referer)
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
	for _, bad := range []*pb.RefererRestrictionPlugin{{}, {RefererList: []string{"~("}}, {RefererList: []string{"a.com"}, Type: "x"}} {
		if _, err := New(plugin.BuildContext{}, "ref", &pb.Plugin{Category: Category, Config: &pb.Plugin_RefererRestriction{RefererRestriction: bad}}); err == nil {
			t.Errorf("config %v built", bad)
		}
	}
}
