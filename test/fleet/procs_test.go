package fleet

// The three kinds of process of a fleet: control-plane replicas, data
// planes driven by them, and backends.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pingap-go/pingap/dataplane/agent"
	"github.com/pingap-go/pingap/internal/testbackend"
	"github.com/pingap-go/pingap/internal/testproc"
)

// controlPlane is a `pingap controlplane` replica. Its addresses and data
// directory are fixed when it is made, so a restart comes back as the same
// replica.
type controlPlane struct {
	t     testing.TB
	id    string
	cwd   string // working directory (relative cert paths resolve here)
	data  string // --data-dir
	grpc  string // --grpc-addr
	admin string // --admin-addr
	// etcd is the embedded etcd's client address (--embedded-etcd-addr),
	// or empty with external endpoints.
	etcd      string
	endpoints string // --etcd-endpoints
	extra     []string
	proc      *proc
	client    *http.Client
}

// newControlPlane prepares a replica with an embedded etcd (endpoints empty)
// or one using the external etcd endpoints.
func newControlPlane(t testing.TB, id, cwd, endpoints string, extra ...string) *controlPlane {
	t.Helper()
	c := &controlPlane{
		t: t, id: id, cwd: cwd, data: t.TempDir(), grpc: freeAddr(t), admin: freeAddr(t),
		endpoints: endpoints, extra: extra, client: newClient(),
	}
	if endpoints == "" {
		c.etcd = freeAddr(t)
	}
	return c
}

// etcdURL is the embedded etcd's client URL, for other replicas.
func (c *controlPlane) etcdURL() string { return "http://" + c.etcd }

// start runs the replica and waits until its admin API answers.
func (c *controlPlane) start() {
	c.t.Helper()
	args := []string{"controlplane", "--data-dir", c.data, "--grpc-addr", c.grpc, "--admin-addr", c.admin,
		"--server-id", c.id, "--health-interval", healthInterval.String(), "--log-format", "json"}
	if c.endpoints != "" {
		args = append(args, "--etcd-endpoints", c.endpoints)
	} else {
		args = append(args, "--embedded-etcd-addr", c.etcd)
	}
	args = append(args, c.extra...)
	c.proc = startProc(c.t, "controlplane "+c.id, binPath("pingap"), c.cwd, nil, args...)
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := c.client.Get("http://" + c.admin + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if c.proc.Exited() {
			c.proc.DumpLogs()
			c.t.Fatalf("control plane %s exited before its admin API answered", c.id)
		}
		if time.Now().After(deadline) {
			c.proc.DumpLogs()
			c.t.Fatalf("control plane %s: admin API not answering after %s (last error %v)", c.id, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dataPlane is a `pingap dataplane --control-plane` process. Its node id,
// directories and flags are fixed when it is made, so a restart is the same
// node coming back.
type dataPlane struct {
	t       testing.TB
	id      string
	cluster string
	cp      string // --control-plane
	cwd     string
	cache   string // --cache-dir
	extra   []string
	proc    *proc
	client  *http.Client
}

// newDataPlane prepares node id of cluster, connecting to the gRPC address
// cp, with its own working directory (cwd, or a fresh one when empty).
func newDataPlane(t testing.TB, id, cluster, cp, cwd string, extra ...string) *dataPlane {
	t.Helper()
	if cwd == "" {
		cwd = t.TempDir()
	}
	return &dataPlane{
		t: t, id: id, cluster: cluster, cp: cp, cwd: cwd, cache: filepath.Join(t.TempDir(), "cache"),
		extra: extra, client: newClient(),
	}
}

// start runs the node (it connects in the background).
func (d *dataPlane) start() {
	d.t.Helper()
	args := append([]string{"dataplane", "--control-plane", d.cp, "--cluster", d.cluster, "--node-id", d.id,
		"--cache-dir", d.cache, "--log-format", "json"}, d.extra...)
	d.proc = startProc(d.t, "dataplane "+d.id, binPath("pingap"), d.cwd, nil, args...)
}

// cacheFile is the node's snapshot cache.
func (d *dataPlane) cacheFile() string { return filepath.Join(d.cache, agent.CacheFile) }

// applied counts the node's "applied a pushed version" log lines for
// version v, since the process started.
func (d *dataPlane) applied(v uint64) int {
	return d.proc.countLog("applied a pushed version", "version", fmt.Sprint(v))
}

// rejected counts the node's "rejected a pushed version" log lines for
// version v.
func (d *dataPlane) rejected(v uint64) int {
	return d.proc.countLog("rejected a pushed version", "version", fmt.Sprint(v))
}

// pushes counts every push the node answered (applied or rejected).
func (d *dataPlane) pushes() int {
	return d.proc.countLog("applied a pushed version") + d.proc.countLog("rejected a pushed version")
}

// listeners are the node's listening TCP addresses, read from /proc (the
// config's listeners use port 0, so every node binds its own ports; the
// data plane does not log the ports it bound in control-plane mode).
func (d *dataPlane) listeners() []string {
	d.t.Helper()
	addrs, err := listenAddrs(d.proc.Pid())
	if err != nil {
		d.t.Fatalf("listening sockets of %s: %v", d.id, err)
	}
	return addrs
}

// listenerOn is the node's listening address on ip ("" when none).
func (d *dataPlane) listenerOn(ip string) string {
	for _, a := range d.listeners() {
		if strings.HasPrefix(a, ip+":") {
			return a
		}
	}
	return ""
}

// waitListener waits until the node listens on ip and returns the address.
func (d *dataPlane) waitListener(ip string) string {
	d.t.Helper()
	var addr string
	waitFor(d.t, syncTimeout, d.id+" listening on "+ip, func() string {
		if d.proc.Exited() {
			d.t.Fatalf("%s exited", d.id)
		}
		if addr = d.listenerOn(ip); addr == "" {
			return fmt.Sprintf("listening on %v", d.listeners())
		}
		return ""
	})
	return addr
}

// get sends GET path to the node's proxy listener on 127.0.0.1 and returns
// the status code and the answering backend's name ("" when no backend
// answered).
func (d *dataPlane) get(path string) (int, string, error) {
	addr := d.listenerOn("127.0.0.1")
	if addr == "" {
		return 0, "", fmt.Errorf("%s: no listener on 127.0.0.1", d.id)
	}
	return getFrom(d.client, "http://"+addr+path)
}

// mustRoute fails the test unless GET path through the node answers 200
// from backend want.
func (d *dataPlane) mustRoute(path, want string) {
	d.t.Helper()
	code, got, err := d.get(path)
	if err != nil || code != http.StatusOK || got != want {
		d.t.Fatalf("%s: GET %s: got %d from %q (err %v), want 200 from %q", d.id, path, code, got, err, want)
	}
}

// waitRoute waits until GET path through the node answers 200 from want.
func (d *dataPlane) waitRoute(path, want string) {
	d.t.Helper()
	waitFor(d.t, syncTimeout, d.id+" routes "+path+" to "+want, func() string {
		code, got, err := d.get(path)
		if err != nil || code != http.StatusOK || got != want {
			return fmt.Sprintf("got %d from %q (err %v)", code, got, err)
		}
		return ""
	})
}

// getFrom sends GET url and returns the status and the backend's name.
func getFrom(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	name, _, _ := strings.Cut(resp.Header.Get(testbackend.HeaderBackend), "@")
	return resp.StatusCode, name, nil
}

// isRefused reports whether err is a refused connection.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// backend is a running testbackend process.
type backend struct {
	name string
	addr string
}

// startBackend starts a testbackend named name on a free loopback port.
func startBackend(t testing.TB, name string) backend {
	t.Helper()
	_, addrs := testproc.StartBackend(t, binPath("testbackend"), name, "127.0.0.1:0")
	return backend{name: name, addr: addrs[0]}
}

// writeFile writes data to dir/name, creating directories.
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
