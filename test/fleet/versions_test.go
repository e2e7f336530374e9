package fleet

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestApplyIdempotentAndConflict: applying the content of the current
// version again makes no version (200, created false: GitOps pipelines
// re-apply freely), and an apply whose if_version is not the current
// version is refused with 409 and stores nothing.
func TestApplyIdempotentAndConflict(t *testing.T) {
	t.Parallel()
	cp := newControlPlane(t, "cp", t.TempDir(), "")
	cp.start()
	const cluster = "staging"
	be := startBackend(t, "blue")
	cfg := func(name string) string {
		return fleetConfig{name: name, upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"}}.String()
	}
	v1 := cp.mustApply(cluster, cfg("one"), "first")
	v2 := cp.mustApply(cluster, cfg("two"), "second")
	if v1 != 1 || v2 != 2 {
		t.Fatalf("first versions are %d and %d, want 1 and 2", v1, v2)
	}

	code, res, body := cp.apply(cluster, cfg("two"), url.Values{"author": {"gitops"}, "message": {"same again"}})
	if code != http.StatusOK || res.Created || uint64(res.Version.Version) != v2 {
		t.Errorf("identical apply: %d %s, want 200, created false, version %d", code, body, v2)
	}
	// The same content in the other encoding (JSON, as GET returns it) is
	// the same config too.
	var cur struct {
		Version versionInfo     `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	cp.getJSON("/api/v1/clusters/"+cluster+"/config", &cur)
	resp, err := cp.client.Post("http://"+cp.admin+"/api/v1/clusters/"+cluster+"/config", "application/json", bytes.NewReader(cur.Config))
	if err != nil {
		t.Fatal(err)
	}
	jsonBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(jsonBody), `"created": false`) {
		t.Errorf("identical apply as JSON: %d %s, want 200 created false", resp.StatusCode, jsonBody)
	}
	if got := len(cp.versions(cluster)); got != 2 {
		t.Errorf("after an identical apply the cluster has %d versions, want 2", got)
	}

	code, _, body = cp.apply(cluster, cfg("three"), url.Values{"if_version": {"1"}})
	if code != http.StatusConflict || !strings.Contains(body, "conflict") {
		t.Errorf("apply with stale if_version 1 (current %d): %d %s, want 409 conflict", v2, code, body)
	}
	if got := len(cp.versions(cluster)); got != 2 {
		t.Errorf("after a refused apply the cluster has %d versions, want 2", got)
	}
	cp.getJSON("/api/v1/clusters/"+cluster+"/config", &cur)
	if uint64(cur.Version.Version) != v2 {
		t.Errorf("current version after the conflict is %d, want %d", cur.Version.Version, v2)
	}

	// With the right if_version the same apply goes through.
	code, res, body = cp.apply(cluster, cfg("three"), url.Values{"if_version": {"2"}})
	if code != http.StatusCreated || uint64(res.Version.Version) != 3 || uint64(res.Version.Parent) != v2 {
		t.Errorf("apply with if_version 2: %d %s, want 201 version 3 with parent 2", code, body)
	}
}
