package e2e

// End-to-end cases of the plugins that answer, redirect, filter or edit
// requests without credentials: ping, mock, redirect, ip_restriction,
// ua_restriction, referer_restriction, response_headers, cors and
// request_id. TestPluginsEndToEnd runs them.

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/internal/testbackend"
)

// basicPluginCases are the cases of the plugins without credentials.
func basicPluginCases(t *testing.T) []pluginCase {
	t.Helper()
	return slices.Concat(answerPluginCases(), restrictionPluginCases(), headerPluginCases())
}

// reqHeader builds a header from name, value pairs.
func reqHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// caseHost is the host:port of a case's base URL.
func caseHost(base string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(base, "http://"), "/")
	return host
}

// wantPluginPassed asserts that res is the backend's 200 echo (the plugins
// let the request through) and returns what the backend received.
func wantPluginPassed(t testing.TB, what string, res result) testbackend.Echo {
	t.Helper()
	if res.Code != http.StatusOK || res.backend() == "" {
		t.Fatalf("%s: want the backend's 200 answer, got %d %q (X-Backend %q)", what, res.Code, res.Body, res.backend())
	}
	return res.echo(t)
}

// wantPluginAnswer asserts that the proxy answered code with body itself,
// without reaching the backend (whose answers carry X-Backend).
func wantPluginAnswer(t testing.TB, what string, res result, code int, body string) {
	t.Helper()
	if res.Code != code || string(res.Body) != body || res.backend() != "" {
		t.Errorf("%s: want the proxy's own %d %q, got %d %q (X-Backend %q)", what, code, body, res.Code, res.Body, res.backend())
	}
}

// wantRespHeader asserts the values of one response header.
func wantRespHeader(t testing.TB, what string, res result, name string, want ...string) {
	t.Helper()
	if got := res.Header.Values(name); !slices.Equal(got, want) {
		t.Errorf("%s: response header %s = %q, want %q", what, name, got, want)
	}
}

// wantUpstreamHeader asserts the value of a request header as the backend
// received it ("" for absent).
func wantUpstreamHeader(t testing.TB, what string, e testbackend.Echo, name, want string) {
	t.Helper()
	got, ok := e.Headers[http.CanonicalHeaderKey(name)]
	if got != want || (want == "") == ok {
		t.Errorf("%s: backend saw %s = %q (present %v), want %q", what, name, got, ok, want)
	}
}

// answerPluginCases cover the plugins that answer themselves: ping, mock
// and redirect.
func answerPluginCases() []pluginCase {
	return []pluginCase{
		{
			name: "ping", category: "ping", plugins: []string{"ping-health"},
			toml: `[plugins.ping-health]
category = "ping"
path = "/ping/healthz"
`,
			check: checkPing,
		},
		{
			name: "mock", category: "mock", plugins: []string{"mock-stub"},
			toml: `[plugins.mock-stub]
category = "mock"
path = "/mock/stub"
status = 503
headers = ["Content-Type:text/plain", "Retry-After:120", "X-Mock:a", "X-Mock:b"]
data = "down for maintenance"
`,
			check: checkMock,
		},
		{
			name: "mock-all", category: "mock", plugins: []string{"mock-all-json"},
			toml: `[plugins.mock-all-json]
category = "mock"
headers = ["Content-Type:application/json"]
data = '{"stub":true}'
`,
			check: func(t *testing.T, c *http.Client, base string) {
				for _, path := range []string{"/", "/a/b?c=d"} {
					res := mustSend(t, c, req{method: http.MethodPut, url: base + path})
					wantPluginAnswer(t, "PUT "+path, res, http.StatusOK, `{"stub":true}`)
					wantRespHeader(t, "PUT "+path, res, "Content-Type", "application/json")
				}
			},
		},
		{
			name: "redirect", category: "redirect", plugins: []string{"redirect-prefix"},
			toml: `[plugins.redirect-prefix]
category = "redirect"
prefix = "/redirect/in/"
status = 308
host = "www.example.test:8443"
`,
			check: checkRedirectPrefix,
		},
		{
			name: "redirect-https", category: "redirect", plugins: []string{"redirect-https-tls"},
			toml: `[plugins.redirect-https-tls]
category = "redirect"
http_to_https = true
`,
			check: func(t *testing.T, c *http.Client, base string) {
				res := mustSend(t, c, req{url: base + "/login?next=%2Fhome&x=1", host: "shop.example.test"})
				wantPluginAnswer(t, "GET /login", res, http.StatusMovedPermanently, "")
				wantRespHeader(t, "GET /login", res, "Location", "https://shop.example.test/redirect-https/login?next=%2Fhome&x=1")
			},
		},
	}
}

func checkPing(t *testing.T, c *http.Client, base string) {
	for _, url := range []string{base + "/healthz", base + "/healthz?probe=1"} {
		res := mustSend(t, c, req{url: url})
		wantPluginAnswer(t, "GET "+url, res, http.StatusOK, "pong\n")
		wantRespHeader(t, "GET "+url, res, "Cache-Control", "no-store")
	}
	wantPluginAnswer(t, "HEAD /healthz", mustSend(t, c, req{method: http.MethodHead, url: base + "/healthz"}), http.StatusOK, "")
	// Other methods and other paths (the match is exact) pass on.
	e := wantPluginPassed(t, "POST /healthz", mustSend(t, c, req{method: http.MethodPost, url: base + "/healthz"}))
	if e.Method != http.MethodPost || e.Path != "/ping/healthz" {
		t.Errorf("POST /healthz: backend saw %s %s", e.Method, e.Path)
	}
	e = wantPluginPassed(t, "GET /healthz/more", mustSend(t, c, req{url: base + "/healthz/more"}))
	if e.Path != "/ping/healthz/more" {
		t.Errorf("GET /healthz/more: backend saw %s", e.Path)
	}
}

func checkMock(t *testing.T, c *http.Client, base string) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		res := mustSend(t, c, req{method: method, url: base + "/stub?x=1"})
		wantPluginAnswer(t, method+" /stub", res, http.StatusServiceUnavailable, "down for maintenance")
		wantRespHeader(t, method+" /stub", res, "Retry-After", "120")
		wantRespHeader(t, method+" /stub", res, "X-Mock", "a", "b")
		wantRespHeader(t, method+" /stub", res, "Content-Type", "text/plain")
	}
	wantPluginAnswer(t, "HEAD /stub", mustSend(t, c, req{method: http.MethodHead, url: base + "/stub"}), http.StatusServiceUnavailable, "")
	e := wantPluginPassed(t, "GET /other", mustSend(t, c, req{url: base + "/other"}))
	if e.Path != "/mock/other" {
		t.Errorf("GET /other: backend saw %s", e.Path)
	}
}

func checkRedirectPrefix(t *testing.T, c *http.Client, base string) {
	for _, tc := range []struct{ path, location string }{
		{"/old/page?id=7&x=%2F", "http://www.example.test:8443/redirect/in/redirect/old/page?id=7&x=%2F"},
		{"/inside", "http://www.example.test:8443/redirect/in/redirect/inside"},
	} {
		res := mustSend(t, c, req{url: base + tc.path})
		wantPluginAnswer(t, "GET "+tc.path, res, http.StatusPermanentRedirect, "")
		wantRespHeader(t, "GET "+tc.path, res, "Location", tc.location)
	}
	// Under the prefix, the request passes on.
	for _, path := range []string{"/in", "/in/page"} {
		e := wantPluginPassed(t, "GET "+path, mustSend(t, c, req{url: base + path + "?q=1"}))
		if e.Path != "/redirect"+path || e.RawQuery != "q=1" {
			t.Errorf("GET %s: backend saw %s?%s", path, e.Path, e.RawQuery)
		}
	}
}

// restrictionPluginCases cover the access lists: ip_restriction,
// ua_restriction and referer_restriction.
func restrictionPluginCases() []pluginCase {
	return []pluginCase{
		{
			name: "ip-restriction", category: "ip_restriction", plugins: []string{"ip-restriction-local"},
			toml: `[plugins.ip-restriction-local]
category = "ip_restriction"
ip_list = ["127.0.0.1/32", "10.0.0.0/8"]
message = "local clients only"
`,
			check: checkIPAllow,
		},
		{
			name: "ip-restriction-deny", category: "ip_restriction", plugins: []string{"ip-restriction-deny-list"},
			toml: `[plugins.ip-restriction-deny-list]
category = "ip_restriction"
type = "deny"
ip_list = ["127.0.0.2"]
`,
			check: checkIPDeny,
		},
		{
			name: "ua-restriction", category: "ua_restriction", plugins: []string{"ua-restriction-bots"},
			toml: `[plugins.ua-restriction-bots]
category = "ua_restriction"
ua_list = ["(?i)bot", "^curl/"]
message = "no bots"
`,
			check: func(t *testing.T, c *http.Client, base string) {
				for ua, allowed := range map[string]bool{
					"Mozilla/5.0 (X11; Linux x86_64)":       true,
					"mycurl/1.0":                            true, // the expression is anchored
					"Googlebot/2.1":                         false,
					"Mozilla/5.0 (compatible; BingBot/2.0)": false,
					"curl/8.5.0":                            false,
				} {
					checkAccess(t, c, req{url: base + "/", header: reqHeader("User-Agent", ua)}, "UA "+ua, allowed, "no bots")
				}
			},
		},
		{
			name: "ua-restriction-allow", category: "ua_restriction", plugins: []string{"ua-restriction-allow-browsers"},
			toml: `[plugins.ua-restriction-allow-browsers]
category = "ua_restriction"
type = "allow"
ua_list = ["^Mozilla/"]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				checkAccess(t, c, req{url: base + "/", header: reqHeader("User-Agent", "Mozilla/5.0")}, "UA Mozilla", true, "")
				checkAccess(t, c, req{url: base + "/", header: reqHeader("User-Agent", "Go-http-client/1.1 Mozilla/5.0")}, "UA Go", false, "forbidden")
			},
		},
		{
			name: "referer-restriction", category: "referer_restriction", plugins: []string{"referer-restriction-hotlink"},
			toml: `[plugins.referer-restriction-hotlink]
category = "referer_restriction"
referer_list = ["example.com", "*.example.org", '~^img[0-9]+\.example\.net$']
block_empty = true
message = "hotlinking not allowed"
`,
			check: checkRefererAllow,
		},
		{
			name: "referer-restriction-deny", category: "referer_restriction", plugins: []string{"referer-restriction-spam"},
			toml: `[plugins.referer-restriction-spam]
category = "referer_restriction"
type = "deny"
referer_list = ["*.spam.test"]
`,
			check: func(t *testing.T, c *http.Client, base string) {
				checkAccess(t, c, req{url: base + "/"}, "no Referer", true, "")
				checkAccess(t, c, req{url: base + "/", header: reqHeader("Referer", "https://news.test/a")}, "Referer news.test", true, "")
				checkAccess(t, c, req{url: base + "/", header: reqHeader("Referer", "http://www.spam.test/x")}, "Referer www.spam.test", false, "forbidden")
			},
		},
	}
}

// checkAccess sends r and asserts that it reached the backend or was
// refused with 403 and message.
func checkAccess(t *testing.T, c *http.Client, r req, what string, allowed bool, message string) {
	t.Helper()
	res := mustSend(t, c, r)
	if allowed {
		wantPluginPassed(t, what, res)
		return
	}
	wantPluginAnswer(t, what, res, http.StatusForbidden, message)
}

func checkIPAllow(t *testing.T, c *http.Client, base string) {
	e := wantPluginPassed(t, "from 127.0.0.1", mustSend(t, c, req{url: base + "/"}))
	wantUpstreamHeader(t, "from 127.0.0.1", e, "X-Real-Ip", "127.0.0.1")
	other := clientFrom("127.0.0.2")
	t.Cleanup(other.CloseIdleConnections)
	wantPluginAnswer(t, "from 127.0.0.2", mustSend(t, other, req{url: base + "/"}), http.StatusForbidden, "local clients only")
	// 127.0.0.2 is not a trusted proxy: what it claims about the client is
	// ignored.
	spoof := reqHeader("X-Forwarded-For", "127.0.0.1", "X-Real-Ip", "127.0.0.1", "Forwarded", "for=127.0.0.1")
	wantPluginAnswer(t, "from 127.0.0.2 claiming 127.0.0.1", mustSend(t, other, req{url: base + "/", header: spoof}),
		http.StatusForbidden, "local clients only")
}

func checkIPDeny(t *testing.T, c *http.Client, base string) {
	wantPluginPassed(t, "from 127.0.0.1", mustSend(t, c, req{url: base + "/"}))
	other := clientFrom("127.0.0.2")
	t.Cleanup(other.CloseIdleConnections)
	wantPluginAnswer(t, "from 127.0.0.2", mustSend(t, other, req{url: base + "/"}), http.StatusForbidden, "forbidden")
	wantPluginAnswer(t, "from 127.0.0.2 claiming 10.1.1.1", mustSend(t, other, req{url: base + "/", header: reqHeader("X-Forwarded-For", "10.1.1.1")}),
		http.StatusForbidden, "forbidden")
}

func checkRefererAllow(t *testing.T, c *http.Client, base string) {
	for ref, allowed := range map[string]bool{
		"https://example.com/page":             true,
		"https://EXAMPLE.com:8443/x?y=1":       true,
		"http://a.b.example.org/":              true,
		"https://img12.example.net/z.png":      true,
		"":                                     false, // block_empty
		"https://example.org/":                 false, // the wildcard needs a subdomain
		"https://notexample.com/":              false,
		"https://example.com.evil.test/":       false,
		"https://evil.test/?r=example.com":     false,
		"https://img12.example.net.evil.test/": false,
		"not a url":                            false,
	} {
		r := req{url: base + "/logo.png"}
		if ref != "" {
			r.header = reqHeader("Referer", ref)
		}
		checkAccess(t, c, r, "Referer "+ref, allowed, "hotlinking not allowed")
	}
}

// headerPluginCases cover the plugins that edit headers: response_headers,
// cors and request_id.
func headerPluginCases() []pluginCase {
	return []pluginCase{
		{
			name: "response-headers", category: "response_headers", plugins: []string{"response-headers-edit"},
			toml: `[plugins.response-headers-edit]
category = "response_headers"
remove_headers = ["X-Backend"]
rename_headers = ["Content-Type:X-Upstream-Type"]
set_headers = ["X-Frame-Options:DENY"]
set_headers_not_exists = ["Content-Type:text/x-echo", "X-Upstream-Type:not-applied"]
add_headers = ["Cache-Control:no-store", "Cache-Control:private"]
`,
			check: checkResponseHeaders,
		},
		{
			name: "response-headers-request", category: "response_headers", plugins: []string{"response-headers-request-edit"},
			toml: `[plugins.response-headers-request-edit]
category = "response_headers"
on_request = true
remove_headers = ["X-Secret"]
rename_headers = ["X-Old:X-New"]
set_headers = ["X-Client:replaced"]
set_headers_not_exists = ["X-Absent:default", "X-Present:default"]
add_headers = ["X-Multi:b"]
`,
			check: checkRequestHeaders,
		},
		{
			name: "cors", category: "cors", plugins: []string{"cors-list"},
			toml: `[plugins.cors-list]
category = "cors"
allow_origin = "https://app.example.com, https://*.example.org"
allow_methods = "GET, POST"
expose_headers = "X-Backend, X-Total"
max_age = "10m"
`,
			check: checkCORS,
		},
		{
			name: "cors-any", category: "cors", plugins: []string{"cors-any-origin"},
			toml: `[plugins.cors-any-origin]
category = "cors"
allow_origin = "*"
`,
			check: func(t *testing.T, c *http.Client, base string) {
				res := mustSend(t, c, req{url: base + "/", header: reqHeader("Origin", "https://anyone.test")})
				wantPluginPassed(t, "simple request", res)
				wantRespHeader(t, "simple request", res, "Access-Control-Allow-Origin", "*")
				wantRespHeader(t, "simple request", res, "Access-Control-Allow-Credentials")
			},
		},
		{
			name: "request-id", category: "request_id", plugins: []string{"request-id-uuid"},
			toml: `[plugins.request-id-uuid]
category = "request_id"
`,
			check: checkRequestID,
		},
		{
			name: "request-id-nanoid", category: "request_id", plugins: []string{"request-id-nanoid-trace"},
			toml: `[plugins.request-id-nanoid-trace]
category = "request_id"
algorithm = "nanoid"
size = 12
header_name = "x-trace-id"
`,
			check: checkRequestIDNanoid,
		},
	}
}

func checkResponseHeaders(t *testing.T, c *http.Client, base string) {
	res := mustSend(t, c, req{url: base + "/page", header: reqHeader("Cache-Control", "max-age=0")})
	if res.Code != http.StatusOK {
		t.Fatalf("GET /page: %d %q", res.Code, res.Body)
	}
	e := res.echo(t)
	if e.Path != "/response-headers/page" {
		t.Errorf("backend saw %s", e.Path)
	}
	// The request is not edited.
	wantUpstreamHeader(t, "request", e, "Cache-Control", "max-age=0")
	wantRespHeader(t, "response", res, "X-Backend")
	wantRespHeader(t, "response", res, "X-Upstream-Type", "application/json")
	wantRespHeader(t, "response", res, "Content-Type", "text/x-echo")
	wantRespHeader(t, "response", res, "X-Frame-Options", "DENY")
	wantRespHeader(t, "response", res, "Cache-Control", "no-store", "private")
}

func checkRequestHeaders(t *testing.T, c *http.Client, base string) {
	h := reqHeader("X-Secret", "s3", "X-Old", "v", "X-Client", "original", "X-Present", "client", "X-Multi", "a")
	res := mustSend(t, c, req{url: base + "/", header: h})
	e := wantPluginPassed(t, "GET /", res)
	for name, want := range map[string]string{
		"X-Secret": "", "X-Old": "", "X-New": "v", "X-Client": "replaced",
		"X-Absent": "default", "X-Present": "client", "X-Multi": "a, b",
	} {
		wantUpstreamHeader(t, "request", e, name, want)
	}
	// The response is not edited.
	wantRespHeader(t, "response", res, "X-Client")
	wantRespHeader(t, "response", res, "Content-Type", "application/json")
}

func checkCORS(t *testing.T, c *http.Client, base string) {
	preflight := reqHeader("Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "X-Custom, Content-Type")
	res := mustSend(t, c, req{method: http.MethodOptions, url: base + "/items", header: preflight})
	wantPluginAnswer(t, "preflight", res, http.StatusNoContent, "")
	wantRespHeader(t, "preflight", res, "Access-Control-Allow-Origin", "https://app.example.com")
	wantRespHeader(t, "preflight", res, "Access-Control-Allow-Methods", "GET, POST")
	wantRespHeader(t, "preflight", res, "Access-Control-Allow-Headers", "X-Custom, Content-Type")
	wantRespHeader(t, "preflight", res, "Access-Control-Max-Age", "600")
	wantRespHeader(t, "preflight", res, "Access-Control-Allow-Credentials")
	if vary := strings.Join(res.Header.Values("Vary"), ","); !strings.Contains(vary, "Origin") {
		t.Errorf("preflight: Vary %q lacks Origin", vary)
	}
	preflight.Set("Origin", "https://evil.test")
	res = mustSend(t, c, req{method: http.MethodOptions, url: base + "/items", header: preflight})
	wantPluginAnswer(t, "preflight from evil.test", res, http.StatusForbidden, "forbidden")
	wantRespHeader(t, "preflight from evil.test", res, "Access-Control-Allow-Origin")

	// An OPTIONS request that is not a preflight is forwarded.
	e := wantPluginPassed(t, "plain OPTIONS", mustSend(t, c, req{method: http.MethodOptions, url: base + "/items", header: reqHeader("Origin", "https://app.example.com")}))
	if e.Method != http.MethodOptions {
		t.Errorf("plain OPTIONS: backend saw %s", e.Method)
	}

	res = mustSend(t, c, req{url: base + "/items", header: reqHeader("Origin", "https://shop.example.org")})
	e = wantPluginPassed(t, "simple request", res)
	wantUpstreamHeader(t, "simple request", e, "Origin", "https://shop.example.org")
	wantRespHeader(t, "simple request", res, "Access-Control-Allow-Origin", "https://shop.example.org")
	wantRespHeader(t, "simple request", res, "Vary", "Origin")
	wantRespHeader(t, "simple request", res, "Access-Control-Expose-Headers", "X-Backend, X-Total")

	for _, origin := range []string{"", "https://evil.test", "http://app.example.com", "https://example.org", "https://app.example.com.evil.test", "null"} {
		r := req{url: base + "/items"}
		if origin != "" {
			r.header = reqHeader("Origin", origin)
		}
		res := mustSend(t, c, r)
		wantPluginPassed(t, "origin "+origin, res)
		wantRespHeader(t, "origin "+origin, res, "Access-Control-Allow-Origin")
		wantRespHeader(t, "origin "+origin, res, "Access-Control-Expose-Headers")
	}
}

var (
	uuidV7Re = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	nanoidRe = regexp.MustCompile(`^[A-Za-z0-9_-]{12}$`)
)

// sendWithRequestID sends a request with an optional incoming id in header and
// returns the id the client got back, after checking that the backend saw
// the same.
func sendWithRequestID(t *testing.T, c *http.Client, base, header, incoming string) string {
	t.Helper()
	r := req{url: base + "/"}
	if incoming != "" {
		r.header = reqHeader(header, incoming)
	}
	res := mustSend(t, c, r)
	e := wantPluginPassed(t, "request id "+incoming, res)
	got := res.Header.Values(header)
	if len(got) != 1 {
		t.Fatalf("incoming %q: response %s = %q, want one value", incoming, header, got)
	}
	wantUpstreamHeader(t, "incoming "+incoming, e, header, got[0])
	return got[0]
}

func checkRequestID(t *testing.T, c *http.Client, base string) {
	const h = "X-Request-Id"
	a, b := sendWithRequestID(t, c, base, h, ""), sendWithRequestID(t, c, base, h, "")
	if !uuidV7Re.MatchString(a) || !uuidV7Re.MatchString(b) || a == b {
		t.Errorf("generated ids %q and %q: want two different UUIDv7", a, b)
	}
	longest := strings.Repeat("a", 128)
	for _, keep := range []string{"edge-7f3a.1:x_Y", longest} {
		if got := sendWithRequestID(t, c, base, h, keep); got != keep {
			t.Errorf("valid incoming id %q: replaced by %q", keep, got)
		}
	}
	for _, bad := range []string{"bad id", "x/y", longest + "a"} {
		if got := sendWithRequestID(t, c, base, h, bad); !uuidV7Re.MatchString(got) {
			t.Errorf("invalid incoming id %q: got %q, want a new UUIDv7", bad, got)
		}
	}
}

func checkRequestIDNanoid(t *testing.T, c *http.Client, base string) {
	const h = "X-Trace-Id"
	a, b := sendWithRequestID(t, c, base, h, ""), sendWithRequestID(t, c, base, h, "")
	if !nanoidRe.MatchString(a) || !nanoidRe.MatchString(b) || a == b {
		t.Errorf("generated ids %q and %q: want two different 12-character nanoids", a, b)
	}
	if got := sendWithRequestID(t, c, base, h, "trace-1"); got != "trace-1" {
		t.Errorf("valid incoming id: replaced by %q", got)
	}
	res := mustSend(t, c, req{url: base + "/"})
	wantRespHeader(t, "nanoid", res, "X-Request-Id")
}
