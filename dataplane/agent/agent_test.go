package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/syncbuf"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		desc    string
		b       Backoff
		attempt int
		r       float64
		want    time.Duration
	}{
		{"defaults, first", Backoff{}, 0, 0, 200 * ms},
		{"defaults, doubling", Backoff{}, 3, 0, 1600 * ms},
		{"defaults, capped", Backoff{}, 20, 0, 30 * time.Second},
		{"defaults, huge attempt", Backoff{}, 1 << 20, 0, 30 * time.Second},
		{"default jitter takes up to half", Backoff{}, 0, 0.5, 150 * ms},
		{"jitter 0.2", Backoff{Min: 100 * ms, Max: time.Second, Jitter: 0.2}, 1, 0.5, 180 * ms},
		{"no jitter", Backoff{Min: 100 * ms, Max: time.Second, Jitter: -1}, 2, 0.9, 400 * ms},
		{"max below min", Backoff{Min: time.Second, Max: ms, Jitter: -1}, 5, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := tt.b.withDefaults().delay(tt.attempt, tt.r); got != tt.want {
				t.Fatalf("delay = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBackoffGrowsAndResets runs the agent against a dead address, then a
// live control plane that drops the stream, then the dead address again.
func TestBackoffGrowsAndResets(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	a := New(&fakeApplier{}, Options{Addr: addr, Node: &pb.Node{Id: "n1"}, Backoff: b, Rand: rng.Float64})

	var mu sync.Mutex
	var delays []time.Duration
	var cp *fakeCP
	cpUp := make(chan *fakeCP, 1)
	a.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		delays = append(delays, d)
		n := len(delays)
		mu.Unlock()
		switch n {
		case 6: // after 6 failures, a control plane appears
			cp = startCP(t, addr)
			cpUp <- cp
		case 7: // its stream was dropped; it goes away
			cp.g.Stop()
		}
		return ctx.Err()
	}
	stop := running(t, a)
	c := <-cpUp
	c.hello(t)
	eventually(t, "welcomed", func() bool { return a.Status().Connected })
	close(c.kill)
	eventually(t, "10 attempts", func() bool { mu.Lock(); defer mu.Unlock(); return len(delays) >= 10 })
	stop()

	mu.Lock()
	defer mu.Unlock()
	// Attempt numbers behind each delay: 0..5 failing; the welcomed
	// stream's end starts over at 0, and failures grow again.
	attempts := []int{0, 1, 2, 3, 4, 5, 0, 1, 2, 3}
	jittered := false
	for i, n := range attempts {
		hi := b.withDefaults().delay(n, 0)
		lo := hi / 2
		if delays[i] < lo || delays[i] > hi {
			t.Fatalf("delay %d = %v, want attempt %d's [%v, %v]; all: %v", i, delays[i], n, lo, hi, delays)
		}
		if delays[i] != hi {
			jittered = true
		}
	}
	if !jittered {
		t.Fatalf("no jitter in %v", delays)
	}
}

func TestHelloCarriesNodeTokenAndRunningVersion(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "")
	app := &fakeApplier{curV: 0, curH: "sha256:from-a-file"}
	node := &pb.Node{Id: "n1", Cluster: "edge", Labels: map[string]string{"zone": "a"}, BuildVersion: "1.2.3"}
	a := New(app, Options{Addr: cp.addr, Node: node, Token: "secret", Backoff: fastBackoff()})
	running(t, a)
	h := cp.hello(t)
	if !proto.Equal(h.Node, node) || h.Token != "secret" || h.RunningVersion != 0 || h.RunningHash != "sha256:from-a-file" {
		t.Fatalf("hello %v", h)
	}
	eventually(t, "connected", func() bool { return a.Status().Connected })
	st := a.Status()
	if st.ServerID != "fake-cp" || st.ControlPlane != cp.addr || st.ConnectedAt.IsZero() || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestApplyAckAndNack(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "")
	app := &fakeApplier{}
	a := New(app, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Backoff: fastBackoff()})
	running(t, a)
	cp.hello(t)

	p1 := push(1, "v1", "nonce-1")
	cp.push(t, p1)
	if ack := cp.answer(t).GetAck(); ack.GetVersion() != 1 || ack.GetNonce() != "nonce-1" {
		t.Fatalf("answer to v1: %v", ack)
	}
	if st := a.Status(); st.RunningVersion != 1 || st.RunningHash != p1.Hash || st.LastPushVersion != 1 || st.LastPushAt.IsZero() {
		t.Fatalf("status %+v", st)
	}

	// A failing apply: NACK with the whole error, the running version kept.
	why := errors.Join(
		errors.New(`locations.api.path: invalid regex "(": missing closing )`),
		errors.New("upstreams.api.addrs: empty"),
	)
	app.setFail(why)
	cp.push(t, push(2, "v2", "nonce-2"))
	nack := cp.answer(t).GetNack()
	if nack.GetVersion() != 2 || nack.GetNonce() != "nonce-2" || nack.GetRunningVersion() != 1 || nack.GetError() != why.Error() {
		t.Fatalf("nack %v", nack)
	}
	if !strings.Contains(nack.GetError(), "\n") {
		t.Fatalf("nack error lost its lines: %q", nack.GetError())
	}
	if st := a.Status(); st.RunningVersion != 1 || st.LastApplyError != why.Error() {
		t.Fatalf("status after nack %+v", st)
	}

	// A push whose snapshot does not match its hash is not applied.
	app.setFail(nil)
	bad := push(3, "v3", "nonce-3")
	bad.Hash = p1.Hash
	cp.push(t, bad)
	if nack := cp.answer(t).GetNack(); nack.GetVersion() != 3 || !strings.Contains(nack.GetError(), "differs from the pushed hash") {
		t.Fatalf("answer to a bad hash: %v", nack)
	}

	// The same content under a new number is not rebuilt.
	same := push(4, "v1", "nonce-4")
	cp.push(t, same)
	if ack := cp.answer(t).GetAck(); ack.GetVersion() != 4 {
		t.Fatalf("answer to v4: %v", ack)
	}
	if got := app.names(); len(got) != 1 {
		t.Fatalf("applied %v, want v1 only", got)
	}
	if st := a.Status(); st.RunningVersion != 4 || st.LastApplyError != "" {
		t.Fatalf("status %+v", st)
	}
}

func TestHealthReports(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "", func(cp *fakeCP) { cp.interval = 10 * time.Millisecond })
	var calls sync.WaitGroup
	calls.Add(1)
	var once sync.Once
	health := func() *pb.HealthReport {
		once.Do(calls.Done)
		return &pb.HealthReport{Requests: 7, Errors: 1}
	}
	a := New(&fakeApplier{}, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Health: health, Backoff: fastBackoff()})
	running(t, a)
	cp.hello(t)
	cp.push(t, push(5, "v5", "n"))
	cp.answer(t)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case h := <-cp.health:
			if h.Requests != 7 || h.Errors != 1 || h.Time == nil || h.Uptime == nil {
				t.Fatalf("report %v", h)
			}
			if h.RunningVersion == 5 {
				return
			}
		case <-deadline:
			t.Fatal("no report with the running version")
		}
	}
}

func TestMinimalHealthReport(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "", func(cp *fakeCP) { cp.interval = 10 * time.Millisecond })
	a := New(&fakeApplier{curV: 9}, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Backoff: fastBackoff()})
	running(t, a)
	select {
	case h := <-cp.health:
		if h.RunningVersion != 9 || h.Time == nil || h.Uptime == nil {
			t.Fatalf("report %v", h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no health report")
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "")
	app := &fakeApplier{}
	a := New(app, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Backoff: fastBackoff()})
	running(t, a)
	cp.hello(t)
	p1 := push(1, "v1", "a")
	cp.push(t, p1)
	cp.answer(t)

	cp.g.Stop()
	eventually(t, "disconnected", func() bool { st := a.Status(); return !st.Connected && st.LastError != "" })

	cp2 := startCP(t, cp.addr, func(cp *fakeCP) { cp.serverID = "fake-cp-2" })
	h := cp2.hello(t)
	if h.RunningVersion != 1 || h.RunningHash != p1.Hash {
		t.Fatalf("hello after restart %v", h)
	}
	eventually(t, "reconnected", func() bool { st := a.Status(); return st.Connected && st.ServerID == "fake-cp-2" })
	if st := a.Status(); st.LastError != "" {
		t.Fatalf("last error kept after reconnecting: %q", st.LastError)
	}
	cp2.push(t, push(2, "v2", "b"))
	if ack := cp2.answer(t).GetAck(); ack.GetVersion() != 2 {
		t.Fatalf("answer %v", ack)
	}
	if got := app.names(); strings.Join(got, ",") != "v1,v2" {
		t.Fatalf("applied %v", got)
	}
}

func TestRefusedStreamRetries(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "", func(cp *fakeCP) { cp.refuse = errors.New("bad token") })
	a := New(&fakeApplier{}, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Backoff: fastBackoff()})
	running(t, a)
	cp.hello(t)
	cp.hello(t) // it tried again
	eventually(t, "error in status", func() bool { return strings.Contains(a.Status().LastError, "bad token") })
	if a.Status().Connected {
		t.Fatal("connected")
	}
}

func TestCacheWrittenAndBooted(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	cp := startCP(t, "")
	a := New(&fakeApplier{}, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, CacheDir: dir, Backoff: fastBackoff()})
	stop := running(t, a)
	cp.hello(t)
	p := push(3, "v3", "x")
	cp.push(t, p)
	cp.answer(t)
	path := filepath.Join(dir, CacheFile)
	eventually(t, "cache written", func() bool { _, err := os.Stat(path); return err == nil })
	stop()
	if a.Status().Connected {
		t.Fatal("connected after Run returned")
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache dir holds %v, want the cache alone", entries)
	}

	// A restarted data plane serves the cached config and says so.
	app := &fakeApplier{}
	a2 := New(app, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, CacheDir: dir, Backoff: fastBackoff()})
	loaded, err := a2.Boot()
	if !loaded || err != nil {
		t.Fatalf("Boot = %v, %v", loaded, err)
	}
	if got := app.names(); len(got) != 1 || got[0] != "v3" {
		t.Fatalf("applied %v", got)
	}
	if st := a2.Status(); st.RunningVersion != 3 || st.RunningHash != p.Hash {
		t.Fatalf("status %+v", st)
	}
	running(t, a2)
	if h := cp.hello(t); h.RunningVersion != 3 || h.RunningHash != p.Hash {
		t.Fatalf("hello %v", h)
	}
}

func TestBootWithoutCache(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"", t.TempDir()} {
		app := &fakeApplier{}
		loaded, err := New(app, Options{CacheDir: dir}).Boot()
		if loaded || err != nil || len(app.names()) != 0 {
			t.Fatalf("dir %q: Boot = %v, %v", dir, loaded, err)
		}
	}
}

func TestBootApplyFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeCache(filepath.Join(dir, CacheFile), push(2, "v2", "")); err != nil {
		t.Fatal(err)
	}
	app := &fakeApplier{fail: errors.New("listen :80: permission denied")}
	a := New(app, Options{CacheDir: dir})
	loaded, err := a.Boot()
	if loaded || err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Boot = %v, %v", loaded, err)
	}
	if st := a.Status(); st.RunningVersion != 0 {
		t.Fatalf("running %d after a failed boot", st.RunningVersion)
	}
}

func TestCorruptCacheIgnored(t *testing.T) {
	t.Parallel()
	valid := func(t *testing.T, path string) []byte {
		if err := writeCache(path, push(4, "v4", "")); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		desc   string
		mangle func(b []byte) []byte
		reason string
	}{
		{"flipped payload byte", func(b []byte) []byte { b[len(b)-3] ^= 0x40; return b }, "checksum mismatch"},
		{"flipped checksum byte", func(b []byte) []byte { b[cacheHeaderLen-1] ^= 1; return b }, "checksum mismatch"},
		{"truncated payload", func(b []byte) []byte { return b[:len(b)-5] }, "truncated: header says"},
		{"truncated header", func(b []byte) []byte { return b[:20] }, "truncated"},
		{"extra bytes", func(b []byte) []byte { return append(b, 0) }, "truncated: header says"},
		{"wrong magic", func(b []byte) []byte { b[0] = 'X'; return b }, "wrong magic"},
		{"empty file", func([]byte) []byte { return nil }, "wrong magic"},
		{"future format", func(b []byte) []byte { b[len(cacheMagic)+3] = 9; return b }, "unsupported format version 9"},
		{"snapshot not matching its hash", func([]byte) []byte {
			p := push(4, "v4", "")
			p.Hash = "sha256:0000"
			return cacheBytes(p)
		}, "snapshot does not match its recorded hash"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), CacheFile)
			b := tt.mangle(valid(t, path))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			app := &fakeApplier{}
			loaded, err := New(app, Options{CacheDir: filepath.Dir(path), Logger: testLogger(&logs)}).Boot()
			if loaded || err != nil || len(app.names()) != 0 {
				t.Fatalf("Boot = %v, %v, applied %v", loaded, err, app.names())
			}
			want := "ignoring config cache " + path + ": " + tt.reason
			if !strings.Contains(logs.String(), want) {
				t.Fatalf("log %q lacks %q", logs.String(), want)
			}
		})
	}
}

// cacheBytes is the cache file writeCache makes of p.
func cacheBytes(p *pb.Push) []byte {
	dir, err := os.MkdirTemp("", "agent-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, CacheFile)
	if err := writeCache(path, p); err != nil {
		panic(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

func TestUnreadableCacheIgnored(t *testing.T) {
	t.Parallel()
	// A directory in the file's place is unreadable even for root.
	dir := t.TempDir()
	path := filepath.Join(dir, CacheFile)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	loaded, err := New(&fakeApplier{}, Options{CacheDir: dir, Logger: testLogger(&logs)}).Boot()
	if loaded || err != nil {
		t.Fatalf("Boot = %v, %v", loaded, err)
	}
	if !strings.Contains(logs.String(), "ignoring config cache "+path+": ") {
		t.Fatalf("log %q", logs.String())
	}
}

// TestCacheReplacedAtomically reads the cache while it is rewritten: every
// read sees a whole, valid version.
func TestCacheReplacedAtomically(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), CacheFile)
	if err := writeCache(path, push(1, "v1", "")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := readCache(path); err != nil {
				errc <- err
				return
			}
		}
	}()
	big := func(v uint64) *pb.Push {
		s := snapshot("big")
		s.Locations = map[string]*pb.Location{}
		for i := range 2000 {
			s.Locations[strings.Repeat("x", i%50)+string(rune('a'+i%26))+time.Duration(i).String()] = &pb.Location{Path: "/p"}
		}
		return &pb.Push{Version: v, Snapshot: s, Hash: config.Hash(s)}
	}
	for v := uint64(2); v < 30; v++ {
		if err := writeCache(path, big(v)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatalf("a reader saw a broken cache: %v", err)
	}
	p, err := readCache(path)
	if err != nil || p.Version != 29 {
		t.Fatalf("final cache %v, %v", p.GetVersion(), err)
	}
}

func TestDefaultNodeIDIsHostName(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	node := &pb.Node{Cluster: "c"}
	a := New(&fakeApplier{}, Options{Node: node})
	if a.opts.Node.GetId() != host || a.opts.Node.GetCluster() != "c" || node.Id != "" {
		t.Fatalf("node %v (caller's %v)", a.opts.Node, node)
	}
}

func TestRunEndsWithoutLeaks(t *testing.T) {
	// Not parallel: it counts goroutines.
	before := runtime.NumGoroutine()
	cp := startCP(t, "", func(cp *fakeCP) { cp.interval = 5 * time.Millisecond })
	a := New(&fakeApplier{}, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, CacheDir: t.TempDir(), Backoff: fastBackoff()})
	stop := running(t, a)
	cp.hello(t)
	cp.push(t, push(1, "v1", "x"))
	cp.answer(t)
	<-cp.health
	stop()
	cp.g.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestPushLargerThanGRPCDefault(t *testing.T) {
	t.Parallel()
	cp := startCP(t, "")
	app := &fakeApplier{}
	a := New(app, Options{Addr: cp.addr, Node: &pb.Node{Id: "n1"}, Backoff: fastBackoff()})
	running(t, a)
	cp.hello(t)
	s := snapshot("big")
	s.Certificates = map[string]*pb.Certificate{}
	for i := range 6 {
		s.Certificates[strconv.Itoa(i)] = &pb.Certificate{TlsCert: strings.Repeat("A", 1<<20)}
	}
	cp.push(t, &pb.Push{Version: 1, Nonce: "n", Snapshot: s, Hash: config.Hash(s)})
	if ack := cp.answer(t).GetAck(); ack.GetVersion() != 1 {
		t.Fatalf("answer %v", ack)
	}
}
