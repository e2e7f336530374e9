package acceptencoding

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestAcceptEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		encodings string
		onlyOne   bool
		accept    []string // nil: no header
		want      string   // "": header removed
	}{
		{"intersection in configured order", "zstd, br, gzip", false, []string{"gzip, deflate, br"}, "br, gzip"},
		{"all accepted", "zstd, br, gzip", false, []string{"gzip, br, zstd"}, "zstd, br, gzip"},
		{"q=0 excluded", "zstd, br, gzip", false, []string{"gzip, br;q=0, zstd;q=0.5"}, "zstd, gzip"},
		{"star", "zstd, br, gzip", false, []string{"*"}, "zstd, br, gzip"},
		{"star with a refusal", "zstd, br, gzip", false, []string{"*, zstd;q=0"}, "br, gzip"},
		{"q-values do not reorder", "gzip, br", false, []string{"br;q=1, gzip;q=0.1"}, "gzip, br"},
		{"only one", "zstd, br, gzip", true, []string{"gzip, br"}, "br"},
		{"only one, all accepted", "br, gzip", true, []string{"gzip, br, zstd"}, "br"},
		{"none left", "zstd, br", false, []string{"gzip, deflate"}, ""},
		{"none left, only one", "br", true, []string{"gzip"}, ""},
		{"identity only", "gzip", false, []string{"identity"}, ""},
		{"no header", "gzip", false, nil, ""},
		{"case and x-gzip", "GZIP, br", false, []string{"X-GZip, BR"}, "gzip, br"},
		{"several lines", "zstd, br, gzip", false, []string{"gzip", "zstd"}, "zstd, gzip"},
		{"identity kept when listed", "br, identity", false, []string{"gzip"}, "identity"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "ae", &pb.Plugin{Category: Category, Config: &pb.Plugin_AcceptEncoding{
				AcceptEncoding: &pb.AcceptEncodingPlugin{Encodings: tt.encodings, OnlyOneEncoding: tt.onlyOne}}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var present bool
			h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, present = r.Header["Accept-Encoding"]
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.accept != nil {
				req.Header["Accept-Encoding"] = tt.accept
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if tt.want == "" {
				if present {
					t.Errorf("Accept-Encoding %q kept as %q, want it removed", tt.accept, got)
				}
				return
			}
			if strings.Join(got, "|") != tt.want {
				t.Errorf("Accept-Encoding %q -> %q, want %q", tt.accept, got, tt.want)
			}
		})
	}
}

func TestBuildError(t *testing.T) {
	t.Parallel()
	_, err := New(plugin.BuildContext{}, "ae", &pb.Plugin{Category: Category, Config: &pb.Plugin_AcceptEncoding{
		AcceptEncoding: &pb.AcceptEncodingPlugin{Encodings: "br;q=1"}}})
	if err == nil || !strings.HasPrefix(err.Error(), "encodings: ") {
		t.Errorf("error %v", err)
	}
}
