package e2e

// End-to-end cases of the combined_auth plugin. TestPluginsEndToEnd runs
// them.

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// combinedAuthPluginCases cover a signed request (credentials hidden from
// the backend, or kept), a bad digest, a stale ts and an address not on the
// app's ip_list. The proxy runs on the real clock.
func combinedAuthPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	return []pluginCase{
		{
			name: "combined-auth", category: "combined_auth", plugins: []string{"combined-auth-hidden"},
			toml: `[plugins.combined-auth-hidden]
category = "combined_auth"
hide_credentials = true

[[plugins.combined-auth-hidden.authorizations]]
app_id = "pingap"
secret = "e2e-secret-1"
deviation = 60

[[plugins.combined-auth-hidden.authorizations]]
app_id = "office"
secret = "e2e-secret-2"
deviation = 60
ip_list = ["127.0.0.1", "127.0.0.2/32"]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				now := time.Now().Unix()
				res := mustSend(t, c, req{url: base + "/list?z=9&" + signedQuery("pingap", "e2e-secret-1", now) + "&a=x%20y"})
				if res.Code != http.StatusOK {
					t.Fatalf("signed request: %d %q", res.Code, res.Body)
				}
				if e := res.echo(t); e.Path != "/combined-auth/list" || e.RawQuery != "z=9&a=x%20y" {
					t.Errorf("backend saw %s?%s, want the query without credentials", e.Path, e.RawQuery)
				}
				ts := strconv.FormatInt(now, 10)
				res = mustSend(t, c, req{url: base + "/?app_id=office&ts=" + ts + "&digest=" +
					strings.ToUpper(combinedDigest("e2e-secret-2", ts))})
				if res.Code != http.StatusOK {
					t.Errorf("upper-case digest from a listed address: %d %q", res.Code, res.Body)
				}
				combinedAuthRefused(t, c, map[string]string{
					"no credentials":     base + "/",
					"bad digest":         base + "/?" + signedQuery("pingap", "e2e-secret-2", now),
					"unknown app":        base + "/?" + signedQuery("nobody", "e2e-secret-1", now),
					"stale ts":           base + "/?" + signedQuery("pingap", "e2e-secret-1", now-120),
					"ts in the future":   base + "/?" + signedQuery("pingap", "e2e-secret-1", now+120),
					"non-numeric ts":     base + "/?app_id=pingap&ts=now&digest=" + combinedDigest("e2e-secret-1", "now"),
					"digest of other ts": base + "/?app_id=pingap&ts=" + ts + "&digest=" + combinedDigest("e2e-secret-1", strconv.FormatInt(now-1, 10)),
				})
				// The office app may only call from 127.0.0.1 and 127.0.0.2.
				other := clientFrom("127.0.0.3")
				defer other.CloseIdleConnections()
				combinedAuthRefused(t, other, map[string]string{
					"address not on the app's list": base + "/?" + signedQuery("office", "e2e-secret-2", time.Now().Unix()),
				})
				if res := mustSend(t, other, req{url: base + "/?" + signedQuery("pingap", "e2e-secret-1", time.Now().Unix())}); res.Code != http.StatusOK {
					t.Errorf("app without ip_list from 127.0.0.3: %d", res.Code)
				}
			},
		},
		{
			name: "combined-auth-kept", category: "combined_auth", plugins: []string{"combined-auth-kept"},
			toml: `[plugins.combined-auth-kept]
category = "combined_auth"
authorizations = [{ app_id = "kept", secret = "e2e-secret-3", deviation = 30 }]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				q := signedQuery("kept", "e2e-secret-3", time.Now().Unix()) + "&x=1"
				res := mustSend(t, c, req{url: base + "/?" + q})
				if res.Code != http.StatusOK {
					t.Fatalf("signed request: %d %q", res.Code, res.Body)
				}
				if e := res.echo(t); e.RawQuery != q {
					t.Errorf("backend saw the query %q, want it unchanged %q", e.RawQuery, q)
				}
			},
		},
	}
}

// combinedDigest is hex(sha256("<secret>:<ts>")).
func combinedDigest(secret, ts string) string {
	d := sha256.Sum256([]byte(secret + ":" + ts))
	return hex.EncodeToString(d[:])
}

// signedQuery is the query of app signed with secret at ts.
func signedQuery(app, secret string, ts int64) string {
	s := strconv.FormatInt(ts, 10)
	return "app_id=" + app + "&ts=" + s + "&digest=" + combinedDigest(secret, s)
}

// combinedAuthRefused checks that every URL gets the same 401 from the
// proxy, without reaching the backend.
func combinedAuthRefused(t *testing.T, c *http.Client, urls map[string]string) {
	t.Helper()
	for desc, u := range urls {
		res := mustSend(t, c, req{url: u})
		if res.Code != http.StatusUnauthorized || string(res.Body) != "unauthorized" || res.backend() != "" {
			t.Errorf("%s: %d %q (backend %q), want 401 unauthorized from the proxy", desc, res.Code, res.Body, res.backend())
		}
	}
}
