package e2e

// The harness: building the binaries once, starting and stopping real
// processes, writing configs, and a small HTTP client vocabulary. Tests
// themselves live in the other *_test.go files.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbin"
	"github.com/pingap-go/pingap/internal/testproc"

	"github.com/pingap-go/pingap/internal/testbackend"
)

const (
	// startTimeout bounds how long a process may take to become ready.
	startTimeout = 20 * time.Second
	// reloadTimeout bounds how long a config change may take to show in /status.
	reloadTimeout = 10 * time.Second
)

func TestMain(m *testing.M) { testbin.Main(m, "e2e", "pingap", "testbackend") }

// binPath is the path of a binary TestMain built.
func binPath(name string) string { return testbin.Path("e2e", name) }

// proc is a running child process (see internal/testproc).
type proc = testproc.Proc

// startProc starts a binary built by TestMain. If lines is not nil, every
// stdout line is also sent to it.
func startProc(t testing.TB, name string, lines chan<- string, args ...string) *proc {
	t.Helper()
	return testproc.Start(t, testproc.Options{Name: name, Bin: binPath(name), Args: args, Lines: lines})
}

// backend is a running testbackend process.
type backend struct {
	*proc
	name  string
	addrs []string
}

// startBackend starts a testbackend named name listening on n free loopback
// ports, and returns once all are bound.
func startBackend(t testing.TB, name string, n int) *backend {
	t.Helper()
	return startBackendOn(t, name, strings.TrimSuffix(strings.Repeat("127.0.0.1:0,", n), ","))
}

// startBackendOn starts a testbackend named name listening on listen, a
// comma-separated list of addresses (port 0 picks a free one), and returns
// once all are bound.
func startBackendOn(t testing.TB, name, listen string) *backend {
	t.Helper()
	p, addrs := testproc.StartBackend(t, binPath("testbackend"), name, listen)
	return &backend{proc: p, name: name, addrs: addrs}
}

// id is the X-Backend value of the backend's i-th address.
func (b *backend) id(i int) string { return b.name + "@" + b.addrs[i] }

// status is the admin listener's /status document.
type status struct {
	ConfigHash      string `json:"config_hash"`
	ConfigName      string `json:"config_name"`
	AppliedAt       string `json:"applied_at"`
	Reloads         int    `json:"reloads"`
	FailedReloads   int    `json:"failed_reloads"`
	LastReloadError string `json:"last_reload_error"`
	LastReloadAt    string `json:"last_reload_at"`
	// Upstreams are the running config's upstreams by name, with their
	// targets' health (see targets_test.go).
	Upstreams map[string]upstreamStatus `json:"upstreams"`
}

// dataplane is a `pingap dataplane --config FILE` process and its files.
type dataplane struct {
	*proc
	t      testing.TB
	dir    string
	config string // path of the config file
	admin  string // settings.admin_addr
	client *http.Client
}

// newDataplane prepares a data plane: a temp dir, a config path and a free
// admin address. Write a config, then call start.
func newDataplane(t testing.TB) *dataplane {
	t.Helper()
	dir := t.TempDir()
	d := &dataplane{t: t, dir: dir, config: filepath.Join(dir, "pingap.toml"), admin: freeAddr(t), client: newClient()}
	t.Cleanup(d.client.CloseIdleConnections)
	return d
}

// settings renders the [settings] table with the admin address and extra
// lines.
func (d *dataplane) settings(extra ...string) string {
	return "[settings]\nadmin_addr = " + strconv.Quote(d.admin) + "\ngrace_period = \"5s\"\n" + strings.Join(extra, "\n") + "\n\n"
}

// write replaces the config file atomically (write a temp file, rename).
func (d *dataplane) write(cfg string) {
	d.t.Helper()
	tmp := filepath.Join(d.dir, ".pingap.toml.tmp")
	if err := os.WriteFile(tmp, []byte(cfg), 0o644); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, d.config); err != nil {
		d.t.Fatal(err)
	}
}

// writeInPlace rewrites the config file in place, as most editors do.
func (d *dataplane) writeInPlace(cfg string) {
	d.t.Helper()
	if err := os.WriteFile(d.config, []byte(cfg), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// start starts the data plane on the written config and waits for /readyz.
func (d *dataplane) start() {
	d.t.Helper()
	d.proc = startProc(d.t, "pingap", nil, "dataplane", "--config", d.config)
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := d.client.Get("http://" + d.admin + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if d.Exited() {
			d.DumpLogs()
			d.t.Fatalf("pingap exited with code %d before /readyz answered 200", d.ExitCode())
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("pingap: /readyz not 200 after %s (last error %v)", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status fetches /status.
func (d *dataplane) status() status {
	d.t.Helper()
	resp, err := d.client.Get("http://" + d.admin + "/status")
	if err != nil {
		d.t.Fatalf("GET /status: %v", err)
	}
	defer resp.Body.Close()
	var s status
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET /status: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		d.t.Fatalf("GET /status: %v in %s", err, body)
	}
	return s
}

// waitStatus polls /status until cond holds and returns that status.
func (d *dataplane) waitStatus(what string, cond func(status) bool) status {
	d.t.Helper()
	deadline := time.Now().Add(reloadTimeout)
	for {
		s := d.status()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("/status: %s: not after %s; last %+v", what, reloadTimeout, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitApplied polls /status until a config other than prev serves without
// reload error.
func (d *dataplane) waitApplied(prev status) status {
	d.t.Helper()
	return d.waitStatus("new config applied", func(s status) bool {
		return s.ConfigHash != prev.ConfigHash && s.LastReloadError == ""
	})
}

// newClient is an HTTP client for loopback tests: no proxy from the
// environment, keep-alive, no transparent decompression.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 32,
			DisableCompression:  true,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// clientFrom is a client whose connections come from the loopback address
// ip (any 127.0.0.0/8 address works on Linux).
func clientFrom(ip string) *http.Client {
	c := newClient()
	c.Transport.(*http.Transport).DialContext = (&net.Dialer{
		Timeout:   5 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)},
	}).DialContext
	return c
}

// result is a response read whole.
type result struct {
	Code   int
	Header http.Header
	Body   []byte
}

// backend is the X-Backend header.
func (r result) backend() string { return r.Header.Get(testbackend.HeaderBackend) }

// echo decodes the testbackend's echo document.
func (r result) echo(t testing.TB) testbackend.Echo {
	t.Helper()
	var e testbackend.Echo
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("response is not a testbackend echo (%v): %d %q", err, r.Code, r.Body)
	}
	return e
}

// req describes a request: method (default GET), URL, Host, headers, body.
type req struct {
	method string
	url    string
	host   string
	header http.Header
	body   io.Reader
	// contentLength is set on the request when body is not nil: -1 sends it
	// chunked.
	contentLength int64
	// trace, when set, observes the request (e.g. the local address used).
	trace *httptrace.ClientTrace
}

// send sends r with c and reads the whole response.
func send(ctx context.Context, c *http.Client, r req) (result, error) {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, r.url, r.body)
	if err != nil {
		return result{}, err
	}
	if r.body != nil {
		hr.ContentLength = r.contentLength
	}
	if r.host != "" {
		hr.Host = r.host
	}
	for k, vs := range r.header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if r.trace != nil {
		hr = hr.WithContext(httptrace.WithClientTrace(hr.Context(), r.trace))
	}
	resp, err := c.Do(hr)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("reading body of %d response: %w", resp.StatusCode, err)
	}
	return result{Code: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// mustSend is send that fails the test on a transport error.
func mustSend(t testing.TB, c *http.Client, r req) result {
	t.Helper()
	res, err := send(context.Background(), c, r)
	if err != nil {
		t.Fatalf("%s %s (host %q): %v", r.method, r.url, r.host, err)
	}
	return res
}

// get sends a GET to base+path with the given Host header.
func get(t testing.TB, c *http.Client, base, host, path string) result {
	t.Helper()
	return mustSend(t, c, req{url: base + path, host: host})
}

// tomlList renders strings as a TOML array.
func tomlList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// upstreamTOML renders an [upstreams.NAME] table.
func upstreamTOML(name, algo string, addrs ...string) string {
	s := fmt.Sprintf("[upstreams.%s]\naddrs = %s\n", name, tomlList(addrs...))
	if algo != "" {
		s += fmt.Sprintf("algo = %q\n", algo)
	}
	return s + "\n"
}

// serverTOML renders a [servers.NAME] table.
func serverTOML(name, addr string, locations ...string) string {
	return fmt.Sprintf("[servers.%s]\naddr = %q\nlocations = %s\n\n", name, addr, tomlList(locations...))
}

// runPingap runs pingap with args to completion and returns its exit code,
// stdout and stderr.
func runPingap(t testing.TB, timeout time.Duration, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath("pingap"), args...)
	cmd.SysProcAttr = testproc.SysProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("pingap %s: still running after %s; stderr:\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("pingap %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func freeAddr(t testing.TB) string { return testbin.FreeAddr(t) }
