package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

const secret = "0123456789abcdef0123456789abcdef"

// testNow is the clock of every test: tokens are checked against it, not
// against the real time.
func testNow() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// testCtx is a build context with the test clock.
func testCtx() plugin.BuildContext { return plugin.BuildContext{Now: testNow} }

// sign signs claims with alg and key; kid goes in the header when set.
func sign(t *testing.T, alg string, key any, claims jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsAt are valid claims around testNow.
func claimsAt(extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "alice", "iat": testNow().Unix(), "exp": testNow().Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// run builds cfg with ctx and sends req through it. forwarded is the
// request that reached the next handler, nil when the plugin answered.
func run(t *testing.T, ctx plugin.BuildContext, cfg *pb.JwtPlugin, req *http.Request) (rec *httptest.ResponseRecorder, forwarded *http.Request) {
	t.Helper()
	mw, err := New(ctx, "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	return serve(mw, req)
}

func serve(mw plugin.Middleware, req *http.Request) (rec *httptest.ResponseRecorder, forwarded *http.Request) {
	rec = httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded = r
		w.WriteHeader(299)
	})).ServeHTTP(rec, req)
	return rec, forwarded
}

// bearerReq is a GET of url with "Authorization: Bearer tok".
func bearerReq(url, tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// wantRefused checks a 401 that says nothing about why.
func wantRefused(t *testing.T, rec *httptest.ResponseRecorder, forwarded *http.Request, tokenSent bool) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized || forwarded != nil {
		t.Fatalf("status %d (forwarded %v), want 401", rec.Code, forwarded != nil)
	}
	if rec.Body.String() != "unauthorized" {
		t.Errorf("body %q, want the same refusal for every failure", rec.Body.String())
	}
	want := challenge
	if tokenSent {
		want = challengeInvalid
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
}

type keys struct {
	rsa      *rsa.PrivateKey
	ec256    *ecdsa.PrivateKey
	ec384    *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
	rsaPEM   string
	ec256PEM string
	edPEM    string
}

func newKeys(t *testing.T) keys {
	t.Helper()
	var k keys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	k.ec256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	k.rsaPEM, k.ec256PEM, k.edPEM = publicPEM(t, k.rsa), publicPEM(t, k.ec256), publicPEM(t, k.ed)
	return k
}

func publicPEM(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestAlgorithms(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	keyFile := filepath.Join(t.TempDir(), "ed.pem")
	if err := os.WriteFile(keyFile, []byte(k.edPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	other := newKeys(t)
	tests := []struct {
		desc     string
		cfg      *pb.JwtPlugin
		alg      string
		key      any
		wrongKey any
	}{
		{"HS256 by default", &pb.JwtPlugin{Secret: secret}, "HS256", []byte(secret), []byte("another secret")},
		{"HS384", &pb.JwtPlugin{Secret: secret, Algorithm: "HS384"}, "HS384", []byte(secret), []byte("another secret")},
		{"HS512", &pb.JwtPlugin{Secret: secret, Algorithm: "HS512"}, "HS512", []byte(secret), []byte("another secret")},
		{"RS256", &pb.JwtPlugin{PublicKey: k.rsaPEM, Algorithm: "RS256"}, "RS256", k.rsa, other.rsa},
		{"PS256", &pb.JwtPlugin{PublicKey: k.rsaPEM, Algorithm: "PS256"}, "PS256", k.rsa, other.rsa},
		{"ES256", &pb.JwtPlugin{PublicKey: k.ec256PEM, Algorithm: "ES256"}, "ES256", k.ec256, other.ec256},
		{"EdDSA from a file", &pb.JwtPlugin{PublicKey: keyFile, Algorithm: "EdDSA"}, "EdDSA", k.ed, other.ed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(testCtx(), "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: tt.cfg}})
			if err != nil {
				t.Fatal(err)
			}
			rec, fwd := serve(mw, bearerReq("/", sign(t, tt.alg, tt.key, claimsAt(nil), "")))
			if rec.Code != 299 || fwd == nil {
				t.Fatalf("valid token: status %d", rec.Code)
			}
			rec, fwd = serve(mw, bearerReq("/", sign(t, tt.alg, tt.wrongKey, claimsAt(nil), "")))
			wantRefused(t, rec, fwd, true)
		})
	}
}

// Every failed check answers the same 401.
func TestClaimChecks(t *testing.T) {
	t.Parallel()
	hs := func(c jwt.MapClaims) string { return sign(t, "HS256", []byte(secret), claimsAt(c), "") }
	now := testNow()
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc  string
		cfg   *pb.JwtPlugin
		token string
		ok    bool
	}{
		{"valid", &pb.JwtPlugin{Secret: secret}, hs(nil), true},
		{"wrong signature", &pb.JwtPlugin{Secret: secret}, sign(t, "HS256", []byte("not the secret"), claimsAt(nil), ""), false},
		{"tampered payload", &pb.JwtPlugin{Secret: secret}, tamper(t, hs(nil)), false},
		{"alg none", &pb.JwtPlugin{Secret: secret}, none, false},
		{"other HS algorithm than configured", &pb.JwtPlugin{Secret: secret}, sign(t, "HS512", []byte(secret), claimsAt(nil), ""), false},
		{"garbage", &pb.JwtPlugin{Secret: secret}, "not.a.token", false},
		{"expired", &pb.JwtPlugin{Secret: secret}, hs(jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()}), false},
		{"expired within leeway", &pb.JwtPlugin{Secret: secret, Leeway: durationpb.New(2 * time.Minute)},
			hs(jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()}), true},
		{"expired beyond leeway", &pb.JwtPlugin{Secret: secret, Leeway: durationpb.New(30 * time.Second)},
			hs(jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()}), false},
		{"nbf in the future", &pb.JwtPlugin{Secret: secret}, hs(jwt.MapClaims{"nbf": now.Add(time.Minute).Unix()}), false},
		{"nbf in the past", &pb.JwtPlugin{Secret: secret}, hs(jwt.MapClaims{"nbf": now.Add(-time.Minute).Unix()}), true},
		{"iat in the future", &pb.JwtPlugin{Secret: secret}, hs(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}), false},
		{"issuer", &pb.JwtPlugin{Secret: secret, Issuer: "idp"}, hs(jwt.MapClaims{"iss": "idp"}), true},
		{"wrong issuer", &pb.JwtPlugin{Secret: secret, Issuer: "idp"}, hs(jwt.MapClaims{"iss": "evil"}), false},
		{"missing issuer", &pb.JwtPlugin{Secret: secret, Issuer: "idp"}, hs(nil), false},
		{"audience in a list", &pb.JwtPlugin{Secret: secret, Audience: []string{"api", "web"}},
			hs(jwt.MapClaims{"aud": []string{"other", "web"}}), true},
		{"audience string", &pb.JwtPlugin{Secret: secret, Audience: []string{"api"}}, hs(jwt.MapClaims{"aud": "api"}), true},
		{"wrong audience", &pb.JwtPlugin{Secret: secret, Audience: []string{"api"}}, hs(jwt.MapClaims{"aud": []string{"web"}}), false},
		{"missing audience", &pb.JwtPlugin{Secret: secret, Audience: []string{"api"}}, hs(nil), false},
		{"no exp allowed", &pb.JwtPlugin{Secret: secret}, hs(jwt.MapClaims{"exp": nil}), true},
		{"no exp with require_exp", &pb.JwtPlugin{Secret: secret, RequireExp: true}, hs(jwt.MapClaims{"exp": nil}), false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec, fwd := run(t, testCtx(), tt.cfg, bearerReq("/", tt.token))
			if tt.ok {
				if rec.Code != 299 || fwd == nil {
					t.Fatalf("status %d, want the request forwarded", rec.Code)
				}
				return
			}
			wantRefused(t, rec, fwd, true)
		})
	}
}

// tamper changes the payload of a token and keeps its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	claims := claimsAt(jwt.MapClaims{"sub": "admin"})
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// An HS256 token whose HMAC key is the server's RSA public key PEM (which
// an attacker knows) must not pass a public_key RS256 config.
func TestAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	cfg := &pb.JwtPlugin{PublicKey: k.rsaPEM, Algorithm: "RS256"}
	forged := sign(t, "HS256", []byte(k.rsaPEM), claimsAt(nil), "")
	rec, fwd := run(t, testCtx(), cfg, bearerReq("/", forged))
	wantRefused(t, rec, fwd, true)
	// The same config takes a real RS256 token, so the refusal above is
	// the algorithm's.
	rec, _ = run(t, testCtx(), cfg, bearerReq("/", sign(t, "RS256", k.rsa, claimsAt(nil), "")))
	if rec.Code != 299 {
		t.Fatalf("RS256 token: status %d", rec.Code)
	}
	// An RS384 token with the right key is refused too: the algorithm is
	// the config's, not the token's.
	rec, fwd = run(t, testCtx(), cfg, bearerReq("/", sign(t, "RS384", k.rsa, claimsAt(nil), "")))
	wantRefused(t, rec, fwd, true)
}

func TestNoToken(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "Bearer", "Bearer   ", "bearer"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		rec, fwd := run(t, testCtx(), &pb.JwtPlugin{Secret: secret}, req)
		wantRefused(t, rec, fwd, false)
	}
	// A scheme other than Bearer is a (wrong) token.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("a", "b")
	rec, fwd := run(t, testCtx(), &pb.JwtPlugin{Secret: secret}, req)
	wantRefused(t, rec, fwd, true)
}

func TestDelay(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, Delay: durationpb.New(80 * time.Millisecond)}
	start := time.Now()
	rec, fwd := run(t, testCtx(), cfg, bearerReq("/", "bad"))
	wantRefused(t, rec, fwd, true)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("refused after %v, want the delay", d)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	for _, c := range []*pb.JwtPlugin{
		{},
		{Secret: secret, JwksUrl: "http://127.0.0.1:1/keys"},
		{Secret: secret, Algorithm: "RS256"},
		{Secret: secret, Algorithm: "none"},
		{PublicKey: k.rsaPEM},
		{PublicKey: k.rsaPEM, Algorithm: "ES256"},
		{PublicKey: k.rsaPEM, Algorithm: "HS256"},
		{PublicKey: "/nonexistent.pem", Algorithm: "RS256"},
		{JwksUrl: "ftp://idp/keys"},
		{JwksUrl: "http://127.0.0.1:1/keys", Algorithm: "HS256"},
		{Secret: secret, Header: "bad header"},
		{Secret: secret, ClaimsToHeaders: []string{"sub"}},
		{Secret: secret, AuthPath: "login"},
		{PublicKey: k.rsaPEM, Algorithm: "RS256", AuthPath: "/login"},
	} {
		_, err := New(testCtx(), "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: c}})
		if err == nil {
			t.Errorf("config %v built", c)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

func TestTokenSources(t *testing.T) {
	t.Parallel()
	tok := sign(t, "HS256", []byte(secret), claimsAt(nil), "")
	withCookie := func(r *http.Request, v string) *http.Request {
		r.Header.Add("Cookie", "theme=dark; jwt="+v+"; lang=en")
		return r
	}
	get := func(url string) *http.Request { return httptest.NewRequest(http.MethodGet, url, nil) }
	tests := []struct {
		desc string
		cfg  *pb.JwtPlugin
		req  *http.Request
		ok   bool
		// check looks at the forwarded request.
		check func(t *testing.T, r *http.Request)
	}{
		{desc: "Authorization Bearer", cfg: &pb.JwtPlugin{Secret: secret}, req: bearerReq("/", tok), ok: true,
			check: func(t *testing.T, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+tok {
					t.Error("token removed without hide_credentials")
				}
			}},
		{desc: "scheme in another case", cfg: &pb.JwtPlugin{Secret: secret},
			req: func() *http.Request { r := get("/"); r.Header.Set("Authorization", "BEARER "+tok); return r }(), ok: true},
		{desc: "no scheme", cfg: &pb.JwtPlugin{Secret: secret},
			req: func() *http.Request { r := get("/"); r.Header.Set("Authorization", tok); return r }(), ok: true},
		{desc: "custom header", cfg: &pb.JwtPlugin{Secret: secret, Header: "x-token"},
			req: func() *http.Request { r := get("/"); r.Header.Set("X-Token", tok); return r }(), ok: true},
		{desc: "Authorization not read with a cookie", cfg: &pb.JwtPlugin{Secret: secret, Cookie: "jwt"}, req: bearerReq("/", tok)},
		{desc: "cookie", cfg: &pb.JwtPlugin{Secret: secret, Cookie: "jwt"}, req: withCookie(get("/"), tok), ok: true},
		{desc: "query", cfg: &pb.JwtPlugin{Secret: secret, Query: "token"}, req: get("/x?a=1&token=" + tok), ok: true},
		{desc: "header first, then cookie", cfg: &pb.JwtPlugin{Secret: secret, Header: "Authorization", Cookie: "jwt"},
			req: withCookie(bearerReq("/", "bad"), tok)},
		{desc: "cookie when no header", cfg: &pb.JwtPlugin{Secret: secret, Header: "Authorization", Cookie: "jwt", Query: "t"},
			req: withCookie(get("/?t=bad"), tok), ok: true},
		{desc: "query when neither", cfg: &pb.JwtPlugin{Secret: secret, Header: "Authorization", Cookie: "jwt", Query: "t"},
			req: get("/?t=" + tok), ok: true},
		{desc: "hide header", cfg: &pb.JwtPlugin{Secret: secret, HideCredentials: true}, req: bearerReq("/", tok), ok: true,
			check: func(t *testing.T, r *http.Request) {
				if _, ok := r.Header["Authorization"]; ok {
					t.Errorf("Authorization forwarded: %v", r.Header)
				}
			}},
		{desc: "hide cookie", cfg: &pb.JwtPlugin{Secret: secret, Cookie: "jwt", HideCredentials: true},
			req: withCookie(get("/"), tok), ok: true,
			check: func(t *testing.T, r *http.Request) {
				if got := r.Header.Get("Cookie"); got != "theme=dark; lang=en" {
					t.Errorf("Cookie forwarded as %q, want the others only", got)
				}
			}},
		{desc: "hide the only cookie", cfg: &pb.JwtPlugin{Secret: secret, Cookie: "jwt", HideCredentials: true},
			req: func() *http.Request { r := get("/"); r.AddCookie(&http.Cookie{Name: "jwt", Value: tok}); return r }(), ok: true,
			check: func(t *testing.T, r *http.Request) {
				if _, ok := r.Header["Cookie"]; ok {
					t.Errorf("Cookie forwarded: %v", r.Header)
				}
			}},
		{desc: "hide query", cfg: &pb.JwtPlugin{Secret: secret, Query: "token", HideCredentials: true},
			req: get("/x?b=%2F&token=" + tok + "&a=1"), ok: true,
			check: func(t *testing.T, r *http.Request) {
				if r.URL.RawQuery != "b=%2F&a=1" {
					t.Errorf("query forwarded as %q, want the others only, as sent", r.URL.RawQuery)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec, fwd := run(t, testCtx(), tt.cfg, tt.req)
			if !tt.ok {
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", rec.Code)
				}
				return
			}
			if rec.Code != 299 || fwd == nil {
				t.Fatalf("status %d, want the request forwarded", rec.Code)
			}
			if tt.check != nil {
				tt.check(t, fwd)
			}
		})
	}
}

func TestClaimsToHeaders(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, ClaimsToHeaders: []string{
		"sub:X-User", "admin:X-Admin", "n:X-N", "big:X-Big", "ratio:X-Ratio", "roles:X-Roles",
		"org:X-Org", "https://example.com/tenant:X-Tenant", "missing:X-Missing", "nl:X-Nl",
	}}
	tok := sign(t, "HS256", []byte(secret), claimsAt(jwt.MapClaims{
		"admin": true, "n": 1700000000, "big": json.Number("12345678901234567890"), "ratio": 0.25,
		"roles": []string{"a", "<b>"}, "org": map[string]any{"id": 7}, "https://example.com/tenant": "t1",
		"nl": "a\nb",
	}), "")
	req := bearerReq("/", tok)
	req.Header.Set("X-User", "forged")
	req.Header.Add("X-User", "forged again")
	req.Header.Set("X-Missing", "forged")
	req.Header.Set("x-nl", "forged")
	rec, fwd := run(t, testCtx(), cfg, req)
	if rec.Code != 299 {
		t.Fatalf("status %d", rec.Code)
	}
	want := map[string]string{
		"X-User": "alice", "X-Admin": "true", "X-N": "1700000000", "X-Big": "12345678901234567890",
		"X-Ratio": "0.25", "X-Roles": `["a","<b>"]`, "X-Org": `{"id":7}`, "X-Tenant": "t1",
	}
	for h, v := range want {
		if got := fwd.Header.Values(h); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	for _, h := range []string{"X-Missing", "X-Nl"} {
		if got := fwd.Header.Values(h); len(got) != 0 {
			t.Errorf("%s = %q, want none (the client's copy removed, nothing valid to set)", h, got)
		}
	}
}

// A forged claim header goes even on a request the plugin does not verify
// (auth_path), and a refused request is never forwarded with it.
func TestForgedClaimHeaderAtAuthPath(t *testing.T) {
	t.Parallel()
	cfg := &pb.JwtPlugin{Secret: secret, AuthPath: "/login", ClaimsToHeaders: []string{"sub:X-User"}}
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.Header.Set("X-User", "admin")
	_, fwd := run(t, testCtx(), cfg, req)
	if fwd == nil {
		t.Fatal("auth_path request not forwarded")
	}
	if got := fwd.Header.Values("X-User"); len(got) != 0 {
		t.Fatalf("auth_path request forwarded with X-User %q", got)
	}
}

// Refusals and issued tokens are counted as plugin events.
func TestEventCounters(t *testing.T) {
	t.Parallel()
	counts := map[string]int{}
	ctx := testCtx()
	ctx.Counter = func(event string) func() { return func() { counts[event]++ } }
	mw, err := New(ctx, "jwt", &pb.Plugin{Category: Category, Config: &pb.Plugin_Jwt{Jwt: &pb.JwtPlugin{Secret: secret, AuthPath: "/login"}}})
	if err != nil {
		t.Fatal(err)
	}
	serve(mw, bearerReq("/", "bad"))
	serve(mw, httptest.NewRequest(http.MethodGet, "/", nil))
	serve(mw, bearerReq("/", sign(t, "HS256", []byte(secret), claimsAt(nil), "")))
	rec := httptest.NewRecorder()
	mw(loginUpstream(http.StatusOK, "application/json", `{"sub":"a"}`)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
	if counts["refused"] != 2 || counts["issued"] != 1 {
		t.Fatalf("counted %v, want 2 refused and 1 issued", counts)
	}
}
