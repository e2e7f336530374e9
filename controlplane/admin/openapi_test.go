package admin

import (
	"bufio"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// openAPIRoutes reads the "METHOD /path" pairs of an OpenAPI document's
// paths section: paths are the keys indented by two spaces, methods the
// keys indented by four.
func openAPIRoutes(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	var out []string
	inPaths, cur := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		switch {
		case line == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			inPaths = line == "paths:"
		case !inPaths:
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			cur = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			if m := strings.TrimSuffix(strings.TrimSpace(line), ":"); slices.Contains(methods, m) {
				out = append(out, strings.ToUpper(m)+" "+cur)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesRoutes fails when the API serves a route that
// api/openapi.yaml does not describe, or the reverse.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	documented := openAPIRoutes(t, filepath.Join("..", "..", "api", "openapi.yaml"))
	api := newAPI(t, newMemStore(), Options{})
	served := api.Routes()
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in api/openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is in api/openapi.yaml but not served", r)
		}
	}
	// Every documented route reaches its own handler through the mux.
	for _, r := range documented {
		method, path, _ := strings.Cut(r, " ")
		concrete := strings.NewReplacer("{cluster}", "prod", "{version}", "1", "{node}", "n1").Replace(path)
		if _, pattern := api.mux.Handler(httptest.NewRequest(method, concrete, nil)); pattern != r {
			t.Errorf("%s %s is routed to %q", method, concrete, pattern)
		}
	}
}

// TestRoutesOnlyThroughHandle keeps Routes complete: handle must be the
// only code registering on the mux.
func TestRoutesOnlyThroughHandle(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		count += strings.Count(string(data), "mux.Handle(") + strings.Count(string(data), "mux.HandleFunc(")
	}
	if count != 1 {
		t.Errorf("the mux is registered on in %d places; register routes in routes() only, so the OpenAPI test sees them", count)
	}
}
