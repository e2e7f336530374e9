package iprestriction

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/proxy"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestIPRestriction(t *testing.T) {
	t.Parallel()
	trusted, err := proxy.ParseTrustedProxies([]string{"10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		desc, typ, remote, xff string
		want                   int
	}{
		{"allow: listed client", "allow", "192.168.1.7:5000", "", 299},
		{"allow: unlisted client", "allow", "172.16.0.1:5000", "", 403},
		{"allow: default type", "", "172.16.0.1:5000", "", 403},
		{"allow: client behind a trusted proxy", "allow", "10.0.0.1:5000", "192.168.1.9", 299},
		{"allow: spoofed XFF from an untrusted peer", "allow", "172.16.0.1:5000", "192.168.1.9", 403},
		{"allow: IPv6 listed", "allow", "[2001:db8::5]:443", "", 299},
		{"deny: listed client", "deny", "192.168.1.7:5000", "", 403},
		{"deny: unlisted client", "deny", "172.16.0.1:5000", "", 299},
		{"deny: listed client behind a trusted proxy", "deny", "10.0.0.1:5000", "203.0.113.1, 192.168.1.9", 403},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := &pb.Plugin{Category: Category, Config: &pb.Plugin_IpRestriction{IpRestriction: &pb.IpRestrictionPlugin{
				IpList: []string{"192.168.1.0/24", "2001:db8::/32"}, Type: tt.typ}}}
			mw, err := New(plugin.BuildContext{ClientIP: trusted.RequestClientIP}, "ipr", cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if rec.Code == 403 && rec.Body.String() != "forbidden" {
				t.Fatalf("body %q", rec.Body.String())
			}
		})
	}
	for _, bad := range []*pb.IpRestrictionPlugin{{}, {IpList: []string{"nope"}}, {IpList: []string{"10.0.0.0/8"}, Type: "maybe"}} {
		if _, err := New(plugin.BuildContext{}, "ipr", &pb.Plugin{Category: Category, Config: &pb.Plugin_IpRestriction{IpRestriction: bad}}); err == nil {
			t.Errorf("config %v built", bad)
		}
	}
}
