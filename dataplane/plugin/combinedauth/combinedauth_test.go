package combinedauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// start is the injected clock's time: every test runs at this instant.
var start = time.Unix(1_700_000_000, 0)

func digest(secret string, ts string) string {
	d := sha256.Sum256([]byte(secret + ":" + ts))
	return hex.EncodeToString(d[:])
}

// signed is a query signed for app at ts.
func signed(app, secret string, ts int64) string {
	s := strconv.FormatInt(ts, 10)
	return "app_id=" + app + "&ts=" + s + "&digest=" + digest(secret, s)
}

func build(t *testing.T, c *pb.CombinedAuthPlugin) plugin.Middleware {
	t.Helper()
	ctx := plugin.BuildContext{Now: func() time.Time { return start }}
	mw, err := New(ctx, "ca", &pb.Plugin{Category: Category, Config: &pb.Plugin_CombinedAuth{CombinedAuth: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func TestCombinedAuth(t *testing.T) {
	t.Parallel()
	apps := []*pb.CombinedAuthApp{
		{AppId: "pingap", Secret: "123123", Deviation: 60},
		{AppId: "office", Secret: "s3cret", Deviation: 10, IpList: []string{"192.168.1.0/24", "2001:db8::1"}},
	}
	now := start.Unix()
	tests := []struct {
		desc, query, remote string
		want                int
	}{
		{"valid", signed("pingap", "123123", now) + "&a=1", "", 299},
		{"valid at the edge of deviation, past", signed("pingap", "123123", now-60), "", 299},
		{"valid at the edge of deviation, future", signed("pingap", "123123", now+60), "", 299},
		{"uppercase hex", "app_id=pingap&ts=" + strconv.FormatInt(now, 10) + "&digest=" +
			strings.ToUpper(digest("123123", strconv.FormatInt(now, 10))), "", 299},
		{"wrong digest", signed("pingap", "wrong", now), "", 401},
		{"digest of another ts", "app_id=pingap&ts=" + strconv.FormatInt(now, 10) + "&digest=" + digest("123123", strconv.FormatInt(now-1, 10)), "", 401},
		{"digest not hex", "app_id=pingap&ts=" + strconv.FormatInt(now, 10) + "&digest=zz", "", 401},
		{"unknown app", signed("nobody", "123123", now), "", 401},
		{"secret of another app", signed("pingap", "s3cret", now), "", 401},
		{"stale ts, past", signed("pingap", "123123", now-61), "", 401},
		{"stale ts, future", signed("pingap", "123123", now+61), "", 401},
		{"extreme ts", signed("pingap", "123123", -9223372036854775808), "", 401},
		{"non-numeric ts", "app_id=pingap&ts=soon&digest=" + digest("123123", "soon"), "", 401},
		{"missing digest", "app_id=pingap&ts=" + strconv.FormatInt(now, 10), "", 401},
		{"no credentials", "", "", 401},
		{"ip in list", signed("office", "s3cret", now), "192.168.1.7:5000", 299},
		{"IPv6 in list", signed("office", "s3cret", now), "[2001:db8::1]:5000", 299},
		{"ip not in list", signed("office", "s3cret", now), "10.0.0.1:5000", 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var seen *http.Request
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r; w.WriteHeader(299) })
			req := httptest.NewRequest("GET", "/x?"+tt.query, nil)
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			rec := httptest.NewRecorder()
			build(t, &pb.CombinedAuthPlugin{Authorizations: apps})(next).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 && (rec.Body.String() != "unauthorized" || seen != nil) {
				t.Fatalf("refusal body %q, forwarded %v", rec.Body.String(), seen != nil)
			}
			if tt.want == 299 && seen.URL.RawQuery != req.URL.RawQuery {
				t.Fatalf("query changed without hide_credentials: %q", seen.URL.RawQuery)
			}
		})
	}
}

func TestHideCredentials(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r; w.WriteHeader(299) })
	mw := build(t, &pb.CombinedAuthPlugin{HideCredentials: true,
		Authorizations: []*pb.CombinedAuthApp{{AppId: "pingap", Secret: "123123", Deviation: 60}}})
	ts := strconv.FormatInt(start.Unix(), 10)
	query := "z=1&app_id=pingap&b=%20x&ts=" + ts + "&a=2&digest=" + digest("123123", ts) + "&z=3"
	req := httptest.NewRequest("GET", "/x?"+query, nil)
	rec := httptest.NewRecorder()
	mw(next).ServeHTTP(rec, req)
	if rec.Code != 299 {
		t.Fatalf("status %d", rec.Code)
	}
	if want := "z=1&b=%20x&a=2&z=3"; seen.URL.RawQuery != want {
		t.Fatalf("forwarded query %q, want %q", seen.URL.RawQuery, want)
	}
	if req.URL.RawQuery != query {
		t.Fatalf("the caller's request was changed: %q", req.URL.RawQuery)
	}
}

func TestClientIPResolver(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	cfg := &pb.Plugin{Category: Category, Config: &pb.Plugin_CombinedAuth{CombinedAuth: &pb.CombinedAuthPlugin{
		Authorizations: []*pb.CombinedAuthApp{{AppId: "a", Secret: "s", Deviation: 5, IpList: []string{"203.0.113.0/24"}}}}}}
	for _, tc := range []struct {
		client string
		want   int
	}{{"203.0.113.9", 299}, {"198.51.100.1", 401}} {
		ctx := plugin.BuildContext{
			Now:      func() time.Time { return start },
			ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr(tc.client) },
		}
		mw, err := New(ctx, "ca", cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/?"+signed("a", "s", start.Unix()), nil)
		req.RemoteAddr = "203.0.113.9:1" // the peer is ignored when ClientIP is set
		mw(next).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("client %s: status %d, want %d", tc.client, rec.Code, tc.want)
		}
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.CombinedAuthPlugin{
		{},
		{Authorizations: []*pb.CombinedAuthApp{{Secret: "s", Deviation: 1}}},
		{Authorizations: []*pb.CombinedAuthApp{{AppId: "a", Deviation: 1}}},
		{Authorizations: []*pb.CombinedAuthApp{{AppId: "a", Secret: "s"}}},
		{Authorizations: []*pb.CombinedAuthApp{{AppId: "a", Secret: "s", Deviation: 1}, {AppId: "a", Secret: "t", Deviation: 1}}},
		{Authorizations: []*pb.CombinedAuthApp{{AppId: "a", Secret: "s", Deviation: 1, IpList: []string{"nope"}}}},
	} {
		_, err := New(plugin.BuildContext{}, "ca", &pb.Plugin{Category: Category, Config: &pb.Plugin_CombinedAuth{CombinedAuth: c}})
		if err == nil {
			t.Errorf("config %v built", c)
		} else if strings.Contains(err.Error(), `"s"`) || strings.Contains(err.Error(), `"t"`) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}
