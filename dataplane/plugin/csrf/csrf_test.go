package csrf

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

const testKey = "0123456789abcdef-test-key"

// clock is a settable test clock.
type clock struct{ unix atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.unix.Store(1_700_000_000)
	return c
}

func (c *clock) now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

func build(t *testing.T, clk *clock, c *pb.CsrfPlugin) http.Handler {
	t.Helper()
	mw, err := New(plugin.BuildContext{Now: clk.now}, "csrf", &pb.Plugin{Category: Category, Config: &pb.Plugin_Csrf{Csrf: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) }))
}

// fetch gets a token from h at /csrf-token and checks the answer.
func fetch(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/csrf-token", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("token status %d", rec.Code)
	}
	token := rec.Header().Get(DefaultName)
	cookies := rec.Result().Cookies()
	if token == "" || len(cookies) != 1 || cookies[0].Value != token {
		t.Fatalf("token %q, cookies %v", token, cookies)
	}
	return token
}

// post sends a POST with the given cookie and header values ("" for none).
func post(h http.Handler, cookie, header string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/form", strings.NewReader("a=1"))
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: DefaultName, Value: cookie})
	}
	if header != "" {
		req.Header.Set(DefaultName, header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	h := build(t, newClock(), &pb.CsrfPlugin{TokenPath: "/csrf-token", Key: testKey})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/csrf-token?x=1", nil))
	if rec.Code != 204 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	token := rec.Header().Get("X-Csrf-Token")
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[0]) != 22 || parts[1] != strconv.Itoa(1_700_000_000+3600) {
		t.Fatalf("token %q: want <22 chars>.<now+1h>.<signature>", token)
	}
	sc := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"x-csrf-token=" + token + ";", "Path=/", "Max-Age=3600", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	for _, bad := range []string{"HttpOnly", "Secure"} {
		if strings.Contains(sc, bad) {
			t.Errorf("Set-Cookie %q has %s", sc, bad)
		}
	}
	// Over TLS the cookie is Secure; a HEAD gets a token too.
	req := httptest.NewRequest("HEAD", "/csrf-token", nil)
	req.TLS = &tls.ConnectionState{}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 204 || !strings.Contains(rec.Header().Get("Set-Cookie"), "Secure") {
		t.Fatalf("HEAD over TLS: status %d, Set-Cookie %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
	// Another path, or a POST of the token path, is not a token request.
	for _, r := range []*http.Request{httptest.NewRequest("GET", "/csrf-token/x", nil), httptest.NewRequest("GET", "/", nil)} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 299 || rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("GET %s: status %d, Set-Cookie %q", r.URL.Path, rec.Code, rec.Header().Get("Set-Cookie"))
		}
	}
	if rec := post(h, "", ""); rec.Code != 403 {
		t.Errorf("POST of the token path without a token: %d", rec.Code)
	}
}

func TestCustomNameAndTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := build(t, clk, &pb.CsrfPlugin{TokenPath: "/t", Key: testKey, Name: "X-XSRF", Ttl: durationpb.New(90 * time.Second)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/t", nil))
	token := rec.Header().Get("X-Xsrf")
	if rec.Code != 204 || token == "" || !strings.HasPrefix(rec.Header().Get("Set-Cookie"), "X-XSRF="+token) ||
		!strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=90") {
		t.Fatalf("status %d, header %q, Set-Cookie %q", rec.Code, token, rec.Header().Get("Set-Cookie"))
	}
	req := httptest.NewRequest("DELETE", "/x", nil)
	req.AddCookie(&http.Cookie{Name: "X-XSRF", Value: token})
	req.Header.Set("x-xsrf", token)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 299 {
		t.Fatalf("DELETE with the token: %d", rec.Code)
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := &pb.CsrfPlugin{TokenPath: "/csrf-token", Key: testKey}
	h := build(t, clk, cfg)
	token := fetch(t, h)
	other := fetch(t, h)
	foreign := fetch(t, build(t, clk, &pb.CsrfPlugin{TokenPath: "/csrf-token", Key: "another-key-of-16-bytes"}))
	parts := strings.Split(token, ".")
	flip := func(s string) string { // changes a middle character of s
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}
	tamperedSig := parts[0] + "." + parts[1] + "." + flip(parts[2])
	longer := parts[0] + "." + strconv.Itoa(1_700_000_000+999999) + "." + parts[2]
	tests := []struct {
		desc, cookie, header string
		want                 int
	}{
		{"cookie and header", token, token, 299},
		{"missing header", token, "", 403},
		{"missing cookie", "", token, 403},
		{"missing both", "", "", 403},
		{"mismatched", token, other, 403},
		{"tampered signature", tamperedSig, tamperedSig, 403},
		{"tampered expiry", longer, longer, 403},
		{"tampered id", flip(parts[0]) + "." + parts[1] + "." + parts[2], flip(parts[0]) + "." + parts[1] + "." + parts[2], 403},
		{"token of another key", foreign, foreign, 403},
		{"not a token", "abc", "abc", 403},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := post(h, tt.cookie, tt.header)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 403 && rec.Body.String() != "forbidden" {
				t.Fatalf("body %q", rec.Body.String())
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := build(t, clk, &pb.CsrfPlugin{TokenPath: "/csrf-token", Key: testKey})
	token := fetch(t, h)
	clk.advance(time.Hour - time.Second)
	if rec := post(h, token, token); rec.Code != 299 {
		t.Fatalf("a second before expiry: %d", rec.Code)
	}
	clk.advance(time.Second)
	if rec := post(h, token, token); rec.Code != 403 || rec.Body.String() != "forbidden" {
		t.Fatalf("at expiry: %d %q", rec.Code, rec.Body.String())
	}
	if rec := post(h, fetch(t, h), ""); rec.Code != 403 {
		t.Fatalf("new token, no header: %d", rec.Code)
	}
}

func TestSafeMethodsPass(t *testing.T) {
	t.Parallel()
	h := build(t, newClock(), &pb.CsrfPlugin{TokenPath: "/csrf-token", Key: testKey})
	for _, m := range []string{"GET", "HEAD", "OPTIONS", "TRACE"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/form", nil))
		if rec.Code != 299 {
			t.Errorf("%s without a token: %d", m, rec.Code)
		}
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "PROPFIND"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/form", nil))
		if rec.Code != 403 {
			t.Errorf("%s without a token: %d", m, rec.Code)
		}
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.CsrfPlugin{
		{Key: testKey},
		{TokenPath: "csrf", Key: testKey},
		{TokenPath: "/t"},
		{TokenPath: "/t", Key: "short"},
		{TokenPath: "/t", Key: testKey, Name: "bad name"},
		{TokenPath: "/t", Key: testKey, Ttl: durationpb.New(time.Millisecond)},
	} {
		_, err := New(plugin.BuildContext{}, "csrf", &pb.Plugin{Category: Category, Config: &pb.Plugin_Csrf{Csrf: c}})
		if err == nil {
			t.Errorf("config %v built", c)
		} else if strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), testKey) {
			t.Errorf("error shows the key: %v", err)
		}
	}
}
