package admin_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/controlplane"
	"github.com/pingap-go/pingap/internal/testcert"
)

// TestRealStore runs the API of a control plane over the real store
// (embedded etcd), with tokens from a file and TLS on the admin listener:
// apply, diff, rollback, versions, status.
func TestRealStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("admin-token admin ci\nread-token read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serverTLS, clientTLS := testTLS(t)
	cp, err := controlplane.Start(t.Context(), controlplane.Options{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		AdminTokensFile: tokens, AdminTLS: serverTLS,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Close)
	c := &client{t: t, base: "https://" + cp.AdminAddr(), http: &http.Client{
		Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS},
	}}
	const cfg = `
[upstreams.u]
addrs = ["127.0.0.1:9001"]
[locations.l]
path = "/api"
upstream = "u"
[servers.s]
addr = "127.0.0.1:8080"
locations = ["l"]
`
	v2cfg := strings.Replace(cfg, `"/api"`, `"/v2"`, 1)
	const cl = "/api/v1/clusters/prod"

	if code, _ := c.call("GET", "/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("readyz: %d", code)
	}
	if code, out := c.call("GET", cl+"/versions", "", ""); code != http.StatusUnauthorized || out["code"] != "unauthorized" {
		t.Fatalf("no token: %d %v", code, out)
	}
	if code, out := c.call("POST", cl+"/config", cfg, "read-token"); code != http.StatusForbidden {
		t.Fatalf("read token applies: %d %v", code, out)
	}
	if code, out := c.call("POST", cl+"/config?message=first", cfg, "admin-token"); code != http.StatusCreated || out["version"].(map[string]any)["author"] != "ci" {
		t.Fatalf("apply v1: %d %v", code, out)
	}
	if code, out := c.call("POST", cl+"/config?if_version=0", v2cfg, "admin-token"); code != http.StatusConflict || out["current_version"] != float64(1) {
		t.Fatalf("stale apply: %d %v", code, out)
	}
	if code, out := c.call("POST", cl+"/config?dry_run=true", v2cfg, "admin-token"); code != http.StatusOK || out["would_create"] != true {
		t.Fatalf("dry run: %d %v", code, out)
	}
	code, out := c.call("POST", cl+"/config?if_version=1", v2cfg, "admin-token")
	if diff, _ := out["diff"].([]any); code != http.StatusCreated || len(diff) != 1 {
		t.Fatalf("apply v2: %d %v", code, out)
	}
	code, out = c.call("GET", cl+"/diff", "", "read-token")
	if code != http.StatusOK || out["from"] != float64(1) || out["to"] != float64(2) || out["text"] != "~ locations.l\n    path: \"/api\" -> \"/v2\"\n" {
		t.Fatalf("diff 1..2: %d %v", code, out)
	}
	code, out = c.call("POST", cl+"/rollback?message=undo", "", "admin-token")
	if v, _ := out["version"].(map[string]any); code != http.StatusCreated || v["version"] != "3" || v["rollback_of"] != "1" {
		t.Fatalf("rollback: %d %v", code, out)
	}
	if code, out = c.call("POST", cl+"/rollback?to=1", "", "admin-token"); code != http.StatusOK || out["created"] != false {
		t.Fatalf("rollback to the current content: %d %v", code, out)
	}
	if code, out = c.call("POST", cl+"/rollback?to=42", "", "admin-token"); code != http.StatusNotFound {
		t.Fatalf("rollback to an unknown version: %d %v", code, out)
	}
	code, out = c.call("GET", cl+"/versions", "", "read-token")
	vs, _ := out["versions"].([]any)
	if code != http.StatusOK || len(vs) != 3 || vs[0].(map[string]any)["message"] != "undo" {
		t.Fatalf("versions: %d %v", code, out)
	}
	if code, out = c.call("GET", cl+"/diff?from=1&to=3", "", "read-token"); code != http.StatusOK || len(out["changes"].([]any)) != 0 {
		t.Fatalf("diff 1..3 (same content): %d %v", code, out)
	}
	body := c.raw("GET", cl+"/config?format=toml", "read-token")
	back, err := config.ValidateBytes(body, config.FormatTOML)
	if err != nil || !proto.Equal(back, mustValid(t, cfg)) {
		t.Fatalf("TOML of the rolled back version: %v\n%s", err, body)
	}
	if code, out = c.call("GET", cl+"/status", "", "read-token"); code != http.StatusOK || out["current_version"] != float64(3) {
		t.Fatalf("status: %d %v", code, out)
	}
	if code, out = c.call("GET", "/api/v1/clusters", "", "read-token"); code != http.StatusOK || len(out["clusters"].([]any)) != 1 {
		t.Fatalf("clusters: %d %v", code, out)
	}
	if code, _ = c.call("GET", cl+"/nodes/nope", "", "read-token"); code != http.StatusNotFound {
		t.Fatalf("unknown node: %d", code)
	}
}

func mustValid(t *testing.T, s string) proto.Message {
	t.Helper()
	snap, err := config.ValidateBytes([]byte(s), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) do(method, path, body, token string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// call sends a request and decodes a JSON answer.
func (c *client) call(method, path, body, token string) (int, map[string]any) {
	c.t.Helper()
	resp := c.do(method, path, body, token)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, out
}

// raw sends a request and returns the body of a 200 answer.
func (c *client) raw(method, path, token string) []byte {
	c.t.Helper()
	resp := c.do(method, path, "", token)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// testTLS returns a server config with a self-signed certificate for
// 127.0.0.1 and a client config trusting it.
func testTLS(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	l := testcert.SelfSigned(t, "pingap admin test", "127.0.0.1")
	pool := x509.NewCertPool()
	pool.AddCert(l.TLS.Leaf)
	server := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{l.TLS}}
	return server, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
}
