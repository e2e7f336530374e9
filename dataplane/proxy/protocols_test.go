package proxy

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// protoBackend answers with the protocol it was reached over and sets a
// trailer.
func protoBackend(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Proto-Trailer")
	w.Header().Set("X-Proto", r.Proto)
	_, _ = io.WriteString(w, r.Proto)
	w.Header().Set("X-Proto-Trailer", "done")
}

func TestUpstreamProtocols(t *testing.T) {
	t.Parallel()
	h2c := httptest.NewUnstartedServer(http.HandlerFunc(protoBackend))
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	t.Cleanup(h2c.Close)

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(protoBackend))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}))
	no := false

	tests := []struct {
		desc  string
		addr  string
		up    *pb.Upstream
		proto string
		code  int
	}{
		{"h2c", h2c.Listener.Addr().String(), &pb.Upstream{Alpn: "h2c"}, "HTTP/2.0", 200},
		{"tls h1 with CA", tlsSrv.Listener.Addr().String(), &pb.Upstream{Tls: true, CaCert: caPEM}, "HTTP/1.1", 200},
		{"h2 with CA", tlsSrv.Listener.Addr().String(), &pb.Upstream{Alpn: "h2", CaCert: caPEM}, "HTTP/2.0", 200},
		{"h2h1 without verification", tlsSrv.Listener.Addr().String(), &pb.Upstream{Alpn: "h2h1", VerifyCert: &no}, "HTTP/2.0", 200},
		{"tls verified against system roots fails", tlsSrv.Listener.Addr().String(), &pb.Upstream{Tls: true}, "", 502},
		{"wrong sni fails verification", tlsSrv.Listener.Addr().String(), &pb.Upstream{Sni: "other.test", CaCert: caPEM}, "", 502},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ps := proxyFor(t, tt.addr, &pb.Location{}, nil, tt.up)
			resp, err := http.Get(ps.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, b, tt.code)
			}
			if tt.code != 200 {
				return
			}
			if string(b) != tt.proto {
				t.Errorf("target reached over %q, want %q", b, tt.proto)
			}
			if got := resp.Trailer.Get("X-Proto-Trailer"); got != "done" {
				t.Errorf("trailer = %q, want done", got)
			}
		})
	}
}

// An HTTP/2 GET has no body: the target must see no Transfer-Encoding and
// no Content-Length.
func TestHTTP2RequestWithoutBody(t *testing.T) {
	t.Parallel()
	seenTE := make(chan string, 1)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenTE <- strings.Join(r.TransferEncoding, ",") + "|" + r.Header.Get("Content-Length")
	}))
	t.Cleanup(be.Close)
	ps := httptest.NewUnstartedServer(nil)
	t.Cleanup(ps.Close)
	inner := proxyFor(t, be.Listener.Addr().String(), &pb.Location{}, nil, nil)
	ps.Config.Handler = inner.Config.Handler
	ps.EnableHTTP2 = true
	ps.StartTLS()
	resp, err := ps.Client().Get(ps.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("client spoke %s, want HTTP/2", resp.Proto)
	}
	if got := <-seenTE; got != "|" {
		t.Fatalf("target saw Transfer-Encoding|Content-Length %q, want none", got)
	}
}
