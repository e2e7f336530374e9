package ctl

// The harness: binaries built once per test process, child processes with
// their logs, and the three kinds of process of a fleet. Every server binds
// port 0 and the test reads the bound address from its log, so no port is
// ever guessed.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testbin"
	"github.com/pingap-go/pingap/internal/testproc"

	"github.com/pingap-go/pingap/internal/testbackend"
)

const (
	// startTimeout bounds how long a process may take to become ready.
	startTimeout = 30 * time.Second
	// syncTimeout bounds waits for the fleet where no tighter bound is the
	// point.
	syncTimeout = 30 * time.Second
)

func TestMain(m *testing.M) { testbin.Main(m, "ctl", "pingap", "pingapctl", "testbackend") }

// binPath is the path of a binary TestMain built.
func binPath(name string) string { return testbin.Path("ctl", name) }

// proc is a running child process (see internal/testproc).
type proc struct{ *testproc.Proc }

// startProc runs bin with args in dir; it is killed at cleanup and its
// output logged if the test failed.
func startProc(t testing.TB, name, bin, dir string, args ...string) *proc {
	t.Helper()
	return &proc{testproc.Start(t, testproc.Options{
		Name: name, Bin: bin, Dir: dir, Args: args,
		Env: append(os.Environ(), "PINGAP_TOKEN="), // no bootstrap token from the environment
	})}
}

// logLines returns the process's JSON log lines with message msg, oldest
// first.
func (p *proc) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(p.Stderr.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// waitLog waits for a log line with message msg and returns the last one.
func (p *proc) waitLog(msg string) map[string]any {
	p.T.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		if l := p.logLines(msg); len(l) > 0 {
			return l[len(l)-1]
		}
		if p.Exited() {
			p.T.Fatalf("%s exited before logging %q:\n%s", p.Name, msg, p.Stderr.String())
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("%s did not log %q within %s", p.Name, msg, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it returns "" or the timeout passes.
func waitFor(t testing.TB, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		last := cond()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, syncTimeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tokens of the control plane's --admin-tokens-file.
const (
	adminToken = "admin-secret-7f3a"
	readToken  = "read-secret-9c1b"
)

// controlPlane is a `pingap controlplane` with an embedded etcd and admin
// tokens, running in its own working directory.
type controlPlane struct {
	cwd         string
	grpc, admin string // bound addresses
	proc        *proc
}

// startControlPlane starts a control plane in cwd and waits until it
// serves.
func startControlPlane(t testing.TB, cwd string) *controlPlane {
	t.Helper()
	tokens := filepath.Join(t.TempDir(), "admin-tokens")
	if err := os.WriteFile(tokens, []byte("# pingapctl tests\n"+adminToken+" admin ci\n"+readToken+" read viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "controlplane", binPath("pingap"), cwd, "controlplane", "--data-dir", t.TempDir(),
		"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--admin-tokens-file", tokens,
		"--server-id", "cp-1", "--health-interval", "1s", "--log-format", "json")
	l := p.waitLog("control plane serving")
	cp := &controlPlane{cwd: cwd, grpc: fmt.Sprint(l["grpc"]), admin: fmt.Sprint(l["admin"]), proc: p}
	waitFor(t, "control plane ready", func() string {
		resp, err := http.Get("http://" + cp.admin + "/readyz")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	})
	return cp
}

// url is the admin API's URL.
func (c *controlPlane) url() string { return "http://" + c.admin }

// dataPlane is a `pingap dataplane --control-plane` process.
type dataPlane struct {
	t    testing.TB
	id   string
	proc *proc
}

// startDataPlane starts node id of cluster in cwd.
func startDataPlane(t testing.TB, cp *controlPlane, id, cluster, cwd string) *dataPlane {
	t.Helper()
	p := startProc(t, "dataplane "+id, binPath("pingap"), cwd, "dataplane", "--control-plane", cp.grpc,
		"--cluster", cluster, "--node-id", id, "--cache-dir", filepath.Join(t.TempDir(), "cache"), "--log-format", "json")
	return &dataPlane{t: t, id: id, proc: p}
}

// listener is the node's bound HTTP listener on 127.0.0.1 from its last
// "config applied" log line ("" before any).
func (d *dataPlane) listener() string {
	l := d.proc.logLines("config applied")
	if len(l) == 0 {
		return ""
	}
	addrs, _ := l[len(l)-1]["listeners"].([]any)
	for _, a := range addrs {
		if s := fmt.Sprint(a); strings.HasPrefix(s, "127.0.0.1:") {
			return s
		}
	}
	return ""
}

// get sends GET path through the node and returns the status and the
// answering backend ("" when none).
func (d *dataPlane) get(path string) (int, string, error) {
	addr := d.listener()
	if addr == "" {
		return 0, "", fmt.Errorf("%s has applied no config yet", d.id)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	name, _, _ := strings.Cut(resp.Header.Get(testbackend.HeaderBackend), "@")
	return resp.StatusCode, name, nil
}

// waitRoute waits until GET path through the node answers 200 from want.
func (d *dataPlane) waitRoute(path, want string) {
	d.t.Helper()
	waitFor(d.t, d.id+" routes "+path+" to "+want, func() string {
		if d.proc.Exited() {
			d.t.Fatalf("%s exited", d.id)
		}
		code, got, err := d.get(path)
		if err != nil || code != http.StatusOK || got != want {
			return fmt.Sprintf("got %d from %q (err %v)", code, got, err)
		}
		return ""
	})
}

// startBackend starts a testbackend named name and returns its address.
func startBackend(t testing.TB, name string) string {
	t.Helper()
	_, addrs := testproc.StartBackend(t, binPath("testbackend"), name, "127.0.0.1:0")
	return addrs[0]
}

// ctlResult is one pingapctl run.
type ctlResult struct {
	code        int
	stdout, err string
}

// runIn runs command (a binary with args) in dir with env added to a clean
// environment (PATH and HOME kept), and returns its exit code and output.
func runIn(t testing.TB, dir string, env map[string]string, stdin string, command ...string) ctlResult {
	t.Helper()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + testbin.Dir("ctl") + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = testproc.SysProcAttr()
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %v: %v", command, err)
		}
		code = ee.ExitCode()
	}
	return ctlResult{code: code, stdout: out.String(), err: errb.String()}
}

// must fails the test unless the run ended with code and its output
// contains every string of contains.
func (r ctlResult) must(t testing.TB, code int, contains ...string) ctlResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.err)
	}
	for _, c := range contains {
		if !strings.Contains(r.stdout+r.err, c) {
			t.Fatalf("output does not contain %q\nstdout:\n%s\nstderr:\n%s", c, r.stdout, r.err)
		}
	}
	return r
}

// writeFile writes data to dir/name, creating directories, and returns the
// path.
func writeFile(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
