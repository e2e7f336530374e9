package directory

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// discard is a ResponseWriter that keeps headers and drops the body, so a
// benchmark measures the plugin, not a recorder's buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) reset()                      { clear(d.h) }
func benchHandler(b *testing.B, c *pb.DirectoryPlugin) http.Handler {
	b.Helper()
	mw, err := New(plugin.BuildContext{}, "static", &pb.Plugin{Category: Category, Config: &pb.Plugin_Directory{Directory: c}})
	if err != nil {
		b.Fatal(err)
	}
	return mw(http.NotFoundHandler())
}

// BenchmarkServe measures one request for a small file: opening the root,
// resolving the name, and ServeContent (whole file, precompressed variant,
// and a 304).
func BenchmarkServe(b *testing.B) {
	root := b.TempDir()
	tree(b, root, map[string]string{"app.js": "console.log('plain')", "app.js.gz": "GZIP BYTES!", "a/b/c/index.html": "deep"})
	for _, bc := range []struct {
		name, target string
		cfg          *pb.DirectoryPlugin
		header       http.Header
	}{
		{"file", "/app.js", &pb.DirectoryPlugin{Path: root}, nil},
		{"file-follow", "/app.js", &pb.DirectoryPlugin{Path: root, FollowSymlinks: true}, nil},
		{"deep-index", "/a/b/c/", &pb.DirectoryPlugin{Path: root}, nil},
		{"precompressed", "/app.js", &pb.DirectoryPlugin{Path: root, Precompressed: true},
			http.Header{"Accept-Encoding": {"gzip, deflate, br"}}},
		{"not-modified", "/app.js", &pb.DirectoryPlugin{Path: root},
			http.Header{"If-None-Match": {etagOf(b, root+"/app.js")}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchHandler(b, bc.cfg)
			r := httptest.NewRequest("GET", bc.target, nil)
			r.Header = bc.header
			if r.Header == nil {
				r.Header = http.Header{}
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
		})
	}
}
