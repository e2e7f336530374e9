package plugin

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The edit runs once, before the headers go out, however they go out.
func TestOnHeaders(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc    string
		handler func(w http.ResponseWriter)
		code    int
	}{
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, http.StatusCreated},
		{"first Write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, http.StatusOK},
		{"Flush before any write", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			_, _ = w.Write([]byte("x"))
		}, http.StatusOK},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			edits := 0
			tt.handler(OnHeaders(rec, func(h http.Header) { edits++; h.Add("X-Edited", "yes") }))
			res := rec.Result()
			if res.StatusCode != tt.code || res.Header.Get("X-Edited") != "yes" || edits != 1 {
				t.Fatalf("status %d, X-Edited %q, %d edits; want %d, yes, 1", res.StatusCode, res.Header.Get("X-Edited"), edits, tt.code)
			}
		})
	}
}
