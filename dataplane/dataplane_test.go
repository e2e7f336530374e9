package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbin"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// backend answers with its name and, for /slow, after a pause.
func backend(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(500 * time.Millisecond)
		}
		_, _ = fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func snapshot(t *testing.T, toml string) *pb.Snapshot {
	t.Helper()
	s, _, err := config.Decode([]byte(toml), config.FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freePort(t *testing.T) string { return testbin.FreeAddr(t) }

func oneServer(addr, backendAddr, path string) string {
	return fmt.Sprintf(`
[upstreams.b]
addrs = [%q]
[locations.l]
path = %q
upstream = "b"
[servers.s]
addr = %q
locations = ["l"]
`, backendAddr, path, addr)
}

func newDP(t *testing.T) *DataPlane { return newDPWith(t, Options{}) }

// newDPWith is a data plane with opts, shut down when the test ends.
func newDPWith(t *testing.T, opts Options) *DataPlane {
	t.Helper()
	dp := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dp.Shutdown(ctx)
	})
	return dp
}

func TestApplyBusyAddressKeepsOldConfig(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/"))); err != nil {
		t.Fatal(err)
	}
	hash := dp.Current().Hash()

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A second server on a busy port, and a changed route on the first.
	cfg := oneServer(addr, be, "/new") + fmt.Sprintf(`
[servers.extra]
addr = %q
locations = ["l"]
`, busy.Addr().String())
	err = dp.Apply(snapshot(t, cfg))
	if err == nil || !strings.Contains(err.Error(), "servers.extra.addr") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Apply on a busy port: %v, want an error naming servers.extra.addr", err)
	}
	if got := dp.Current().Hash(); got != hash {
		t.Fatalf("running hash changed to %s after a failed apply", got)
	}
	if code, body := get(t, "http://"+addr+"/x"); code != 200 || body != "one /x" {
		t.Fatalf("old config not serving: %d %q", code, body)
	}
	st := dp.Status()
	if st.FailedReloads != 1 || !strings.Contains(st.LastReloadError, "servers.extra.addr") {
		t.Fatalf("status after failure: %+v", st)
	}
}

func TestApplyAddsAndRemovesListeners(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	a1, a2 := freePort(t), freePort(t)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, oneServer(a1, be, "/"))); err != nil {
		t.Fatal(err)
	}
	two := oneServer(a1, be, "/") + fmt.Sprintf("[servers.t]\naddr = %q\nlocations = [\"l\"]\n", a2)
	if err := dp.Apply(snapshot(t, two)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{a1, a2} {
		if code, _ := get(t, "http://"+a+"/"); code != 200 {
			t.Fatalf("%s: status %d after adding a server", a, code)
		}
	}
	// Remove the first server while a request to it is in flight.
	done := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + a1 + "/slow")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(100 * time.Millisecond) // let the request reach the backend
	only2 := strings.Replace(oneServer(a2, be, "/"), "[servers.s]", "[servers.t]", 1)
	if err := dp.Apply(snapshot(t, only2)); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != "200 one /slow" {
		t.Fatalf("in-flight request on the removed listener: %q", got)
	}
	if code, _ := get(t, "http://"+a2+"/"); code != 200 {
		t.Fatalf("remaining server: status %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", a1)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("removed listener %s still accepts", a1)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestApplyListenerSettingsChangeKeepsServing(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := newDP(t)
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/"))); err != nil {
		t.Fatal(err)
	}
	// A keep-alive client keeps its connection across the change.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i := 0; i < 3; i++ {
		resp, err := client.Get("http://" + addr + "/a")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	changed := oneServer(addr, be, "/") + "idle_timeout = \"5s\"\nread_header_timeout = \"3s\"\n"
	if err := dp.Apply(snapshot(t, changed)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		resp, err := client.Get("http://" + addr + "/b")
		if err != nil {
			t.Fatalf("request %d after settings change: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "one /b" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
}

func TestShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := New(Options{})
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/"))); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if code := <-done; code != 200 {
		t.Fatalf("in-flight request got %d during shutdown, want 200", code)
	}
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Shutdown: %v, want ErrClosed", err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr, admin := freePort(t), freePort(t)
	dp := newDP(t)
	h := httptest.NewServer(dp.AdminHandler())
	defer h.Close()
	if code, _ := get(t, h.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before a config: %d", code)
	}
	cfg := fmt.Sprintf("[settings]\nname = \"t\"\nadmin_addr = %q\n", admin) + oneServer(addr, be, "/")
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, "http://"+admin+p); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	code, body := get(t, "http://"+admin+"/status")
	if code != 200 || !strings.Contains(body, `"config_hash": "`+dp.Current().Hash()+`"`) || !strings.Contains(body, `"config_name": "t"`) {
		t.Fatalf("/status: %d %s", code, body)
	}
}

func TestCounters(t *testing.T) {
	t.Parallel()
	be := backend(t, "one")
	addr := freePort(t)
	dp := newDP(t)
	// /gone routes nowhere (404); a dead upstream answers 502.
	cfg := oneServer(addr, be, "/ok") + fmt.Sprintf(`
[upstreams.dead]
addrs = [%q]
max_retries = 0
[locations.dead]
path = "/dead"
upstream = "dead"
`, testbin.DeadAddr(t))
	cfg = strings.Replace(cfg, `locations = ["l"]`, `locations = ["l", "dead"]`, 1)
	if err := dp.Apply(snapshot(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/ok", "/ok", "/gone", "/dead"} {
		get(t, "http://"+addr+p)
	}
	if req, errs := dp.Counters(); req != 4 || errs != 1 {
		t.Fatalf("Counters() = %d requests, %d errors; want 4, 1", req, errs)
	}
}

// The log level follows settings.log_level of each config applied, in
// file and fleet mode alike; a config without one keeps the level it has.
func TestLogLevelFollowsConfig(t *testing.T) {
	t.Parallel()
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn) // --log-level warn
	dp := New(Options{Level: level})
	t.Cleanup(func() { _ = dp.Drain() })
	be, addr := backend(t, "one"), freePort(t)
	if err := dp.Apply(snapshot(t, oneServer(addr, be, "/"))); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelWarn {
		t.Fatalf("a config without log_level changed the level to %v", level.Level())
	}
	if err := dp.Apply(snapshot(t, "[settings]\nlog_level = \"debug\"\n"+oneServer(addr, be, "/"))); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelDebug {
		t.Fatalf("level %v after a config with log_level = debug", level.Level())
	}
	if err := dp.Apply(snapshot(t, "[settings]\nlog_level = \"nope\"\n"+oneServer(addr, be, "/"))); err == nil {
		t.Fatal("an invalid log_level applied")
	}
	if level.Level() != slog.LevelDebug {
		t.Fatalf("a rejected config changed the level to %v", level.Level())
	}
}

// A busy port is reported at the server's path as the validator writes it
// (a name that is not a bare key quoted), so the error finds its line.
func TestBusyPortPathQuotesName(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dp := newDP(t)
	cfg := strings.Replace(oneServer(busy.Addr().String(), backend(t, "one"), "/"), "[servers.s]", `[servers."edge.web"]`, 1)
	err = dp.Apply(snapshot(t, cfg))
	var list config.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Path != `servers."edge.web".addr` {
		t.Fatalf("error %v, want one at servers.\"edge.web\".addr", err)
	}
}
