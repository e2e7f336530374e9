package h1client

import (
	"io"
	"net/http"
	"testing"
)

func TestKeepAliveReuse(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})
	c := New(Options{})
	for i := range 100 {
		resp, body := do(t, c, newRequest(t, "GET", srv.URL+"/x", nil))
		if resp.StatusCode != 200 || body != "hello /x" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	st := c.Stats()
	if st.Dials != 1 || st.Reuses != 99 || st.Idle != 1 {
		t.Fatalf("stats = %+v, want 1 dial, 99 reuses, 1 idle", st)
	}
}
