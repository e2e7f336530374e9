package mock

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestMock(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		desc       string
		cfg        *pb.MockPlugin
		method     string
		path       string
		wantStatus int
		wantBody   string
		wantHeader string
	}{
		{"defaults", &pb.MockPlugin{}, "GET", "/", 200, "", ""},
		{"status body header", &pb.MockPlugin{Status: 503, Data: "down", Headers: []string{"Retry-After: 120"}}, "GET", "/x", 503, "down", "120"},
		{"other path passes on", &pb.MockPlugin{Path: "/only", Data: "mocked"}, "GET", "/else", 299, "", ""},
		{"its path is answered", &pb.MockPlugin{Path: "/only", Data: "mocked"}, "GET", "/only", 200, "mocked", ""},
		{"HEAD has no body", &pb.MockPlugin{Data: "mocked"}, "HEAD", "/", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			mw, err := New(plugin.BuildContext{}, "m", &pb.Plugin{Category: Category, Config: &pb.Plugin_Mock{Mock: tt.cfg}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(next).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if tt.wantHeader != "" && rec.Header().Get("Retry-After") != tt.wantHeader {
				t.Fatalf("Retry-After = %q", rec.Header().Get("Retry-After"))
			}
		})
	}
}

func TestMockDelayAndCancel(t *testing.T) {
	t.Parallel()
	mw, err := New(plugin.BuildContext{}, "m", &pb.Plugin{Category: Category,
		Config: &pb.Plugin_Mock{Mock: &pb.MockPlugin{Delay: durationpb.New(time.Hour), Data: "too late"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		mw(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		done <- len(rec.Body.String())
	}()
	cancel()
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("a cancelled request was answered with %d body bytes", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled request kept waiting for the mock's delay")
	}
}

func TestMockBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []*pb.MockPlugin{{Status: 42}, {Headers: []string{"no colon"}}} {
		if _, err := New(plugin.BuildContext{}, "m", &pb.Plugin{Category: Category, Config: &pb.Plugin_Mock{Mock: cfg}}); err == nil {
			t.Errorf("config %v built", cfg)
		}
	}
}
