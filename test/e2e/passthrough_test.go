package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPassthrough checks that bodies and statuses cross the proxy intact:
// large responses and uploads byte for byte, the upstream's own error and
// no-content statuses, HEAD.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "p", 1)
	d := newDataplane(t)
	listen := freeAddr(t)
	d.write(d.settings() + serverTOML("main", listen, "all") +
		"[locations.all]\npath = \"/\"\nupstream = \"up\"\n\n" + upstreamTOML("up", "", be.addrs[0]))
	d.start()
	base := "http://" + listen

	t.Run("large response", func(t *testing.T) {
		const n = 3_000_017
		res := get(t, d.client, base, "", fmt.Sprintf("/bytes/%d", n))
		if res.Code != http.StatusOK || len(res.Body) != n {
			t.Fatalf("got %d with %d bytes, want 200 with %d", res.Code, len(res.Body), n)
		}
		for i, c := range res.Body {
			if c != 'a'+byte(i%26) {
				t.Fatalf("byte %d is %q, want %q", i, c, 'a'+byte(i%26))
			}
		}
	})

	t.Run("upload echoed", func(t *testing.T) {
		for _, chunked := range []bool{false, true} {
			body := make([]byte, 2<<20)
			_, _ = rand.Read(body)
			r := req{method: "PUT", url: base + "/echo", body: bytes.NewReader(body), contentLength: int64(len(body)),
				header: http.Header{"Content-Type": {"application/x-e2e"}}}
			if chunked {
				r.contentLength = -1
			}
			res := mustSend(t, d.client, r)
			if res.Code != http.StatusOK || !bytes.Equal(res.Body, body) {
				t.Fatalf("chunked=%v: got %d with %d bytes (equal %v), want the %d bytes back", chunked, res.Code, len(res.Body), bytes.Equal(res.Body, body), len(body))
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/x-e2e" {
				t.Errorf("Content-Type %q, want application/x-e2e", ct)
			}
		}
	})

	t.Run("upstream statuses", func(t *testing.T) {
		for _, code := range []int{201, 204, 404, 418, 500, 502, 503} {
			res := get(t, d.client, base, "", "/status/"+strconv.Itoa(code))
			if res.Code != code || res.backend() != be.id(0) {
				t.Errorf("/status/%d: got %d from %q, want the backend's %d", code, res.Code, res.backend(), code)
			}
			if code == 204 && len(res.Body) != 0 {
				t.Errorf("204 with body %q", res.Body)
			}
			if code != 204 && res.echo(t).Path != "/status/"+strconv.Itoa(code) {
				t.Errorf("/status/%d: body %q is not the backend's", code, res.Body)
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		res := mustSend(t, d.client, req{method: "HEAD", url: base + "/bytes/1000"})
		if res.Code != http.StatusOK || len(res.Body) != 0 || res.Header.Get("Content-Length") != "1000" {
			t.Errorf("HEAD: %d, %d body bytes, Content-Length %q; want 200, none, 1000", res.Code, len(res.Body), res.Header.Get("Content-Length"))
		}
	})
}

// TestJSONConfig starts the data plane from the protojson form of a config.
func TestJSONConfig(t *testing.T) {
	t.Parallel()
	be := startBackend(t, "j", 1)
	d := newDataplane(t)
	d.config = filepath.Join(d.dir, "pingap.json")
	listen := freeAddr(t)
	d.write(fmt.Sprintf(`{
  "settings": {"name": "from-json", "adminAddr": %q, "gracePeriod": "5s"},
  "servers": {"main": {"addr": %q, "locations": ["all"]}},
  "locations": {"all": {"path": "/", "upstream": "up", "proxySetHeaders": ["X-Format:json"]}},
  "upstreams": {"up": {"addrs": [%q], "readTimeout": "2s"}}
}
`, d.admin, listen, be.addrs[0]))
	d.start()
	if st := d.status(); st.ConfigName != "from-json" {
		t.Errorf("config_name %q, want from-json", st.ConfigName)
	}
	res := get(t, d.client, "http://"+listen, "", "/j")
	if res.Code != http.StatusOK || res.backend() != be.id(0) || res.echo(t).Headers["X-Format"] != "json" {
		t.Fatalf("got %d from %q with X-Format %q, want 200 from %s with json", res.Code, res.backend(), res.echo(t).Headers["X-Format"], be.id(0))
	}
}
