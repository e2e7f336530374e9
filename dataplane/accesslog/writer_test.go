package accesslog

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

// guard bounds every wait of these tests; it only turns a hang into a
// failure.
const guard = 20 * time.Second

// numbered returns a logger whose lines are the X-N header of the request,
// and a function that logs line n.
func numbered(t *testing.T, w *Writer) func(n int) {
	t.Helper()
	f, err := Compile("{>X-N}")
	if err != nil {
		t.Fatal(err)
	}
	l := w.Logger(f)
	rec := &observe.Record{}
	return func(n int) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-N", strconv.Itoa(n))
		l.Log(rec, r, http.Header{})
	}
}

// wantLines checks that out holds lines first..first+n-1, in order.
func wantLines(t *testing.T, out string, first, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(first+i) {
			t.Fatalf("line %d is %q, want %d", i, l, first+i)
		}
	}
}

// TestWriterOrderAndCloseDrains logs more lines than a batch holds with a
// flush interval that never elapses: Close writes them all, in order.
func TestWriterOrderAndCloseDrains(t *testing.T) {
	t.Parallel()
	var out syncbuf.Buffer
	reg := prometheus.NewRegistry()
	m := observe.NewMetrics(reg)
	w := NewWriter(nil, WriterOptions{Stdout: &out, FlushInterval: time.Hour, Written: m.AccessLogWritten(), Dropped: m.AccessLogDropped()})
	log := numbered(t, w)
	const n = 20000
	for i := range n {
		log(i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, out.String(), 0, n)
	if got := counter(t, reg, "pingap_access_log_lines_total"); got != n {
		t.Errorf("pingap_access_log_lines_total = %v, want %d", got, n)
	}
	if got := counter(t, reg, "pingap_access_log_dropped_total"); got != 0 || w.Dropped() != 0 {
		t.Errorf("dropped %v (%d), want 0", got, w.Dropped())
	}
}

// TestWriterFlushesPeriodically checks that a line is written without
// Close once the flush interval passed.
func TestWriterFlushesPeriodically(t *testing.T) {
	t.Parallel()
	var out syncbuf.Buffer
	w := NewWriter(nil, WriterOptions{Stdout: &out, FlushInterval: 10 * time.Millisecond})
	defer w.Close()
	numbered(t, w)(7)
	deadline := time.Now().Add(guard)
	for out.String() != "7\n" {
		if time.Now().After(deadline) {
			t.Fatalf("line not written after %s: %q", guard, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stalledWriter blocks every Write until release is closed, and tells
// when the first Write started.
type stalledWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	writing atomic.Bool // a Write is in progress
	out     syncbuf.Buffer
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	s.writing.Store(true)
	defer s.writing.Store(false)
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.out.Write(p)
}

// TestWriterFullQueueDrops stalls the output, fills the queue, and checks
// that many more lines are dropped and counted without blocking Log.
func TestWriterFullQueueDrops(t *testing.T) {
	t.Parallel()
	stall := &stalledWriter{entered: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	m := observe.NewMetrics(reg)
	const queue, extra = 64, 5000
	w := NewWriter(&pb.AccessLogOutput{QueueSize: queue}, WriterOptions{Stdout: stall, FlushInterval: time.Millisecond,
		Dropped: m.AccessLogDropped()})
	log := numbered(t, w)

	log(0) // taken from the queue, then written by the first flush, which stalls
	select {
	case <-stall.entered:
	case <-time.After(guard):
		t.Fatal("the writer never wrote")
	}
	for i := 1; i <= queue; i++ { // fills the queue exactly
		log(i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range extra {
			log(queue + 1 + i)
		}
	}()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatalf("Log blocked on a stalled output (%d dropped so far)", w.Dropped())
	}
	if !stall.writing.Load() {
		t.Fatal("the output is no longer stalled: the test proves nothing")
	}
	if got := w.Dropped(); got != extra {
		t.Errorf("Dropped() = %d, want %d", got, extra)
	}
	if got := counter(t, reg, "pingap_access_log_dropped_total"); got != extra {
		t.Errorf("pingap_access_log_dropped_total = %v, want %d", got, extra)
	}

	close(stall.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, stall.out.String(), 0, queue+1)
}

func TestWriterCloseTwiceAndLogAfterClose(t *testing.T) {
	t.Parallel()
	var out syncbuf.Buffer
	w := NewWriter(nil, WriterOptions{Stdout: &out})
	log := numbered(t, w)
	log(1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	log(2)
	if w.Dropped() != 1 {
		t.Errorf("Dropped() = %d after a line logged after Close, want 1", w.Dropped())
	}
	wantLines(t, out.String(), 1, 1)
}

// TestWriterRotation writes more than max_size to a file: lumberjack
// rotates it into a backup, and no line is lost.
func TestWriterRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "access.log")
	w := NewWriter(&pb.AccessLogOutput{Path: path, MaxSize: 1 << 20, MaxBackups: 5}, WriterOptions{FlushInterval: time.Hour})
	f, err := Compile("{>X-N} {>X-Pad}")
	if err != nil {
		t.Fatal(err)
	}
	l := w.Logger(f)
	pad := strings.Repeat("x", 1000)
	const n = 1500 // about 1.5 MB
	for i := range n {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-N", strconv.Itoa(i))
		r.Header.Set("X-Pad", pad)
		l.Log(&observe.Record{}, r, http.Header{})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "logs", "access-*.log"))
	if len(backups) == 0 {
		entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
		t.Fatalf("no backup file after writing 1.5 MB with max_size 1mb: %v", entries)
	}
	var all []byte
	for _, p := range append(backups, path) { // backups are older
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1<<20 {
			t.Errorf("%s holds %d bytes, over max_size", p, len(b))
		}
		all = append(all, b...)
	}
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(all), "\n"), "\n") {
		num, _, _ := strings.Cut(line, " ")
		got.WriteString(num + "\n")
	}
	wantLines(t, got.String(), 0, n)
}

// failingWriter fails every Write; each Write waits for the test to let it
// return, so that the test sets the clock the writer reads next.
type failingWriter struct {
	calls   chan struct{}
	proceed chan struct{}
}

func (f *failingWriter) Write([]byte) (int, error) {
	f.calls <- struct{}{}
	<-f.proceed
	return 0, errors.New("disk full")
}

// TestWriterErrorsLoggedOncePerMinute checks that failed writes count
// their lines as dropped and log at most once a minute.
func TestWriterErrorsLoggedOncePerMinute(t *testing.T) {
	t.Parallel()
	fw := &failingWriter{calls: make(chan struct{}), proceed: make(chan struct{})}
	var logs syncbuf.Buffer
	var now atomic.Pointer[time.Time]
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(&start)
	w := NewWriter(nil, WriterOptions{Stdout: fw, FlushInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return *now.Load() }})
	log := numbered(t, w)
	for i, at := range []time.Duration{0, 10 * time.Second, 59 * time.Second, time.Minute, 90 * time.Second, 2 * time.Minute} {
		log(i)
		select {
		case <-fw.calls:
		case <-time.After(guard):
			t.Fatalf("line %d never written", i)
		}
		ts := start.Add(at)
		now.Store(&ts) // read by the flush once Write returns
		fw.proceed <- struct{}{}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), "access log write failed"); got != 3 { // at 0, 1m and 2m
		t.Errorf("%d error logs, want 3:\n%s", got, logs.String())
	}
	var lost []string // lines lost since the previous log: 0; 1-3; 4-5
	for _, l := range strings.Split(logs.String(), "\n") {
		if _, v, ok := strings.Cut(l, "lines_lost="); ok {
			lost = append(lost, v)
		}
	}
	if strings.Join(lost, ",") != "1,3,2" {
		t.Errorf("lines_lost %v, want [1 3 2]", lost)
	}
	if w.Dropped() != 6 {
		t.Errorf("Dropped() = %d, want 6", w.Dropped())
	}
}

// counter reads a counter without labels from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func BenchmarkLog(b *testing.B) {
	w := NewWriter(&pb.AccessLogOutput{QueueSize: 1 << 20}, WriterOptions{Stdout: discard{}})
	defer w.Close()
	f, err := Compile("combined")
	if err != nil {
		b.Fatal(err)
	}
	l := w.Logger(f)
	rec, r, resp := fullRequest()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(rec, r, resp)
		}
	})
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "dropped/op")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
