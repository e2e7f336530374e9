package subfilter

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func build(t *testing.T, c *pb.SubFilterPlugin, h http.Handler) http.Handler {
	t.Helper()
	mw, err := New(plugin.BuildContext{}, "sf", &pb.Plugin{Category: Category, Config: &pb.Plugin_SubFilter{SubFilter: c}})
	if err != nil {
		t.Fatal(err)
	}
	return mw(h)
}

// chunked answers body in writes of the given sizes (the last repeats).
func chunked(body string, sizes []int, header ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		rest := []byte(body)
		for i := 0; len(rest) > 0; i++ {
			n := min(sizes[min(i, len(sizes)-1)], len(rest))
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
	})
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestFilter(t *testing.T) {
	t.Parallel()
	const html = "text/html; charset=utf-8"
	tests := []struct {
		desc    string
		filters []string
		body    string
		sizes   []int
		want    string
	}{
		{"literal across every boundary", []string{"subs_filter 'http://' 'https://' g"},
			`<a href="http://a">x</a><img src="http://b">`, []int{1}, `<a href="https://a">x</a><img src="https://b">`},
		{"literal split in two", []string{"subs_filter 'http://' 'https://' g"},
			`go to http://example.com now`, []int{9, 3}, `go to https://example.com now`},
		{"first only", []string{"subs_filter 'a' 'b'"}, "aaa aaa", []int{2}, "baa aaa"},
		{"global", []string{"subs_filter 'a' 'b' g"}, "aaa aaa", []int{2}, "bbb bbb"},
		{"case-insensitive", []string{"subs_filter 'hello' 'bye' gi"}, "Hello HELLO hello hElLo", []int{4}, "bye bye bye bye"},
		{"case-insensitive is literal", []string{"subs_filter 'a.c' 'X' gi"}, "abc A.C", []int{3}, "abc X"},
		{"regex with groups", []string{`subs_filter '(\d+) items' '$1 things' rg`}, "3 items, 42 items", []int{5}, "3 things, 42 things"},
		{"regex first only", []string{`subs_filter '[0-9]+' 'N' r`}, "a 12 b 345", []int{1}, "a N b 345"},
		{"regex ignoring case", []string{`subs_filter 'colou?r' 'hue' rig`}, "Color COLOUR", []int{3}, "hue hue"},
		{"rules in order", []string{"subs_filter 'cat' 'dog' g", "subs_filter 'dog' 'wolf'"}, "cat dog cat", []int{4}, "wolf dog dog"},
		{"empty replacement", []string{"subs_filter '<!-- x -->' ''"}, "a<!-- x -->b", []int{3}, "ab"},
		{"growing replacement seen once", []string{"subs_filter 'a' 'aa' g"}, "aba", []int{1}, "aabaa"},
		{"no match", []string{"subs_filter 'zzz' 'y' g"}, strings.Repeat("abc", 1000), []int{7}, strings.Repeat("abc", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h := build(t, &pb.SubFilterPlugin{Filters: tt.filters},
				chunked(tt.body, tt.sizes, "Content-Type", html, "Content-Length", strconv.Itoa(len(tt.body)), "ETag", `"v"`, "X-Other", "kept"))
			rec := get(h, "/page")
			if rec.Body.String() != tt.want {
				t.Errorf("body %q, want %q", rec.Body.String(), tt.want)
			}
			hd := rec.Header()
			if hd.Get("Content-Length") != "" || hd.Get("ETag") != `W/"v"` || hd.Get("X-Other") != "kept" || hd.Get("Content-Type") != html {
				t.Errorf("headers %v", hd)
			}
		})
	}
}

// Streaming gives the same body as filtering the whole body at once,
// however it is cut into writes.
func TestChunkingDoesNotMatter(t *testing.T) {
	t.Parallel()
	filters := []string{
		"subs_filter 'http://old.example' 'https://new.example' g",
		"subs_filter 'Title' 'Heading' i",
		`subs_filter 'id="(\w+)"' 'data-id="$1"' rg`,
		"subs_filter 'ab' 'ba' g",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"http://old.example/x", "TITLE", "title", `id="k9"`, "ab", "a", "b", " ", "<p>", "é", "http://old"}
	for round := range 200 {
		var b strings.Builder
		for range rng.IntN(60) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		body := b.String()
		want := wholeBody(t, filters, body)
		sizes := []int{1 + rng.IntN(5), 1 + rng.IntN(40), 1 + rng.IntN(3)}
		h := build(t, &pb.SubFilterPlugin{Filters: filters}, chunked(body, sizes, "Content-Type", "text/html"))
		if got := get(h, "/").Body.String(); got != want {
			t.Fatalf("round %d, writes %v:\nbody %q\ngot  %q\nwant %q", round, sizes, body, got, want)
		}
	}
}

// wholeBody applies the rules to the whole body, one after the other.
func wholeBody(t *testing.T, filters []string, body string) string {
	t.Helper()
	for _, f := range filters {
		r, err := config.ParseSubFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.Pattern == nil && r.Global:
			body = strings.ReplaceAll(body, r.From, r.To)
		case r.Pattern == nil:
			body = strings.Replace(body, r.From, r.To, 1)
		default:
			body = replaceRegex(r, body)
		}
	}
	return body
}

func replaceRegex(r config.SubFilterRule, body string) string {
	n := -1
	if !r.Global {
		n = 1
	}
	var out []byte
	last := 0
	for _, m := range r.Pattern.FindAllStringSubmatchIndex(body, n) {
		out = append(out, body[last:m[0]]...)
		if r.Regex {
			out = r.Pattern.ExpandString(out, r.To, body, m)
		} else {
			out = append(out, r.To...)
		}
		last = m[1]
	}
	return string(append(out, body[last:]...))
}

// A regex match is found across writes within RegexWindow of its start.
func TestRegexAcrossWrites(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 5000) + "<script>" + strings.Repeat("y", 2000) + "</script>" + strings.Repeat("z", 100)
	h := build(t, &pb.SubFilterPlugin{Filters: []string{`subs_filter '<script>[^<]*</script>' '' r`}},
		chunked(body, []int{1000}, "Content-Type", "text/html"))
	if got, want := get(h, "/").Body.String(), strings.Repeat("x", 5000)+strings.Repeat("z", 100); got != want {
		t.Errorf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestUntouched(t *testing.T) {
	t.Parallel()
	body := "<p>http://a</p>"
	tests := []struct {
		desc   string
		cfg    *pb.SubFilterPlugin
		path   string
		header []string
		status int
	}{
		{"other content type", &pb.SubFilterPlugin{}, "/", []string{"Content-Type", "application/json"}, 200},
		{"path not matched", &pb.SubFilterPlugin{Path: "^/docs/"}, "/blog/x", []string{"Content-Type", "text/html"}, 200},
		{"encoded", &pb.SubFilterPlugin{}, "/", []string{"Content-Type", "text/html", "Content-Encoding", "gzip"}, 200},
		{"partial content", &pb.SubFilterPlugin{}, "/", []string{"Content-Type", "text/html"}, 206},
		{"type not on a custom list", &pb.SubFilterPlugin{ContentTypes: []string{"text/css"}}, "/", []string{"Content-Type", "text/html"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Filters = []string{"subs_filter 'http://' 'https://' g"}
			h := build(t, tt.cfg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for i := 0; i+1 < len(tt.header); i += 2 {
					w.Header().Set(tt.header[i], tt.header[i+1])
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(body))
			}))
			rec := get(h, tt.path)
			if rec.Body.String() != body || rec.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("changed: %q %v", rec.Body.String(), rec.Header())
			}
		})
	}
	// And the filtered counterparts, to show the cases above are not
	// untouched by accident.
	for path, cfg := range map[string]*pb.SubFilterPlugin{
		"/docs/a": {Path: "^/docs/"},
		"/":       {ContentTypes: []string{"text/css", "text/html"}},
	} {
		cfg.Filters = []string{"subs_filter 'http://' 'https://' g"}
		rec := get(build(t, cfg, chunked(body, []int{3}, "Content-Type", "text/html")), path)
		if rec.Body.String() != "<p>https://a</p>" {
			t.Errorf("%s: %q", path, rec.Body.String())
		}
	}
}

func TestSniffedType(t *testing.T) {
	t.Parallel()
	body := "<!DOCTYPE html><p>http://a</p>"
	h := build(t, &pb.SubFilterPlugin{Filters: []string{"subs_filter 'http://' 'https://' g"}}, chunked(body, []int{100}))
	rec := get(h, "/")
	if rec.Body.String() != "<!DOCTYPE html><p>https://a</p>" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("%q %v", rec.Body.String(), rec.Header())
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	h := build(t, &pb.SubFilterPlugin{Filters: []string{"subs_filter 'a' 'b'"}}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/", nil))
	if rec.Header().Get("Content-Length") != "" || rec.Code != 200 {
		t.Errorf("HEAD: %d %v", rec.Code, rec.Header())
	}
}

// Flush passes what is not held back: the end of a possible match waits.
func TestFlush(t *testing.T) {
	t.Parallel()
	var seen []string
	var rec *httptest.ResponseRecorder
	h := build(t, &pb.SubFilterPlugin{Filters: []string{"subs_filter 'world' 'there' g"}}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("hello wor"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		seen = append(seen, rec.Body.String())
		_, _ = w.Write([]byte("ld!"))
	}))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed || len(seen) != 1 || seen[0] != "hello" || rec.Body.String() != "hello there!" {
		t.Errorf("flushed %v, seen %q, body %q", rec.Flushed, seen, rec.Body.String())
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []*pb.SubFilterPlugin{
		{},
		{Filters: []string{"subs_filter 'a'"}},
		{Filters: []string{"subs_filter 'a' 'b'"}, Path: "("},
		{Filters: []string{"subs_filter 'a' 'b'"}, ContentTypes: []string{"a b"}},
	} {
		if _, err := New(plugin.BuildContext{}, "sf", &pb.Plugin{Category: Category, Config: &pb.Plugin_SubFilter{SubFilter: c}}); err == nil {
			t.Errorf("%v: no error", c)
		}
	}
}
