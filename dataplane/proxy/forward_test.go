package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/upstream"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testbin"
)

// seen is what the test backend reports about the request it received.
type seen struct {
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Host   string      `json:"host"`
	Header http.Header `json:"header"`
	Body   int         `json:"body"`
}

func backend(t *testing.T) *httptest.Server {
	return backendWith(t, nil)
}

// backendWith's /stream sends one event, then waits for release before the
// next two.
func backendWith(t *testing.T, release chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 0; i < 3; i++ {
				_, _ = io.WriteString(w, "data: tick\n\n")
				w.(http.Flusher).Flush()
				if i == 0 && release != nil {
					select {
					case <-release:
					case <-time.After(10 * time.Second):
						return // the proxy buffered: the test fails on its own deadline
					}
				}
			}
			return
		case "/trailer":
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "abc")
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Connection", "X-Internal")
		w.Header().Set("X-Internal", "hop")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Header: r.Header, Body: int(n)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// proxyFor builds a one-location server in front of addr, or of the
// targets upCfg lists.
func proxyFor(t testing.TB, addr string, loc *pb.Location, trusted []string, upCfg *pb.Upstream) *httptest.Server {
	return proxyWith(t, addr, loc, trusted, upCfg, &pb.Server{})
}

// proxyForServer is proxyFor with server settings.
func proxyForServer(t testing.TB, addr string, loc *pb.Location, srvCfg *pb.Server) *httptest.Server {
	return proxyWith(t, addr, loc, nil, nil, srvCfg)
}

func proxyWith(t testing.TB, addr string, loc *pb.Location, trusted []string, upCfg *pb.Upstream, srvCfg *pb.Server) *httptest.Server {
	t.Helper()
	if upCfg == nil {
		upCfg = &pb.Upstream{}
	}
	if len(upCfg.Addrs) == 0 {
		upCfg.Addrs = []string{addr}
	}
	up, err := upstream.New("up", upCfg, upstream.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	tp, err := ParseTrustedProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	loc.Upstream = "up"
	l, err := NewLocation("loc", loc, up, LocationOptions{Trusted: tp})
	if err != nil {
		t.Fatal(err)
	}
	srvCfg.Locations = []string{"loc"}
	srv, err := NewServer("web", srvCfg,
		map[string]*Location{"loc": l}, map[string]*pb.Location{"loc": loc})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(srv)
	t.Cleanup(ps.Close)
	return ps
}

func getSeen(t *testing.T, resp *http.Response) seen {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var s seen
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestForwardHeadersAndRewrite(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{
		Path:               "/api",
		Rewrite:            "^/api/(.*)$ /v2/$1",
		ProxySetHeaders:    []string{"X-Env:prod", "X-Host:$host"},
		ProxyAddHeaders:    []string{"X-Via:pingap", "X-Client:$remote_addr"},
		ProxyRemoveHeaders: []string{"X-Debug"},
	}, nil, nil)
	req, _ := http.NewRequest("GET", ps.URL+"/api/users?id=7&x=%2F", nil)
	req.Host = "Shop.Example.com"
	req.Header.Set("X-Debug", "1")
	req.Header.Set("X-Env", "dev")
	req.Header.Set("X-Via", "client")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Internal") != "" {
		t.Errorf("hop-by-hop response header leaked: %v", resp.Header)
	}
	s := getSeen(t, resp)
	checks := map[string]string{
		"path":              s.Path,
		"query":             s.Query,
		"host":              s.Host,
		"X-Env":             s.Header.Get("X-Env"),
		"X-Host":            s.Header.Get("X-Host"),
		"X-Via":             strings.Join(s.Header.Values("X-Via"), ","),
		"X-Client":          s.Header.Get("X-Client"),
		"X-Debug":           s.Header.Get("X-Debug"),
		"X-Hop":             s.Header.Get("X-Hop"),
		"X-Forwarded-For":   s.Header.Get("X-Forwarded-For"),
		"X-Real-Ip":         s.Header.Get("X-Real-Ip"),
		"X-Forwarded-Proto": s.Header.Get("X-Forwarded-Proto"),
		"X-Forwarded-Host":  s.Header.Get("X-Forwarded-Host"),
	}
	want := map[string]string{
		"path": "/v2/users", "query": "id=7&x=%2F", "host": "Shop.Example.com",
		"X-Env": "prod", "X-Host": "shop.example.com", "X-Via": "client,pingap", "X-Client": "127.0.0.1",
		"X-Debug": "", "X-Hop": "", "X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1",
		"X-Forwarded-Proto": "http", "X-Forwarded-Host": "Shop.Example.com",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}
}

// A proxy_add_headers value appended to a header that proxy_set_headers
// (or the proxy itself) set leaves the other set headers alone.
func TestForwardSetThenAdd(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{
		ProxySetHeaders: []string{"X-One:1", "X-Two:2"},
		ProxyAddHeaders: []string{"X-One:more", "X-Real-Ip:more"},
	}, nil, nil)
	resp, err := http.Get(ps.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	s := getSeen(t, resp)
	for name, want := range map[string]string{
		"X-One": "1,more", "X-Two": "2", "X-Real-Ip": "127.0.0.1,more", "X-Forwarded-Proto": "http",
	} {
		if got := strings.Join(s.Header.Values(name), ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestForwardTrustedProxy(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{}, []string{"127.0.0.0/8"}, nil)
	req, _ := http.NewRequest("GET", ps.URL+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "public.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := getSeen(t, resp)
	if got := s.Header.Get("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if got := s.Header.Get("X-Real-Ip"); got != "203.0.113.9" {
		t.Errorf("X-Real-Ip = %q", got)
	}
	if s.Header.Get("X-Forwarded-Proto") != "https" || s.Header.Get("X-Forwarded-Host") != "public.example" {
		t.Errorf("trusted forwarded headers replaced: %v", s.Header)
	}
}

func TestForwardBodyLimit(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{ClientMaxBodySize: 1024}, nil, nil)
	// Declared length over the limit.
	resp, err := http.Post(ps.URL+"/", "text/plain", strings.NewReader(strings.Repeat("x", 2000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("declared oversize: status %d, want 413", resp.StatusCode)
	}
	// Chunked, no length: cut off while streaming.
	resp, err = http.Post(ps.URL+"/", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("x", 4000))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked oversize: status %d, want 413", resp.StatusCode)
	}
	// Within the limit passes with its body.
	resp, err = http.Post(ps.URL+"/", "text/plain", strings.NewReader(strings.Repeat("x", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	if s := getSeen(t, resp); s.Body != 1000 {
		t.Errorf("backend saw %d bytes, want 1000", s.Body)
	}
}

func TestForwardErrors(t *testing.T) {
	t.Parallel()
	// A port with nothing listening.
	ps := proxyFor(t, testbin.FreeAddr(t), &pb.Location{}, nil, nil)
	resp, err := http.Get(ps.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(body) != "bad gateway\n" {
		t.Errorf("dead target: %d %q, want 502 \"bad gateway\\n\"", resp.StatusCode, body)
	}

	be := backend(t)
	ps = proxyFor(t, be.Listener.Addr().String(), &pb.Location{}, nil,
		&pb.Upstream{ReadTimeout: durationpb.New(200 * time.Millisecond)})
	resp, err = http.Get(ps.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 504 || string(body) != "gateway timeout\n" {
		t.Errorf("slow target: %d %q, want 504", resp.StatusCode, body)
	}
}

func TestForwardStreamsAndTrailers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	be := backendWith(t, release)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{}, nil, nil)
	resp, err := http.Get(ps.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	// The backend holds the rest of the stream until the first event has
	// reached the client, so a buffering proxy deadlocks here and the read
	// fails on the backend's deadline.
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: tick\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(release)
	if rest, _ := io.ReadAll(br); strings.Count(string(rest), "data: tick") != 2 {
		t.Fatalf("rest of stream: %q", rest)
	}
	resp.Body.Close()

	resp, err = http.Get(ps.URL + "/trailer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Fatalf("trailer: body %q trailer %v", b, resp.Trailer)
	}
}

func TestNoRoute(t *testing.T) {
	t.Parallel()
	be := backend(t)
	ps := proxyFor(t, be.Listener.Addr().String(), &pb.Location{Host: "only.example"}, nil, nil)
	resp, err := http.Get(ps.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(b) != "not found\n" {
		t.Fatalf("no route: %d %q", resp.StatusCode, b)
	}
}
