package cache

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestHeadFromGetEntry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		fixed(200, r.Method+" body", "Cache-Control: max-age=60")(w, r)
	})
	// A HEAD miss is forwarded as HEAD and not stored.
	f.want(f.do("HEAD", "/h"), 200, LabelMiss, "HEAD body", 1)
	f.want(f.do("GET", "/h"), 200, LabelMiss, "GET body", 2)
	rec := f.do("HEAD", "/h")
	f.want(rec, 200, LabelHit, "", 2)
	if rec.Header().Get("Content-Length") != "8" {
		t.Errorf("HEAD header %v", rec.Header())
	}
}

func TestLargeBodyStreamsAndIsNotStored(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("z", 4096)
	f := newFixture(t, &pb.CachePlugin{MaxFileSize: 1024}, fixed(200, big, "Cache-Control: max-age=60"))
	// Too large by Content-Length: known before the body.
	f.want(f.do("GET", "/big"), 200, LabelPass, big, 1)
	f.want(f.do("GET", "/big"), 200, LabelPass, big, 2)

	// No Content-Length: the body streams (each flush reaches the client
	// before the upstream goes on) and is dropped when it grows too large.
	next := make(chan struct{})
	f = newFixture(t, &pb.CachePlugin{MaxFileSize: 1024}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		for i := range 4 {
			_, _ = io.WriteString(w, strings.Repeat(string(rune('a'+i)), 700)+"\n")
			w.(http.Flusher).Flush()
			<-next
		}
	})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	for round, want := range []string{LabelMiss, LabelMiss} {
		resp, err := http.Get(srv.URL + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get(HeaderXCache) != want {
			t.Fatalf("round %d: X-Cache %q", round, resp.Header.Get(HeaderXCache))
		}
		br := bufio.NewReader(resp.Body)
		for i := range 4 {
			line, err := br.ReadString('\n')
			if err != nil || len(line) != 701 || line[0] != byte('a'+i) {
				t.Fatalf("round %d chunk %d: %q %v", round, i, line, err)
			}
			next <- struct{}{} // the chunk arrived while the upstream waited
		}
		_ = resp.Body.Close()
	}
	if s := f.cache.Stats(); s.Entries != 0 || f.up.calls.Load() != 2 {
		t.Errorf("stats %+v, %d upstream requests", s, f.up.calls.Load())
	}
}

func TestTruncatedBodyNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &pb.CachePlugin{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "short")
	})
	f.want(f.do("GET", "/t"), 200, LabelMiss, "short", 1)
	f.want(f.do("GET", "/t"), 200, LabelMiss, "short", 2)
	if s := f.cache.Stats(); s.Entries != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A fill aborted by the upstream (the proxy panics with ErrAbortHandler
// when the upstream body fails) stores nothing and releases its waiters.
func TestAbortedFillReleasesWaiters(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var seen atomic.Int64
	f := newFixture(t, &pb.CachePlugin{Lock: dur(time.Minute)}, func(w http.ResponseWriter, r *http.Request) {
		first := seen.Add(1) == 1
		if first {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		if first {
			_, _ = io.WriteString(w, "part")
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "whole")
	})
	aborted := make(chan any)
	go func() {
		defer func() { aborted <- recover() }()
		f.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ab", nil))
	}()
	for f.up.calls.Load() != 1 { // the first request leads the fill
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/ab", nil))
		waiter <- rec
	}()
	for f.cache.Stats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if p, _ := (<-aborted).(error); !errors.Is(p, http.ErrAbortHandler) {
		t.Fatalf("panic %v", p)
	}
	f.want(<-waiter, 200, LabelMiss, "whole", 2)
	f.want(f.do("GET", "/ab"), 200, LabelHit, "whole", 2)
}
