package forwardauth

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// authService is a real HTTP server playing the authentication service.
func authService(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			if r.Header.Get("X-Forwarded-Uri") != "/orders?id=1" || r.Header.Get("X-Forwarded-Method") != "POST" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("X-User", "alice")
			w.WriteHeader(http.StatusOK)
		case "Bearer slow":
			time.Sleep(time.Second)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "login required")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestForwardAuth(t *testing.T) {
	t.Parallel()
	auth := authService(t)
	mw, err := New(plugin.BuildContext{}, "fa", &pb.Plugin{Category: Category, Config: &pb.Plugin_ForwardAuth{ForwardAuth: &pb.ForwardAuthPlugin{
		Address: auth.URL + "/verify", AuthResponseHeaders: []string{"x-user"}, Timeout: durationpb.New(200 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	var forwarded *http.Request
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { forwarded = r; w.WriteHeader(299) }))
	tests := []struct {
		desc, token, forgedUser string
		want                    int
		wantUser, wantBody      string
	}{
		{"allowed, identity copied", "good", "", 299, "alice", ""},
		{"forged identity replaced", "good", "mallory", 299, "alice", ""},
		{"refused: the service's answer", "bad", "", 401, "", "login required"},
		{"service too slow", "slow", "", 503, "", "service unavailable"},
	}
	for _, tt := range tests {
		forwarded = nil
		req := httptest.NewRequest("POST", "/orders?id=1", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		if tt.forgedUser != "" {
			req.Header.Set("X-User", tt.forgedUser)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.desc, rec.Code, tt.want)
			continue
		}
		if tt.want == 299 && forwarded.Header.Get("X-User") != tt.wantUser {
			t.Errorf("%s: upstream saw X-User %q, want %q", tt.desc, forwarded.Header.Get("X-User"), tt.wantUser)
		}
		if tt.want != 299 && (forwarded != nil || rec.Body.String() != tt.wantBody) {
			t.Errorf("%s: body %q forwarded=%v", tt.desc, rec.Body.String(), forwarded != nil)
		}
		if tt.want == 401 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
			t.Errorf("%s: challenge not relayed: %v", tt.desc, rec.Header())
		}
	}
	for _, c := range []*pb.ForwardAuthPlugin{{}, {Address: "ftp://x"}, {Address: "http://a/", AuthResponseHeaders: []string{"bad name"}}} {
		if _, err := New(plugin.BuildContext{}, "fa", &pb.Plugin{Category: Category, Config: &pb.Plugin_ForwardAuth{ForwardAuth: c}}); err == nil {
			t.Errorf("config %v built", c)
		}
	}
}

// When its config is retired, the plugin closes its idle connections to the
// service instead of leaving them open until they time out.
func TestForwardAuthCleanupClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	var cleanups []func()
	mw, err := New(plugin.BuildContext{OnClose: func(fn func()) { cleanups = append(cleanups, fn) }}, "fa",
		&pb.Plugin{Category: Category, Config: &pb.Plugin_ForwardAuth{ForwardAuth: &pb.ForwardAuthPlugin{Address: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	select {
	case <-closed:
		t.Fatal("the connection to the service closed before cleanup; keep-alive is broken")
	case <-time.After(50 * time.Millisecond):
	}
	if len(cleanups) == 0 {
		t.Fatal("the plugin registered no cleanup")
	}
	for _, fn := range cleanups {
		fn()
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle connection to the service is still open after cleanup")
	}
}
