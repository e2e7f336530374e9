package e2e

// End-to-end case of the csrf plugin. TestPluginsEndToEnd runs it.

import (
	"net/http"
	"strings"
	"testing"
)

// csrfPluginCases cover fetching a token, a POST that sends it back twice,
// and POSTs that lack or alter it.
func csrfPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	return []pluginCase{{
		name: "csrf", category: "csrf", plugins: []string{"csrf-double-submit"},
		toml: `[plugins.csrf-double-submit]
category = "csrf"
token_path = "/csrf/token"
key = "e2e-csrf-key-0123456789"
name = "X-XSRF-Token"
ttl = "10m"
`,
		check: func(t *testing.T, c *http.Client, base string) {
			res := mustSend(t, c, req{url: base + "/token"})
			if res.Code != http.StatusNoContent || res.backend() != "" {
				t.Fatalf("token request: %d (backend %q), want 204 from the proxy", res.Code, res.backend())
			}
			token := res.Header.Get("X-Xsrf-Token")
			var cookie *http.Cookie
			for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
				if ck.Name == "X-XSRF-Token" {
					cookie = ck
				}
			}
			if token == "" || cookie == nil || cookie.Value != token || cookie.MaxAge != 600 || cookie.HttpOnly ||
				cookie.Path != "/" || cookie.SameSite != http.SameSiteLaxMode || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("token %q, cookie %+v, Cache-Control %q", token, cookie, res.Header.Get("Cache-Control"))
			}
			// Safe methods pass without a token.
			if res := mustSend(t, c, req{url: base + "/page"}); res.Code != http.StatusOK || res.echo(t).Method != "GET" {
				t.Errorf("GET without a token: %d", res.Code)
			}
			both := func(cookieValue, headerValue string) http.Header {
				h := http.Header{}
				if cookieValue != "" {
					h.Set("Cookie", "X-XSRF-Token="+cookieValue)
				}
				if headerValue != "" {
					h.Set("X-XSRF-Token", headerValue)
				}
				return h
			}
			for _, method := range []string{"POST", "DELETE"} {
				res := mustSend(t, c, req{method: method, url: base + "/form", header: both(token, token),
					body: strings.NewReader("a=1"), contentLength: 3})
				if res.Code != http.StatusOK {
					t.Fatalf("%s with cookie and header: %d %q", method, res.Code, res.Body)
				}
				if e := res.echo(t); e.Method != method || e.Path != "/csrf/form" || e.BodyBytes != 3 {
					t.Errorf("backend saw %s %s with %d bytes", e.Method, e.Path, e.BodyBytes)
				}
			}
			parts := strings.Split(token, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q is not id.expiry.signature", token)
			}
			sig := []byte(parts[2])
			if sig[0] == 'A' {
				sig[0] = 'B'
			} else {
				sig[0] = 'A'
			}
			tampered := parts[0] + "." + parts[1] + "." + string(sig)
			later := parts[0] + ".9999999999." + parts[2]
			other := mustSend(t, c, req{url: base + "/token"}).Header.Get("X-Xsrf-Token")
			for desc, h := range map[string]http.Header{
				"nothing":            both("", ""),
				"no header":          both(token, ""),
				"no cookie":          both("", token),
				"mismatched":         both(token, other),
				"tampered signature": both(tampered, tampered),
				"tampered expiry":    both(later, later),
				"not a token":        both("x", "x"),
			} {
				res := mustSend(t, c, req{method: "POST", url: base + "/form", header: h})
				if res.Code != http.StatusForbidden || string(res.Body) != "forbidden" || res.backend() != "" {
					t.Errorf("POST, %s: %d %q (backend %q), want 403 forbidden from the proxy", desc, res.Code, res.Body, res.backend())
				}
			}
		},
	}}
}
