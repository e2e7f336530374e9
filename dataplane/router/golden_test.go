package router

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// goldenSets are route sets whose compiled tables are compared with
// testdata/NAME.golden. Run `go test -run Golden -update` to rewrite them.
var goldenSets = map[string][]Entry[string]{
	"empty": nil,
	"basic": {
		e("api", "a.com", "/api"),
		e("login", "a.com", "=/login"),
		e("static", "a.com", `~\.(css|js)$`),
		e("default", "", ""),
	},
	"hosts": {
		e("exact", "a.com", "/"),
		e("sub", "*.a.com", "/"),
		e("deep", "*.b.a.com", "/"),
		e("regex", `~^api[0-9]+\.`, "/"),
		e("list", "c.com, *.c.com, ~^www\\.", "/list"),
		e("any", "", "/"),
	},
	"weights": {
		ew("canary", "", "/api", 10),
		ew("zero", "a.com", "/", 0),
		ew("negative", "", "/", -1),
		e("exact", "a.com", "=/x"),
		e("prefix", "a.com", "/x"),
		e("fallback", "", ""),
	},
	"fallthrough": {
		e("a-only-x", "a.com", "/x"),
		e("wild-y", "*.com", "/y"),
		e("regex-z", "~com$", "=/z"),
		e("any-root", "", "/"),
		e("b", "b.com", "/b"),
	},
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, entries := range goldenSets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := New(entries)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got := r.String()
			if r.String() != got {
				t.Fatal("String is not stable between calls")
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (run with -update to rewrite it)\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
