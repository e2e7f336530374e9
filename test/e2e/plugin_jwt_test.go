package e2e

// End-to-end cases of the jwt plugin. TestPluginsEndToEnd runs them.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const jwtE2ESecret = "e2e-jwt-secret-0123456789abcdef!"

// jwtPluginCases cover an HS256 secret (claims forwarded and unforgeable,
// token minting at auth_path) and a JWKS served by a local server (keys by
// kid, rotation, cookie and query sources). The proxy runs on the real
// clock.
func jwtPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	return []pluginCase{jwtSecretCase(), jwtJWKSCase(t)}
}

// jwtSign signs claims (exp one hour ahead unless given, none if nil) with
// alg and key.
func jwtSign(t *testing.T, alg string, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwtRefused checks the proxy's own 401 and its challenge.
func jwtRefused(t *testing.T, what string, res result, tokenSent bool) {
	t.Helper()
	wantPluginAnswer(t, what, res, http.StatusUnauthorized, "unauthorized")
	want := `Bearer realm="pingap"`
	if tokenSent {
		want += `, error="invalid_token"`
	}
	if got := res.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("%s: WWW-Authenticate %q, want %q", what, got, want)
	}
}

func jwtSecretCase() pluginCase {
	return pluginCase{
		name: "jwt-hs", category: "jwt", plugins: []string{"jwt-hs"},
		toml: `[plugins.jwt-hs]
category = "jwt"
secret = "` + jwtE2ESecret + `"
require_exp = true
claims_to_headers = ["sub:X-User", "roles:X-Roles", "path:X-Login-Path"]
hide_credentials = true
auth_path = "/jwt-hs/login"
token_ttl = "1h"
`,
		check: func(t *testing.T, c *http.Client, base string) {
			key := []byte(jwtE2ESecret)
			tok := jwtSign(t, "HS256", key, "", jwt.MapClaims{"sub": "alice", "roles": []string{"a", "b"}})
			res := mustSend(t, c, req{url: base + "/x", header: reqHeader("Authorization", "Bearer "+tok,
				"X-User", "forged", "X-Login-Path", "forged")})
			e := wantPluginPassed(t, "valid token", res)
			if e.Headers["X-User"] != "alice" || e.Headers["X-Roles"] != `["a","b"]` {
				t.Errorf("claim headers at the backend: X-User %q, X-Roles %q", e.Headers["X-User"], e.Headers["X-Roles"])
			}
			if v, ok := e.Headers["X-Login-Path"]; ok {
				t.Errorf("forged X-Login-Path reached the backend (%q) though the token has no such claim", v)
			}
			if v, ok := e.Headers["Authorization"]; ok {
				t.Errorf("token reached the backend despite hide_credentials: %q", v)
			}

			none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "admin", "exp": time.Now().Add(time.Hour).Unix()}).
				SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			for what, tok := range map[string]string{
				"wrong secret": jwtSign(t, "HS256", []byte("not-the-secret"), "", jwt.MapClaims{"sub": "alice"}),
				"alg none":     none,
				"HS512":        jwtSign(t, "HS512", key, "", jwt.MapClaims{"sub": "alice"}),
				"expired":      jwtSign(t, "HS256", key, "", jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()}),
				"no exp":       jwtSign(t, "HS256", key, "", jwt.MapClaims{"exp": nil}),
				"garbage":      "a.b.c",
			} {
				jwtRefused(t, what, mustSend(t, c, req{url: base + "/x", header: reqHeader("Authorization", "Bearer "+tok)}), true)
			}
			jwtRefused(t, "no token", mustSend(t, c, req{url: base + "/x", header: reqHeader("X-User", "alice")}), false)

			// auth_path: the backend's JSON echo comes back signed.
			res = mustSend(t, c, req{method: http.MethodPost, url: base + "/login", header: reqHeader("X-User", "forged")})
			var minted struct{ Token string }
			if res.Code != http.StatusOK || json.Unmarshal(res.Body, &minted) != nil || minted.Token == "" {
				t.Fatalf("login: %d %q, want {\"token\": ...}", res.Code, res.Body)
			}
			e = wantPluginPassed(t, "minted token", mustSend(t, c, req{url: base + "/y", header: reqHeader("Authorization", "bearer "+minted.Token)}))
			if e.Headers["X-Login-Path"] != "/jwt-hs/login" {
				t.Errorf("minted token's path claim forwarded as %q, want the login echo's", e.Headers["X-Login-Path"])
			}
		},
	}
}

// jwksKeys is the key set a local JWKS server serves; the test changes it.
type jwksKeys struct {
	mu   sync.Mutex
	keys []jwkset.JWK
}

func (k *jwksKeys) add(t *testing.T, pub any, kid string) {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	k.keys = append(k.keys, j)
	k.mu.Unlock()
}

func (k *jwksKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	store := jwkset.NewMemoryStorage()
	k.mu.Lock()
	for _, j := range k.keys {
		_ = store.KeyWrite(r.Context(), j)
	}
	k.mu.Unlock()
	raw, err := store.JSONPublic(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(raw)
}

func jwtJWKSCase(t *testing.T) pluginCase {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := &jwksKeys{}
	set.add(t, &rsaKey.PublicKey, "e2e-1")
	idp := startLocal(t, set, localOpts{})
	return pluginCase{
		name: "jwt-jwks", category: "jwt", plugins: []string{"jwt-jwks"},
		toml: `[plugins.jwt-jwks]
category = "jwt"
jwks_url = "http://` + idp.addr + `/keys"
cookie = "jwt"
query = "jwt"
audience = ["e2e", "other"]
claims_to_headers = ["sub:X-User"]
hide_credentials = true
`,
		check: func(t *testing.T, c *http.Client, base string) {
			aud := jwt.MapClaims{"sub": "bob", "aud": "e2e"}
			tok := jwtSign(t, "RS256", rsaKey, "e2e-1", aud)
			res := mustSend(t, c, req{url: base + "/x", header: reqHeader("Cookie", "theme=dark; jwt="+tok+"; lang=en")})
			e := wantPluginPassed(t, "token in a cookie", res)
			if e.Headers["Cookie"] != "theme=dark; lang=en" || e.Headers["X-User"] != "bob" {
				t.Errorf("backend saw Cookie %q, X-User %q; want the other cookies only, and bob", e.Headers["Cookie"], e.Headers["X-User"])
			}
			e = wantPluginPassed(t, "token in the query", mustSend(t, c, req{url: base + "/x?a=1&jwt=" + tok + "&b=%20"}))
			if e.RawQuery != "a=1&b=%20" {
				t.Errorf("backend saw the query %q, want the other parameters as sent", e.RawQuery)
			}

			// Rotation: a token of a key the set did not serve when it was
			// fetched makes it be fetched again.
			set.add(t, &ecKey.PublicKey, "e2e-2")
			e = wantPluginPassed(t, "token of the rotated-in key",
				mustSend(t, c, req{url: base + "/x?jwt=" + jwtSign(t, "ES256", ecKey, "e2e-2", aud)}))
			if e.Headers["X-User"] != "bob" {
				t.Errorf("X-User %q, want bob", e.Headers["X-User"])
			}

			jwtRefused(t, "Authorization is not a configured source",
				mustSend(t, c, req{url: base + "/x", header: reqHeader("Authorization", "Bearer "+tok)}), false)
			for what, bad := range map[string]string{
				"wrong audience": jwtSign(t, "RS256", rsaKey, "e2e-1", jwt.MapClaims{"aud": "elsewhere"}),
				"no audience":    jwtSign(t, "RS256", rsaKey, "e2e-1", nil),
				"HMAC token":     jwtSign(t, "HS256", []byte("secret"), "e2e-1", aud),
				"unknown kid":    jwtSign(t, "ES256", ecKey, "e2e-3", aud),
				"wrong key":      jwtSign(t, "ES256", ecKey, "e2e-1", aud),
			} {
				jwtRefused(t, what, mustSend(t, c, req{url: base + "/x?jwt=" + bad}), true)
			}
		},
	}
}
