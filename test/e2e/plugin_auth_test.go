package e2e

// End-to-end cases of the credential plugins: key_auth, basic_auth and
// forward_auth. TestPluginsEndToEnd runs them.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// authPluginCases are the cases of key_auth, basic_auth and forward_auth.
func authPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	cases := keyAuthCases()
	cases = append(cases, basicAuthCases(t)...)
	return append(cases, forwardAuthCases(t)...)
}

// keyAuthCases cover a key in a header (hidden or kept) and in the query.
func keyAuthCases() []pluginCase {
	return []pluginCase{
		{
			name: "key-auth", category: "key_auth", plugins: []string{"key-auth-header"},
			toml: `[plugins.key-auth-header]
category = "key_auth"
keys = ["k-one", "k-two"]
hide_credential = true
`,
			check: func(t *testing.T, c *http.Client, base string) {
				for _, key := range []string{"k-one", "k-two"} {
					e := wantPluginPassed(t, "key "+key, mustSend(t, c, req{url: base + "/", header: reqHeader("x-api-key", key, "X-Other", "kept")}))
					wantUpstreamHeader(t, "key "+key, e, "X-Api-Key", "")
					wantUpstreamHeader(t, "key "+key, e, "X-Other", "kept")
				}
				checkKeyRefused(t, c, base, map[string]req{
					"no key":         {url: base + "/"},
					"wrong key":      {url: base + "/", header: reqHeader("X-Api-Key", "k-three")},
					"key prefix":     {url: base + "/", header: reqHeader("X-Api-Key", "k-on")},
					"empty key":      {url: base + "/", header: reqHeader("X-Api-Key", "")},
					"other header":   {url: base + "/", header: reqHeader("Authorization", "k-one")},
					"key in query":   {url: base + "/?X-Api-Key=k-one"},
					"key, wrong one": {url: base + "/", header: reqHeader("X-Api-Key", "k-three", "X-Api-Key", "k-one")},
				})
			},
		},
		{
			name: "key-auth-kept", category: "key_auth", plugins: []string{"key-auth-kept-header"},
			toml: `[plugins.key-auth-kept-header]
category = "key_auth"
name = "X-Partner-Key"
keys = ["partner-secret"]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				e := wantPluginPassed(t, "valid key", mustSend(t, c, req{url: base + "/", header: reqHeader("X-Partner-Key", "partner-secret")}))
				wantUpstreamHeader(t, "valid key", e, "X-Partner-Key", "partner-secret")
				checkKeyRefused(t, c, base, map[string]req{
					"default header": {url: base + "/", header: reqHeader("X-Api-Key", "partner-secret")},
				})
			},
		},
		{
			name: "key-auth-query", category: "key_auth", plugins: []string{"key-auth-query-param"},
			toml: `[plugins.key-auth-query-param]
category = "key_auth"
lookup = "query"
name = "api_key"
keys = ["q-secret"]
hide_credential = true
`,
			check: func(t *testing.T, c *http.Client, base string) {
				// Only the key is removed: the other parameters reach the
				// backend as sent, in order and encoding (as in Pingap).
				for query, want := range map[string]string{
					"api_key=q-secret":                     "",
					"z=9&api_key=q-secret&a=x%20y&flag":    "z=9&a=x%20y&flag",
					"api_key=q-secret&api_key=second-copy": "",
					"v=1;2&api_key=q-secret":               "v=1;2",
				} {
					e := wantPluginPassed(t, "query "+query, mustSend(t, c, req{url: base + "/list?" + query}))
					if e.Path != "/key-auth-query/list" || e.RawQuery != want {
						t.Errorf("query %q: backend saw %s?%s, want the query %q", query, e.Path, e.RawQuery, want)
					}
				}
				checkKeyRefused(t, c, base, map[string]req{
					"no key":        {url: base + "/list"},
					"wrong key":     {url: base + "/list?api_key=nope"},
					"other name":    {url: base + "/list?key=q-secret"},
					"key in header": {url: base + "/list", header: reqHeader("Api-Key", "q-secret", "X-Api-Key", "q-secret")},
				})
			},
		},
	}
}

// checkKeyRefused asserts that each request gets the plain 401 of key_auth
// without reaching the backend.
func checkKeyRefused(t *testing.T, c *http.Client, base string, reqs map[string]req) {
	t.Helper()
	for what, r := range reqs {
		res := mustSend(t, c, r)
		wantPluginAnswer(t, what, res, http.StatusUnauthorized, "unauthorized")
		wantRespHeader(t, what, res, "WWW-Authenticate")
	}
}

// basicCredential is the Authorization value of HTTP Basic credentials.
func basicCredential(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// basicAuthCases cover bcrypt and SHA-256 credentials with the
// Authorization header hidden, and Pingap's base64 form with it kept.
func basicAuthCases(t *testing.T) []pluginCase {
	hash, err := bcrypt.GenerateFromPassword([]byte("wonderland"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("can we fix it"))
	return []pluginCase{
		{
			name: "basic-auth", category: "basic_auth", plugins: []string{"basic-auth-hidden"},
			toml: fmt.Sprintf(`[plugins.basic-auth-hidden]
category = "basic_auth"
authorizations = [%q, %q]
realm = "e2e"
hide_credentials = true
`, "alice:"+string(hash), "bob:sha256:"+hex.EncodeToString(sum[:])),
			check: checkBasicAuth,
		},
		{
			name: "basic-auth-kept", category: "basic_auth", plugins: []string{"basic-auth-kept-plain"},
			toml: fmt.Sprintf(`[plugins.basic-auth-kept-plain]
category = "basic_auth"
authorizations = [%q]
`, base64.StdEncoding.EncodeToString([]byte("carol:s3cret:with:colons"))),
			check: func(t *testing.T, c *http.Client, base string) {
				cred := basicCredential("carol", "s3cret:with:colons")
				e := wantPluginPassed(t, "carol", mustSend(t, c, req{url: base + "/", header: reqHeader("Authorization", cred)}))
				wantUpstreamHeader(t, "carol", e, "Authorization", cred)
				res := mustSend(t, c, req{url: base + "/", header: reqHeader("Authorization", basicCredential("carol", "s3cret"))})
				wantPluginAnswer(t, "carol, wrong password", res, http.StatusUnauthorized, "unauthorized")
				wantRespHeader(t, "carol, wrong password", res, "WWW-Authenticate", `Basic realm="pingap", charset="UTF-8"`)
			},
		},
	}
}

func checkBasicAuth(t *testing.T, c *http.Client, base string) {
	for user, pass := range map[string]string{"alice": "wonderland", "bob": "can we fix it"} {
		e := wantPluginPassed(t, user, mustSend(t, c, req{url: base + "/", header: reqHeader("Authorization", basicCredential(user, pass))}))
		wantUpstreamHeader(t, user, e, "Authorization", "")
	}
	for what, auth := range map[string]string{
		"no credentials":     "",
		"wrong password":     basicCredential("alice", "wonderlan"),
		"other's password":   basicCredential("alice", "can we fix it"),
		"unknown user":       basicCredential("mallory", "wonderland"),
		"the hash as secret": basicCredential("bob", "sha256:"),
		"bearer scheme":      "Bearer " + base64.StdEncoding.EncodeToString([]byte("alice:wonderland")),
		"not base64":         "Basic alice:wonderland",
	} {
		r := req{url: base + "/"}
		if auth != "" {
			r.header = reqHeader("Authorization", auth)
		}
		res := mustSend(t, c, r)
		wantPluginAnswer(t, what, res, http.StatusUnauthorized, "unauthorized")
		wantRespHeader(t, what, res, "WWW-Authenticate", `Basic realm="e2e", charset="UTF-8"`)
	}
}

// forwardAuthService is a forward_auth service. /verify allows "X-Token: good"
// (200 with X-User: alice) and "X-Token: anon" (204 without X-User), sends
// "X-Token: login" to a login page and refuses everything else with 401 and
// a body naming the request it was asked about. /strict is /verify but
// refuses with 400 a request that carries a Cookie. /slow never answers.
func forwardAuthService() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Token") {
		case "good":
			w.Header().Set("X-User", "alice")
			w.Header().Set("X-Extra", "not copied")
			_, _ = fmt.Fprint(w, "ok")
		case "anon":
			w.WriteHeader(http.StatusNoContent)
		case "login":
			http.Redirect(w, r, "https://login.example.test/?rd="+url.QueryEscape(r.Header.Get("X-Forwarded-Uri")), http.StatusFound)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="e2e-auth"`)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintf(w, "denied %s %s %s %s", r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Forwarded-Proto"),
				r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Uri"))
		}
	})
	mux.HandleFunc("GET /strict", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Cookie") != "":
			http.Error(w, "cookie leaked", http.StatusBadRequest)
		case r.Header.Get("X-Token") == "good":
			w.Header().Set("X-User", "alice")
		default:
			http.Error(w, "denied", http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	return mux
}

// forwardAuthCases cover an auth service that allows, refuses and
// redirects, one that gets only some headers, one that is down and one
// that does not answer in time.
func forwardAuthCases(t *testing.T) []pluginCase {
	auth := startLocal(t, forwardAuthService(), localOpts{})
	plugin := func(name, path, extra string) string {
		return fmt.Sprintf("[plugins.%s]\ncategory = \"forward_auth\"\naddress = \"http://%s%s\"\n%s\n", name, auth.addr, path, extra)
	}
	return []pluginCase{
		{
			name: "forward-auth", category: "forward_auth", plugins: []string{"forward-auth-verify"},
			toml:  plugin("forward-auth-verify", "/verify", `auth_response_headers = ["X-User", "X-Groups"]`),
			check: checkForwardAuth,
		},
		{
			name: "forward-auth-headers", category: "forward_auth", plugins: []string{"forward-auth-strict"},
			toml:  plugin("forward-auth-strict", "/strict", `auth_request_headers = ["X-Token"]`+"\n"+`auth_response_headers = ["X-User"]`),
			check: checkForwardAuthHeaders,
		},
		{
			name: "forward-auth-down", category: "forward_auth", plugins: []string{"forward-auth-down-service"},
			toml: fmt.Sprintf("[plugins.forward-auth-down-service]\ncategory = \"forward_auth\"\naddress = \"http://%s/verify\"\n", freeAddr(t)),
			check: func(t *testing.T, c *http.Client, base string) {
				res := mustSend(t, c, req{url: base + "/", header: reqHeader("X-Token", "good")})
				wantPluginAnswer(t, "service down", res, http.StatusServiceUnavailable, "service unavailable")
			},
		},
		{
			name: "forward-auth-timeout", category: "forward_auth", plugins: []string{"forward-auth-slow"},
			toml: plugin("forward-auth-slow", "/slow", `timeout = "100ms"`),
			check: func(t *testing.T, c *http.Client, base string) {
				start := time.Now()
				res := mustSend(t, c, req{url: base + "/", header: reqHeader("X-Token", "good")})
				wantPluginAnswer(t, "service too slow", res, http.StatusServiceUnavailable, "service unavailable")
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("service too slow: answered after %s, want about the 100ms timeout", d)
				}
			},
		},
	}
}

func checkForwardAuth(t *testing.T, c *http.Client, base string) {
	// Allowed: the service's X-User replaces the client's, X-Groups that
	// the service did not send is removed, X-Extra is not copied.
	forged := reqHeader("X-Token", "good", "X-User", "mallory", "X-Groups", "admin")
	e := wantPluginPassed(t, "good token", mustSend(t, c, req{method: http.MethodPost, url: base + "/orders?id=1", header: forged}))
	wantUpstreamHeader(t, "good token", e, "X-User", "alice")
	wantUpstreamHeader(t, "good token", e, "X-Groups", "")
	wantUpstreamHeader(t, "good token", e, "X-Extra", "")
	wantUpstreamHeader(t, "good token", e, "X-Token", "good")
	if e.Method != http.MethodPost || e.Path != "/forward-auth/orders" || e.RawQuery != "id=1" {
		t.Errorf("good token: backend saw %s %s?%s", e.Method, e.Path, e.RawQuery)
	}
	// Allowed without a user: a forged X-User does not pass.
	e = wantPluginPassed(t, "anonymous", mustSend(t, c, req{url: base + "/", header: reqHeader("X-Token", "anon", "X-User", "root")}))
	wantUpstreamHeader(t, "anonymous", e, "X-User", "")

	// Refused: the client gets the service's answer, not the backend's.
	res := mustSend(t, c, req{method: http.MethodDelete, url: base + "/orders?id=1", header: reqHeader("X-Token", "bad", "X-User", "alice")})
	wantPluginAnswer(t, "bad token", res, http.StatusUnauthorized, "denied DELETE http "+caseHost(base)+" /forward-auth/orders?id=1")
	wantRespHeader(t, "bad token", res, "WWW-Authenticate", `Bearer realm="e2e-auth"`)
	wantRespHeader(t, "bad token", res, "Content-Type", "text/plain")
	res = mustSend(t, c, req{url: base + "/"})
	wantPluginAnswer(t, "no token", res, http.StatusUnauthorized, "denied GET http "+caseHost(base)+" /forward-auth/")

	// A redirect to a login page reaches the client as is.
	res = mustSend(t, c, req{url: base + "/account", header: reqHeader("X-Token", "login")})
	if res.Code != http.StatusFound || res.backend() != "" {
		t.Errorf("login: want the service's 302, got %d %q (X-Backend %q)", res.Code, res.Body, res.backend())
	}
	wantRespHeader(t, "login", res, "Location", "https://login.example.test/?rd=%2Fforward-auth%2Faccount")
}

func checkForwardAuthHeaders(t *testing.T, c *http.Client, base string) {
	e := wantPluginPassed(t, "good token with cookie", mustSend(t, c, req{url: base + "/", header: reqHeader("X-Token", "good", "Cookie", "session=1")}))
	wantUpstreamHeader(t, "good token with cookie", e, "X-User", "alice")
	wantUpstreamHeader(t, "good token with cookie", e, "Cookie", "session=1")
	res := mustSend(t, c, req{url: base + "/", header: reqHeader("Cookie", "session=1")})
	wantPluginAnswer(t, "no token", res, http.StatusUnauthorized, "denied\n")
}
