package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// directoryPluginCases cover the directory plugin: files served from a
// t.TempDir tree through the real binary (Range, 304, precompressed gzip,
// the slash redirect) and traversal attempts that must never reach the file
// placed next to the served directory.
func directoryPluginCases(t *testing.T) []pluginCase {
	base := t.TempDir()
	root := filepath.Join(base, "www")
	const secret = "directory e2e secret"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("console.log('from the .gz file')"))
	_ = zw.Close()
	// The location is /directory/ and the whole path is looked up under
	// root, so the files live in root/directory.
	for name, content := range map[string]string{
		filepath.Join(base, "secret.txt"):                  secret,
		filepath.Join(root, "secret.txt"):                  "not outside, but never asked for",
		filepath.Join(root, "directory", "digits.txt"):     "0123456789",
		filepath.Join(root, "directory", "app.js"):         "console.log('plain')",
		filepath.Join(root, "directory", "app.js.gz"):      gz.String(),
		filepath.Join(root, "directory", "sub/index.html"): "<p>sub</p>",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "directory", "link.txt")); err != nil {
		t.Fatal(err)
	}
	return []pluginCase{{
		name:     "directory",
		category: "directory",
		toml:     fmt.Sprintf("[plugins.directory_static]\ncategory = \"directory\"\npath = %q\nprecompressed = true\nmax_age = \"10m\"\n", root),
		plugins:  []string{"directory_static"},
		check: func(t *testing.T, c *http.Client, base string) {
			res := mustSend(t, c, req{url: base + "/digits.txt"})
			tag := res.Header.Get("Etag")
			if res.Code != 200 || string(res.Body) != "0123456789" || tag == "" ||
				res.Header.Get("Cache-Control") != "public, max-age=600" {
				t.Fatalf("GET digits.txt = %d %q %v", res.Code, res.Body, res.Header)
			}
			res = mustSend(t, c, req{url: base + "/digits.txt", header: http.Header{"Range": {"bytes=3-5"}}})
			if res.Code != 206 || string(res.Body) != "345" || res.Header.Get("Content-Range") != "bytes 3-5/10" {
				t.Errorf("Range = %d %q %v", res.Code, res.Body, res.Header)
			}
			res = mustSend(t, c, req{url: base + "/digits.txt", header: http.Header{"If-None-Match": {tag}}})
			if res.Code != 304 || len(res.Body) != 0 {
				t.Errorf("If-None-Match = %d %q", res.Code, res.Body)
			}
			res = mustSend(t, c, req{url: base + "/app.js", header: http.Header{"Accept-Encoding": {"gzip, deflate"}}})
			if res.Code != 200 || res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" ||
				!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
				t.Fatalf("precompressed = %d %v", res.Code, res.Header)
			}
			zr, err := gzip.NewReader(bytes.NewReader(res.Body))
			if err != nil {
				t.Fatal(err)
			}
			if plain, _ := io.ReadAll(zr); string(plain) != "console.log('from the .gz file')" {
				t.Errorf("gzip variant decodes to %q", plain)
			}
			res = mustSend(t, c, req{url: base + "/app.js", header: http.Header{"Accept-Encoding": {"gzip;q=0"}}})
			if res.Code != 200 || res.Header.Get("Content-Encoding") != "" || string(res.Body) != "console.log('plain')" {
				t.Errorf("gzip;q=0 = %d %q %v", res.Code, res.Body, res.Header)
			}
			res = mustSend(t, c, req{url: base + "/sub?x=1"})
			if res.Code != 301 || res.Header.Get("Location") != "/directory/sub/?x=1" {
				t.Errorf("GET sub = %d Location %q", res.Code, res.Header.Get("Location"))
			}
			if res = mustSend(t, c, req{url: base + "/sub/"}); res.Code != 200 || string(res.Body) != "<p>sub</p>" {
				t.Errorf("GET sub/ = %d %q", res.Code, res.Body)
			}
			if res = mustSend(t, c, req{method: "POST", url: base + "/digits.txt"}); res.Code != 405 || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("POST = %d %v", res.Code, res.Header)
			}
			for _, p := range []string{"/..%2f..%2fetc/passwd", "/..%2f..%2fsecret.txt", "/..%2fsecret.txt", "/%2e%2e/%2e%2e/secret.txt", "/link.txt"} {
				if res := mustSend(t, c, req{url: base + p}); res.Code != 404 || bytes.Contains(res.Body, []byte(secret)) || bytes.Contains(res.Body, []byte("root:")) {
					t.Errorf("GET %s = %d %q, want 404", p, res.Code, res.Body)
				}
			}
			// Raw targets the client must not normalise: URL.Opaque is sent
			// as written.
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			for target, want := range map[string]int{
				u.Path + "/../../secret.txt":       404,
				u.Path + "/../secret.txt":          404,
				u.Path + "/sub/../../../etc/hosts": 404,
				u.Path + "/sub/../digits.txt":      200, // cleaned inside the root
			} {
				hr, err := http.NewRequest(http.MethodGet, base, nil)
				if err != nil {
					t.Fatal(err)
				}
				hr.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: target}
				resp, err := c.Do(hr)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != want || bytes.Contains(body, []byte(secret)) || want == 200 && string(body) != "0123456789" {
					t.Errorf("GET %s (raw) = %d %q, want %d", target, resp.StatusCode, body, want)
				}
			}
		},
	}}
}
