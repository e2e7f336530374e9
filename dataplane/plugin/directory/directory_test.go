package directory

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// mtime is every test file's modification time, so ETags are known.
var mtime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

const secret = "TOP SECRET outside the root"

// tree writes files (name -> content; a name ending in "/" is a directory)
// under dir with mtime.
func tree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

// site builds the test tree: root (served) and outside (next to it, never
// to be served unless a followed symlink leads there).
func site(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	tree(t, outside, map[string]string{"secret.html": secret})
	tree(t, root, map[string]string{
		"hello.html":        "<h1>hi</h1>",
		"style.css":         "body{}",
		"data.json":         `{"a":1}`,
		"image.png":         "\x89PNG",
		"image.png.gz":      "gz of png",
		"digits.bin":        "0123456789",
		"my file.css":       "p{}",
		"noext":             "<html>not sniffed</html>",
		"app.js":            "console.log('plain')",
		"app.js.br":         "BR BYTES",
		"app.js.gz":         "GZIP BYTES!",
		"only.css":          "only{}",
		"only.css.gz":       "ONLY GZ",
		"dirsib.js":         "dirsib",
		"dirsib.js.gz/":     "",
		"sub/index.html":    "sub index",
		"sub/default.htm":   "sub default",
		"sub2/<script>.txt": "x",
		"sub2/b.css":        "b",
		"sub2/zdir/":        "",
		"evil.example/":     "",
		"etc/":              "",
	})
	symlink(t, filepath.Join(outside, "secret.html"), filepath.Join(root, "link-out.html"))
	symlink(t, "hello.html", filepath.Join(root, "link-in.html"))
	symlink(t, outside, filepath.Join(root, "dir-out"))
	symlink(t, filepath.Join(outside, "secret.html"), filepath.Join(root, "sub2", "out.html"))
	symlink(t, "../hello.html", filepath.Join(root, "sub2", "in.html"))
	return root, outside
}

// serve builds the plugin over next, which fails the test if called: the
// plugin is terminal.
func serve(t *testing.T, c *pb.DirectoryPlugin) http.Handler {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "static", &pb.Plugin{Category: Category, Config: &pb.Plugin_Directory{Directory: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the directory plugin called next")
	}))
}

// do sends method target (a raw request target, parsed as the server
// parses it) with header lines "Name: value".
func do(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, l := range header {
		k, v, _ := strings.Cut(l, ":")
		r.Header.Add(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func etagOf(t testing.TB, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size())
}

func TestServeFiles(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root})
	tests := []struct {
		desc, method, target string
		want                 int
		body, ctype          string
	}{
		{"html", "GET", "/hello.html", 200, "<h1>hi</h1>", "text/html; charset=utf-8"},
		{"css", "GET", "/style.css", 200, "body{}", "text/css; charset=utf-8"},
		{"json", "GET", "/data.json", 200, `{"a":1}`, "application/json"},
		{"unknown extension is not sniffed", "GET", "/noext", 200, "<html>not sniffed</html>", "application/octet-stream"},
		{"escaped name", "GET", "/my%20file.css", 200, "p{}", "text/css; charset=utf-8"},
		{"head", "HEAD", "/hello.html", 200, "", "text/html; charset=utf-8"},
		{"index", "GET", "/sub/", 200, "sub index", "text/html; charset=utf-8"},
		{"root without index", "GET", "/", 403, "forbidden", "text/plain; charset=utf-8"},
		{"directory without index", "GET", "/sub2/", 403, "forbidden", "text/plain; charset=utf-8"},
		{"missing", "GET", "/nope.html", 404, "not found", "text/plain; charset=utf-8"},
		{"file with a slash", "GET", "/hello.html/", 404, "not found", "text/plain; charset=utf-8"},
		{"dot segments inside the root", "GET", "/sub/../hello.html", 200, "<h1>hi</h1>", "text/html; charset=utf-8"},
		{"repeated slashes", "GET", "//sub//index.html", 200, "sub index", "text/html; charset=utf-8"},
		{"symlink inside the root", "GET", "/link-in.html", 200, "<h1>hi</h1>", "text/html; charset=utf-8"},
		{"post", "POST", "/hello.html", 405, "method not allowed", "text/plain; charset=utf-8"},
		{"options", "OPTIONS", "/", 405, "method not allowed", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := do(h, tt.method, tt.target)
			if rec.Code != tt.want || rec.Body.String() != tt.body || rec.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("%s %s = %d %q (%s), want %d %q (%s)", tt.method, tt.target, rec.Code, rec.Body, rec.Header().Get("Content-Type"),
					tt.want, tt.body, tt.ctype)
			}
			if tt.want == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
	t.Run("head headers", func(t *testing.T) {
		t.Parallel()
		rec := do(h, "HEAD", "/hello.html")
		if rec.Header().Get("Content-Length") != "11" || rec.Header().Get("Etag") != etagOf(t, filepath.Join(root, "hello.html")) ||
			rec.Header().Get("Last-Modified") != mtime.Format(http.TimeFormat) {
			t.Fatalf("HEAD headers %v", rec.Header())
		}
	})
}

func TestIndexOrder(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root, Index: []string{"missing.html", "default.htm", "index.html"}})
	if rec := do(h, "GET", "/sub/"); rec.Code != 200 || rec.Body.String() != "sub default" {
		t.Fatalf("GET /sub/ = %d %q, want the first existing index", rec.Code, rec.Body)
	}
}

func TestRedirectToSlash(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root})
	for target, want := range map[string]string{
		"/sub":             "/sub/",
		"/sub?a=1&b=%20":   "/sub/?a=1&b=%20",
		"/sub2/zdir":       "/sub2/zdir/",
		"//evil.example":   "/evil.example/", // never a protocol-relative Location
		"/x/../sub":        "/sub/",
		"/evil.example?//": "/evil.example/?//",
	} {
		rec := do(h, "GET", target)
		if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != want {
			t.Errorf("GET %s = %d Location %q, want 301 %q", target, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

func TestTraversal(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	targets := []string{
		"/..%2f..%2fetc/passwd",
		"/%2e%2e/x",
		"/a/../../x",
		"//etc/passwd",
		"/../outside/secret.html",
		"/%2e%2e/outside/secret.html",
		"/..%2foutside%2fsecret.html",
		"/sub/../../outside/secret.html",
		"/sub%2f..%2f..%2foutside%2fsecret.html",
		"/sub%2findex.html", // an encoded slash never becomes a separator
		"/..%5coutside%5csecret.html",
		"/sub%5cindex.html",
		"/hello.html%00",
		"/hello.html%00.css",
		"/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/.%2e/outside/secret.html",
	}
	for _, follow := range []bool{false, true} {
		h := serve(t, &pb.DirectoryPlugin{Path: root, FollowSymlinks: follow, Autoindex: true})
		for _, target := range targets {
			rec := do(h, "GET", target)
			body := rec.Body.String()
			if rec.Code != http.StatusNotFound || strings.Contains(body, "TOP SECRET") || strings.Contains(body, "root:") {
				t.Errorf("follow_symlinks=%v GET %s = %d %q, want 404", follow, target, rec.Code, body)
			}
		}
	}
}

func TestSymlinks(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	tests := []struct {
		target string
		follow bool
		want   int
		body   string
	}{
		{"/link-out.html", false, 404, "not found"},
		{"/dir-out/secret.html", false, 404, "not found"},
		{"/link-in.html", false, 200, "<h1>hi</h1>"},
		{"/sub2/in.html", false, 200, "<h1>hi</h1>"},
		{"/link-out.html", true, 200, secret},
		{"/dir-out/secret.html", true, 200, secret},
		{"/sub2/out.html", true, 200, secret},
	}
	for _, tt := range tests {
		h := serve(t, &pb.DirectoryPlugin{Path: root, FollowSymlinks: tt.follow})
		if rec := do(h, "GET", tt.target); rec.Code != tt.want || rec.Body.String() != tt.body {
			t.Errorf("follow_symlinks=%v GET %s = %d %q, want %d %q", tt.follow, tt.target, rec.Code, rec.Body, tt.want, tt.body)
		}
	}
}

func TestAutoindex(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root, Autoindex: true, Headers: []string{"X-Served-By:pingap"}})
	rec := do(h, "GET", "/sub2/")
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("X-Served-By") != "pingap" {
		t.Fatalf("GET /sub2/ = %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, `<a href="./%3Cscript%3E.txt">&lt;script&gt;.txt</a>`) {
		t.Errorf("a name is not escaped:\n%s", body)
	}
	if strings.Contains(body, "out.html") {
		t.Errorf("a symlink out of the root is listed:\n%s", body)
	}
	// Directories first, then files by name; a symlink inside shows as
	// what it points to.
	order := []string{">../<", ">zdir/<", ">&lt;script&gt;.txt<", ">b.css<", ">in.html<"}
	last := -1
	for _, s := range order {
		i := strings.Index(body, s)
		if i <= last {
			t.Fatalf("%q missing or out of order in:\n%s", s, body)
		}
		last = i
	}
	if !strings.Contains(body, "<td>2024-05-06 07:08:09</td><td>1</td>") || !strings.Contains(body, ">zdir/</a></td><td>") {
		t.Errorf("sizes or times missing:\n%s", body)
	}
	if root := do(h, "GET", "/").Body.String(); strings.Contains(root, ">../<") || !strings.Contains(root, "<title>Index of /</title>") {
		t.Errorf("root listing:\n%s", root)
	}
	if head := do(h, "HEAD", "/sub2/"); head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("HEAD /sub2/ = %d %q %v", head.Code, head.Body, head.Header())
	}
	follow := serve(t, &pb.DirectoryPlugin{Path: root, Autoindex: true, FollowSymlinks: true})
	if b := do(follow, "GET", "/sub2/").Body.String(); !strings.Contains(b, ">out.html<") {
		t.Errorf("with follow_symlinks the outside link is not listed:\n%s", b)
	}
}

func TestRanges(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root})
	rec := do(h, "GET", "/digits.bin", "Range: bytes=2-5")
	if rec.Code != 206 || rec.Body.String() != "2345" || rec.Header().Get("Content-Range") != "bytes 2-5/10" {
		t.Fatalf("single range = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = do(h, "GET", "/digits.bin", "Range: bytes=0-1,-2")
	mt, params, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	if rec.Code != 206 || err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multi-range = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	mr := multipart.NewReader(rec.Body, params["boundary"])
	for _, want := range []struct{ cr, body string }{{"bytes 0-1/10", "01"}, {"bytes 8-9/10", "89"}} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Range") != want.cr || string(b) != want.body || p.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("part %v %q, want %s %q", p.Header, b, want.cr, want.body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more than two parts: %v", err)
	}
	if rec := do(h, "GET", "/digits.bin", "Range: bytes=20-30"); rec.Code != 416 {
		t.Errorf("unsatisfiable range = %d", rec.Code)
	}
	tag := etagOf(t, filepath.Join(root, "digits.bin"))
	if rec := do(h, "GET", "/digits.bin", "Range: bytes=0-0", "If-Range: "+tag); rec.Code != 206 {
		t.Errorf("If-Range with the current ETag = %d, want 206", rec.Code)
	}
	if rec := do(h, "GET", "/digits.bin", "Range: bytes=0-0", `If-Range: "old"`); rec.Code != 200 || rec.Body.String() != "0123456789" {
		t.Errorf("If-Range with an old ETag = %d, want the whole file", rec.Code)
	}
}

func TestConditional(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	h := serve(t, &pb.DirectoryPlugin{Path: root, MaxAge: durationpb.New(time.Hour)})
	tag := etagOf(t, filepath.Join(root, "style.css"))
	if want := fmt.Sprintf(`"%x-6"`, mtime.UnixNano()); tag != want {
		t.Fatalf("test setup: ETag %s, want %s", tag, want)
	}
	rec := do(h, "GET", "/style.css")
	if rec.Header().Get("Etag") != tag {
		t.Fatalf("ETag %q, want %q", rec.Header().Get("Etag"), tag)
	}
	tests := []struct {
		desc, header string
		want         int
	}{
		{"If-None-Match same", "If-None-Match: " + tag, 304},
		{"If-None-Match list", `If-None-Match: "x", ` + tag, 304},
		{"If-None-Match star", "If-None-Match: *", 304},
		{"If-None-Match other", `If-None-Match: "other"`, 200},
		{"If-Modified-Since same", "If-Modified-Since: " + mtime.Format(http.TimeFormat), 304},
		{"If-Modified-Since older", "If-Modified-Since: " + mtime.Add(-time.Hour).Format(http.TimeFormat), 200},
		{"If-Match other", `If-Match: "other"`, 412},
		{"If-Match same", "If-Match: " + tag, 200},
		{"If-Unmodified-Since older", "If-Unmodified-Since: " + mtime.Add(-time.Hour).Format(http.TimeFormat), 412},
	}
	for _, tt := range tests {
		rec := do(h, "GET", "/style.css", tt.header)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.desc, rec.Code, tt.want)
		}
		if tt.want == 304 && (rec.Body.Len() != 0 || rec.Header().Get("Etag") != tag || rec.Header().Get("Cache-Control") != "public, max-age=3600") {
			t.Errorf("%s: 304 with body %q, headers %v", tt.desc, rec.Body, rec.Header())
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	tests := []struct {
		desc   string
		cfg    *pb.DirectoryPlugin
		target string
		want   map[string]string
	}{
		{"no cache-control by default", &pb.DirectoryPlugin{}, "/style.css",
			map[string]string{"Cache-Control": "", "Content-Disposition": "", "Vary": ""}},
		{"max_age", &pb.DirectoryPlugin{MaxAge: durationpb.New(time.Hour)}, "/style.css",
			map[string]string{"Cache-Control": "public, max-age=3600"}},
		{"max_age zero", &pb.DirectoryPlugin{MaxAge: durationpb.New(0)}, "/style.css",
			map[string]string{"Cache-Control": "public, max-age=0"}},
		{"private max_age", &pb.DirectoryPlugin{MaxAge: durationpb.New(90 * time.Second), Private: true}, "/style.css",
			map[string]string{"Cache-Control": "private, max-age=90"}},
		{"private alone", &pb.DirectoryPlugin{Private: true}, "/style.css",
			map[string]string{"Cache-Control": "private"}},
		{"charset on css", &pb.DirectoryPlugin{Charset: "iso-8859-1"}, "/style.css",
			map[string]string{"Content-Type": "text/css; charset=iso-8859-1"}},
		{"charset on json", &pb.DirectoryPlugin{Charset: "utf-8"}, "/data.json",
			map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{"charset on javascript", &pb.DirectoryPlugin{Charset: "utf-8"}, "/app.js",
			map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"no charset on png", &pb.DirectoryPlugin{Charset: "utf-8"}, "/image.png",
			map[string]string{"Content-Type": "image/png"}},
		{"download", &pb.DirectoryPlugin{Download: true}, "/style.css",
			map[string]string{"Content-Disposition": "attachment; filename=style.css"}},
		{"download quoted", &pb.DirectoryPlugin{Download: true}, "/my%20file.css",
			map[string]string{"Content-Disposition": `attachment; filename="my file.css"`}},
		{"download of an index", &pb.DirectoryPlugin{Download: true}, "/sub/",
			map[string]string{"Content-Disposition": "attachment; filename=index.html"}},
		{"headers override", &pb.DirectoryPlugin{MaxAge: durationpb.New(time.Hour), Headers: []string{"Cache-Control:no-cache", "X-A:1", "X-A:2"}}, "/style.css",
			map[string]string{"Cache-Control": "no-cache", "X-A": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Path = root
			rec := do(serve(t, tt.cfg), "GET", tt.target)
			if rec.Code != 200 {
				t.Fatalf("GET %s = %d", tt.target, rec.Code)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.desc == "headers override" && len(rec.Header()["X-A"]) != 2 {
				t.Errorf("X-A = %q, want both values", rec.Header()["X-A"])
			}
		})
	}
}

func TestPrecompressed(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	on := serve(t, &pb.DirectoryPlugin{Path: root, Precompressed: true})
	off := serve(t, &pb.DirectoryPlugin{Path: root})
	tests := []struct {
		desc    string
		h       http.Handler
		target  string
		ae      string
		enc     string // "" for the original
		body    string
		ctype   string
		varyToo bool
	}{
		{"br preferred on a tie", on, "/app.js", "gzip, deflate, br", "br", "BR BYTES", "text/javascript; charset=utf-8", true},
		{"br refused with q=0", on, "/app.js", "br;q=0, gzip", "gzip", "GZIP BYTES!", "text/javascript; charset=utf-8", true},
		{"higher q wins", on, "/app.js", "br;q=0.4, gzip;q=0.5", "gzip", "GZIP BYTES!", "text/javascript; charset=utf-8", true},
		{"x-gzip", on, "/app.js", "x-gzip", "gzip", "GZIP BYTES!", "text/javascript; charset=utf-8", true},
		{"star", on, "/app.js", "*", "br", "BR BYTES", "text/javascript; charset=utf-8", true},
		{"star with a refusal", on, "/app.js", "*, br;q=0", "gzip", "GZIP BYTES!", "text/javascript; charset=utf-8", true},
		{"everything refused", on, "/app.js", "br;q=0, gzip;q=0", "", "console.log('plain')", "text/javascript; charset=utf-8", true},
		{"no Accept-Encoding", on, "/app.js", "", "", "console.log('plain')", "text/javascript; charset=utf-8", true},
		{"identity only", on, "/app.js", "identity", "", "console.log('plain')", "text/javascript; charset=utf-8", true},
		{"missing br sibling", on, "/only.css", "br", "", "only{}", "text/css; charset=utf-8", true},
		{"missing br sibling, gzip next", on, "/only.css", "br, gzip", "gzip", "ONLY GZ", "text/css; charset=utf-8", true},
		{"sibling is a directory", on, "/dirsib.js", "gzip", "", "dirsib", "text/javascript; charset=utf-8", true},
		{"not compressible", on, "/image.png", "gzip", "", "\x89PNG", "image/png", false},
		{"off", off, "/app.js", "gzip, br", "", "console.log('plain')", "text/javascript; charset=utf-8", false},
	}
	plainTag := etagOf(t, filepath.Join(root, "app.js"))
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tt.ae != "" {
				hdr = append(hdr, "Accept-Encoding: "+tt.ae)
			}
			rec := do(tt.h, "GET", tt.target, hdr...)
			got := rec.Header()
			if rec.Code != 200 || rec.Body.String() != tt.body || got.Get("Content-Encoding") != tt.enc || got.Get("Content-Type") != tt.ctype {
				t.Fatalf("= %d %q encoding %q type %q, want %q %q %q", rec.Code, rec.Body, got.Get("Content-Encoding"), got.Get("Content-Type"),
					tt.body, tt.enc, tt.ctype)
			}
			if vary := got.Get("Vary") == "Accept-Encoding"; vary != tt.varyToo {
				t.Errorf("Vary = %q", got.Get("Vary"))
			}
			if tt.enc != "" && (got.Get("Etag") == plainTag || got.Get("Content-Length") != fmt.Sprint(len(tt.body))) {
				t.Errorf("compressed variant has ETag %s (plain %s), Content-Length %s", got.Get("Etag"), plainTag, got.Get("Content-Length"))
			}
		})
	}
	t.Run("range of the variant", func(t *testing.T) {
		t.Parallel()
		rec := do(on, "GET", "/app.js", "Accept-Encoding: gzip", "Range: bytes=0-1")
		if rec.Code != 206 || rec.Body.String() != "GZ" || rec.Header().Get("Content-Length") != "2" ||
			rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Range") != "bytes 0-1/11" {
			t.Errorf("= %d %q %v", rec.Code, rec.Body, rec.Header())
		}
		if rec := do(on, "GET", "/app.js", "Accept-Encoding: gzip", "Range: bytes=50-"); rec.Code != 416 || rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("unsatisfiable = %d %v", rec.Code, rec.Header())
		}
		if rec := do(on, "HEAD", "/app.js", "Accept-Encoding: gzip"); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "11" {
			t.Errorf("HEAD = %d %q %v", rec.Code, rec.Body, rec.Header())
		}
	})
	t.Run("304 for the variant", func(t *testing.T) {
		t.Parallel()
		tag := do(on, "GET", "/app.js", "Accept-Encoding: gzip").Header().Get("Etag")
		if rec := do(on, "GET", "/app.js", "Accept-Encoding: gzip", "If-None-Match: "+tag); rec.Code != 304 {
			t.Errorf("If-None-Match of the gzip variant = %d", rec.Code)
		}
		if rec := do(on, "GET", "/app.js", "Accept-Encoding: br", "If-None-Match: "+tag); rec.Code != 200 {
			t.Errorf("If-None-Match of the gzip variant, br asked = %d", rec.Code)
		}
	})
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	root, _ := site(t)
	tests := []struct {
		desc string
		cfg  *pb.DirectoryPlugin
		want string
	}{
		{"path required", &pb.DirectoryPlugin{}, "path: required"},
		{"missing directory", &pb.DirectoryPlugin{Path: filepath.Join(root, "nope")}, "path: stat "},
		{"not a directory", &pb.DirectoryPlugin{Path: filepath.Join(root, "hello.html")}, "is not a directory"},
		{"bad index", &pb.DirectoryPlugin{Path: root, Index: []string{"a/b"}}, "index[0]: "},
		{"bad charset", &pb.DirectoryPlugin{Path: root, Charset: "utf 8"}, "charset: "},
		{"bad header", &pb.DirectoryPlugin{Path: root, Headers: []string{"nope"}}, "headers[0]: "},
		{"negative max_age", &pb.DirectoryPlugin{Path: root, MaxAge: durationpb.New(-time.Second)}, "max_age: "},
	}
	r := plugin.NewRegistry()
	Register(r)
	for _, tt := range tests {
		_, err := r.Build(plugin.BuildContext{}, "static", &pb.Plugin{Category: Category, Config: &pb.Plugin_Directory{Directory: tt.cfg}})
		if err == nil || !strings.HasPrefix(err.Error(), "plugins.static: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.desc, err, tt.want)
		}
	}
}

// The directory is opened per request: replacing it takes effect at once.
func TestDirectoryReplaced(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	live := filepath.Join(base, "live")
	tree(t, filepath.Join(base, "v1"), map[string]string{"v.txt": "one"})
	tree(t, filepath.Join(base, "v2"), map[string]string{"v.txt": "two"})
	symlink(t, "v1", live)
	h := serve(t, &pb.DirectoryPlugin{Path: live})
	if b := do(h, "GET", "/v.txt").Body.String(); b != "one" {
		t.Fatalf("before: %q", b)
	}
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	symlink(t, "v2", live)
	if b := do(h, "GET", "/v.txt").Body.String(); b != "two" {
		t.Fatalf("after the swap: %q", b)
	}
}
