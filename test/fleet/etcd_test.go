package fleet

import (
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// etcdBinary installs Debian's etcd-server when needed (scripts/etcd.sh)
// and returns the etcd path. It fails the test, with the script's reason,
// when etcd cannot be had: this test must not be skipped.
func etcdBinary(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "etcd.sh")
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		msg := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("scripts/etcd.sh could not provide etcd: %s", msg)
	}
	return strings.TrimSpace(string(out))
}

// startEtcd runs an etcd server process, a single member with its data in
// a temporary directory and both URLs on free loopback ports, and returns
// its client URL once /health says it is healthy.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin := etcdBinary(t)
	client, peer := "http://"+freeAddr(t), "http://"+freeAddr(t)
	p := startProc(t, "etcd", bin, "", nil,
		"--name", "fleet", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "fleet="+peer, "--initial-cluster-state", "new")
	c := newClient()
	waitFor(t, startTimeout, "etcd healthy", func() string {
		if p.Exited() {
			p.DumpLogs()
			t.Fatal("etcd exited")
		}
		resp, err := c.Get(client + "/health")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
			return string(body)
		}
		return ""
	})
	return client
}

// TestExternalEtcd runs a control plane against a real etcd server process
// (Debian's etcd-server, as an operator with an etcd cluster would):
// versions are stored there and a data plane syncs and serves.
func TestExternalEtcd(t *testing.T) {
	t.Parallel()
	endpoint := startEtcd(t)
	cp := newControlPlane(t, "cp-ext", t.TempDir(), endpoint)
	cp.start()
	cp.proc.waitLog(startTimeout, "control plane serving", endpoint)

	be := startBackend(t, "blue")
	const cluster = "prod"
	v1 := cp.mustApply(cluster, fleetConfig{
		name: "ext", upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"},
	}.String(), "first on external etcd")
	dp := newDataPlane(t, "ext-1", cluster, cp.grpc, "")
	dp.start()
	dp.waitListener("127.0.0.1")
	dp.waitRoute("/hello", "blue")
	cp.waitSynced(cluster, v1, dp.id)

	// A second version goes the same way.
	be2 := startBackend(t, "green")
	v2 := cp.mustApply(cluster, fleetConfig{
		name: "ext2", upstreams: map[string]string{"green": be2.addr}, routes: map[string]string{"/": "green"},
	}.String(), "second")
	dp.waitRoute("/hello", "green")
	cp.waitSynced(cluster, v2, dp.id)
	if n := len(cp.versions(cluster)); n != 2 {
		t.Errorf("external etcd holds %d versions, want 2", n)
	}
}
