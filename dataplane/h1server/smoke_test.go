package h1server

import (
	"io"
	"net/http"
	"testing"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello, world!")
	})})
	for i := 0; i < 3; i++ {
		res, err := http.Get("http://" + addr + "/x?y=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != "hello, world!" || res.ContentLength != 13 {
			t.Fatalf("got %d %q %d", res.StatusCode, b, res.ContentLength)
		}
	}
}
