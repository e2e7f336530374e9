package jwtauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// loginUpstream answers /login as the test asks: status, content type,
// body.
func loginUpstream(status int, ctype, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			w.Header().Set("X-Seen-User", r.Header.Get("X-User"))
			w.WriteHeader(299)
			return
		}
		if r.Header.Get("Accept-Encoding") != "" {
			// The plugin must ask for a plain answer it can read.
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestAuthPathMintsToken(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, Algorithm: "HS384", AuthPath: "/login", TokenTtl: durationpb.New(time.Hour),
		ClaimsToHeaders: []string{"sub:X-User"}}
	mw, err := New(testCtx(), "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(loginUpstream(http.StatusOK, "application/json", `{"sub":"alice","n":12345678901234567890,"exp":1}`))
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("user=alice"))
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("X-Upstream") != "" {
		t.Fatalf("login answered %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	var answer map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || len(answer) != 1 || answer["token"] == "" {
		t.Fatalf("login body %q, want {\"token\": ...}", rec.Body)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"HS384"}), jwt.WithTimeFunc(testNow), jwt.WithJSONNumber()).
		ParseWithClaims(answer["token"], claims, func(*jwt.Token) (any, error) { return []byte(secret), nil })
	if err != nil {
		t.Fatalf("minted token does not verify with the secret: %v", err)
	}
	if claims["sub"] != "alice" || claims["n"] != json.Number("12345678901234567890") ||
		claims["iat"] != json.Number("1893553445") || claims["exp"] != json.Number("1893557045") {
		t.Fatalf("claims %v: want the upstream's, iat = now, exp = now + token_ttl", claims)
	}

	// The token opens the other paths, and its claims are forwarded.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, bearerReq("/api", answer["token"]))
	if rec.Code != 299 || rec.Header().Get("X-Seen-User") != "alice" {
		t.Fatalf("minted token: status %d, X-User %q", rec.Code, rec.Header().Get("X-Seen-User"))
	}
	// Once expired, it does not.
	later := func() time.Time { return testNow().Add(time.Hour + time.Second) }
	ctx := testCtx()
	ctx.Now = later
	mw2, err := New(ctx, "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	rec, fwd := serve(mw2, bearerReq("/api", answer["token"]))
	wantRefused(t, rec, fwd, true)
}

// Only a 2xx JSON object is signed; anything else reaches the client as the
// upstream sent it.
func TestAuthPathPassesOtherAnswers(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, AuthPath: "/login"}
	big := `{"pad":"` + strings.Repeat("x", maxAuthBody) + `"}`
	tests := []struct {
		desc         string
		status       int
		ctype, body  string
		wantMintable bool
	}{
		{desc: "object", status: 201, ctype: "application/json", body: `{"sub":"a"}` + "\n", wantMintable: true},
		{desc: "refused login", status: 401, ctype: "application/json", body: `{"error":"bad password"}`},
		{desc: "redirect", status: 302, ctype: "text/html", body: "see other"},
		{desc: "not JSON", status: 200, ctype: "text/plain", body: "hello"},
		{desc: "array", status: 200, ctype: "application/json", body: `[{"sub":"a"}]`},
		{desc: "null", status: 200, ctype: "application/json", body: `null`},
		{desc: "trailing data", status: 200, ctype: "application/json", body: `{"sub":"a"} x`},
		{desc: "empty", status: 204, ctype: "application/json", body: ""},
		{desc: "too large", status: 200, ctype: "application/json", body: big},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(testCtx(), "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: cfg}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(loginUpstream(tt.status, tt.ctype, tt.body)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
			if tt.wantMintable {
				if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), `{"token":"`) {
					t.Fatalf("answered %d %q, want a token", rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != tt.status || rec.Body.String() != tt.body || rec.Header().Get("X-Upstream") != "yes" ||
				rec.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("answered %d %v (%d bytes), want the upstream's answer unchanged", rec.Code, rec.Header(), rec.Body.Len())
			}
		})
	}
}

// Only the exact auth_path skips verification.
func TestAuthPathIsExact(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, AuthPath: "/login"}
	for _, p := range []string{"/login/", "/login/x", "/loginx", "/Login"} {
		rec, fwd := run(t, testCtx(), cfg, httptest.NewRequest(http.MethodGet, p, nil))
		if fwd != nil || rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a token: status %d, forwarded %v", p, rec.Code, fwd != nil)
		}
	}
}
