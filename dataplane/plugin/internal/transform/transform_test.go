package transform

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPasses(t *testing.T) {
	t.Parallel()
	req := func(method string, header ...string) *http.Request {
		r := httptest.NewRequest(method, "/", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	for _, tt := range []struct {
		desc string
		r    *http.Request
		want bool
	}{
		{"plain GET", req("GET"), false},
		{"CONNECT", req("CONNECT"), true},
		{"WebSocket", req("GET", "Connection", "Upgrade", "Upgrade", "websocket"), true},
		{"gRPC", req("POST", "Content-Type", "application/grpc"), true},
		{"gRPC, another case and a suffix", req("POST", "Content-Type", "Application/GRPC+proto"), true},
		{"JSON", req("POST", "Content-Type", "application/json"), false},
	} {
		if got := Passes(tt.r); got != tt.want {
			t.Errorf("%s: Passes = %v, want %v", tt.desc, got, tt.want)
		}
	}
}

func TestChangeable(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{200: true, 404: true, 500: true, 204: false, 206: false, 304: false} {
		if got := Changeable(code); got != want {
			t.Errorf("Changeable(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestEncoding(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "identity": "", " Identity ": "", "gzip": "gzip", " BR ": "br"} {
		h := http.Header{}
		if in != "" {
			h.Set("Content-Encoding", in)
		}
		if got := Encoding(h); got != want {
			t.Errorf("Encoding(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentType(t *testing.T) {
	t.Parallel()
	html := []byte("<!DOCTYPE html><p>hi</p>")
	for _, tt := range []struct {
		desc        string
		header      http.Header
		first       []byte
		want, field string
	}{
		{"declared", http.Header{"Content-Type": {"text/css"}}, html, "text/css", "text/css"},
		{"sniffed and set", http.Header{}, html, "text/html; charset=utf-8", "text/html; charset=utf-8"},
		{"no body to sniff", http.Header{}, nil, "", ""},
		{"present but empty: not sniffed", http.Header{"Content-Type": {}}, html, "", ""},
	} {
		if got := ContentType(tt.header, tt.first); got != tt.want || tt.header.Get("Content-Type") != tt.field {
			t.Errorf("%s: ContentType = %q, field %q; want %q, %q", tt.desc, got, tt.header.Get("Content-Type"), tt.want, tt.field)
		}
	}
}

func TestBodyChanged(t *testing.T) {
	t.Parallel()
	for etag, want := range map[string]string{`"v1"`: `W/"v1"`, `W/"v1"`: `W/"v1"`, "": ""} {
		h := http.Header{"Content-Length": {"10"}, "Accept-Ranges": {"bytes"}}
		if etag != "" {
			h.Set("ETag", etag)
		}
		BodyChanged(h)
		if h.Get("ETag") != want || h.Get("Content-Length") != "" || h.Get("Accept-Ranges") != "bytes" {
			t.Errorf("ETag %q: headers %v, want ETag %q, no Content-Length, Accept-Ranges kept", etag, h, want)
		}
	}
}
