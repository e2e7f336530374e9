package fleet

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pingap-go/pingap/internal/testcert"
)

// edgeCluster is the cluster of TestFleet's three nodes.
const edgeCluster = "edge"

// fleet is TestFleet's world: two control-plane replicas sharing replica
// A's embedded etcd, three data planes and three backends.
type fleet struct {
	t                 *testing.T
	a, b              *controlPlane
	n1, n2, n3        *dataPlane
	blue, green, red  backend
	edgeCert          *testcert.Leaf
	certPath, keyPath string // relative to the working directories
}

func (f *fleet) nodes() []*dataPlane { return []*dataPlane{f.n1, f.n2, f.n3} }

func (f *fleet) ids() []string { return []string{f.n1.id, f.n2.id, f.n3.id} }

// config renders a version of the edge cluster's config: /api goes to
// apiUpstream, and /shop (from v2 on) to green. With tlsCert set, a TLS
// server on 127.0.0.2:0 serves /api with certificate "edge", whose
// tls_cert and tls_key are tlsCert and tlsKey (paths or inline PEM).
func (f *fleet) config(name, apiUpstream string, shop bool, tlsCert, tlsKey string) string {
	c := fleetConfig{
		name:      name,
		upstreams: map[string]string{"blue": f.blue.addr, "green": f.green.addr, "red": f.red.addr},
		routes:    map[string]string{"/api": apiUpstream},
	}
	if shop {
		c.routes["/shop"] = "green"
	}
	if tlsCert != "" {
		c.extra = fmt.Sprintf("[certificates.edge]\ntls_cert = %q\ntls_key = %q\n\n", tlsCert, tlsKey) +
			"[servers.secure]\naddr = \"127.0.0.2:0\"\ncertificates = [\"edge\"]\nlocations = [\"route0\"]\n\n"
	}
	return c.String()
}

// TestFleet runs one fleet through the issue's story: an apply through one
// replica reaches every node and shows through the other (a); a version
// that fails on one node only is NACKed there and never pushed to it again,
// while the others run it (b); both control planes die, traffic flows on,
// a data plane restarts from its disk cache, and the control planes come
// back without redundant pushes (c). The stages share the fleet, so a
// failing stage may make later ones fail too: read the first failure.
func TestFleet(t *testing.T) {
	f := &fleet{t: t}
	// Relative certificate paths resolve from each process's working
	// directory: the control planes' (where the admin API validates) and
	// n1's and n2's have the files, n3's does not.
	cpDir, n1Dir, n2Dir, n3Dir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	f.edgeCert = newCA(t).issue("edge.example", "edge.example", "127.0.0.2")
	f.certPath, f.keyPath = filepath.Join("certs", "edge.pem"), filepath.Join("certs", "edge-key.pem")
	for _, dir := range []string{cpDir, n1Dir, n2Dir} {
		f.edgeCert.Write(t, filepath.Join(dir, "certs"), "edge")
	}
	f.blue, f.green, f.red = startBackend(t, "blue"), startBackend(t, "green"), startBackend(t, "red")

	f.a = newControlPlane(t, "cp-a", cpDir, "")
	f.a.start()
	f.b = newControlPlane(t, "cp-b", cpDir, f.a.etcdURL())
	f.b.start()

	v1 := f.a.mustApply(edgeCluster, f.config("v1", "blue", false, "", ""), "first")
	f.n1 = newDataPlane(t, "n1", edgeCluster, f.a.grpc, n1Dir)
	f.n2 = newDataPlane(t, "n2", edgeCluster, f.b.grpc, n2Dir)
	f.n3 = newDataPlane(t, "n3", edgeCluster, f.b.grpc, n3Dir)
	for _, n := range f.nodes() {
		n.start()
	}
	for _, n := range f.nodes() {
		n.waitListener("127.0.0.1")
		n.waitRoute("/api", "blue")
	}
	f.b.waitSynced(edgeCluster, v1, f.ids()...)

	var v2, v4 uint64
	if !t.Run("a_apply_through_A_serves_and_syncs_through_B", func(t *testing.T) { v2 = f.applyThroughA(t) }) {
		t.FailNow()
	}
	t.Run("b_version_failing_on_one_node_is_nacked_not_repushed", func(t *testing.T) { v4 = f.nack(t, v2) })
	if v4 == 0 {
		t.FailNow()
	}
	t.Run("c_control_planes_down_fleet_serves_cache_reconnects_without_pushes", func(t *testing.T) { f.outage(t, v4) })
}

// applyThroughA applies v2 (a new route) through replica A and checks that
// every node serves it and shows SYNCED on it through replica B within 2s.
func (f *fleet) applyThroughA(t *testing.T) uint64 {
	for _, n := range f.nodes() {
		if code, _, err := n.get("/shop"); err != nil || code != http.StatusNotFound {
			t.Fatalf("%s: GET /shop before v2: %d (err %v), want 404", n.id, code, err)
		}
	}
	v2 := f.a.mustApply(edgeCluster, f.config("v2", "blue", true, "", ""), "add /shop")
	applied := time.Now()
	var last string
	for {
		if last = allSynced(f.b.nodes(edgeCluster), v2, f.ids()...); last == "" {
			break
		}
		if time.Since(applied) > 2*time.Second {
			t.Fatalf("through replica B, 2s after the apply through A: %s", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("v%d applied through A: all 3 nodes SYNCED through B after %v", v2, time.Since(applied).Round(time.Millisecond))
	for _, n := range f.nodes() {
		n.mustRoute("/shop", "green")
		n.mustRoute("/api", "blue")
		if got := n.applied(v2); got != 1 {
			t.Errorf("%s applied v%d %d times, want once", n.id, v2, got)
		}
	}
	return v2
}

// nack applies v3, which names its certificate by a relative path that
// exists on the control plane and on n1 and n2 but not on n3 (a host where
// configuration management has not deployed the file yet: a failure that
// static validation on the control plane cannot see). n3 must NACK v3 with
// the reason, keep serving v2, and never get v3 again, not even after its
// control-plane replica restarts. Then v4 inlines the certificate and
// reaches everyone. It returns v4 (0 when the stage failed before it).
func (f *fleet) nack(t *testing.T, v2 uint64) uint64 {
	v3 := f.a.mustApply(edgeCluster, f.config("v3", "red", true, f.certPath, f.keyPath), "TLS with certs/edge.pem, /api to red")
	var last map[string]nodeStatus
	waitFor(t, syncTimeout, "n1, n2 SYNCED on v3 and n3 NACKED", func() string {
		last = f.b.nodes(edgeCluster)
		if s := allSynced(last, v3, f.n1.id, f.n2.id); s != "" {
			return s
		}
		if n3 := last[f.n3.id]; n3.State != stateNacked || n3.LastNack == nil {
			return "n3: " + n3.String()
		}
		return ""
	})
	n3 := last[f.n3.id]
	if uint64(n3.RunningVersion) != v2 || uint64(n3.LastNack.Version) != v3 || !n3.Connected {
		t.Errorf("n3 = %s, want connected, running v%d, last NACK v%d", n3, v2, v3)
	}
	// The node's own words reach the control plane: the field and the file.
	for _, want := range []string{"certificates.edge.tls_cert", f.certPath, "no such file"} {
		if !strings.Contains(n3.LastNack.Error, want) {
			t.Errorf("n3's last_nack.error %q does not contain %q", n3.LastNack.Error, want)
		}
	}
	// n1 and n2 run v3: /api goes to red, over TLS too.
	for _, n := range []*dataPlane{f.n1, f.n2} {
		n.mustRoute("/api", "red")
		f.mustRouteTLS(t, n, "/api", "red")
	}
	// n3 still serves v2: /api to blue, /shop to green, no TLS listener.
	f.n3.mustRoute("/api", "blue")
	f.n3.mustRoute("/shop", "green")
	if a := f.n3.listenerOn("127.0.0.2"); a != "" {
		t.Errorf("n3 listens on %s although it rejected the version that adds it", a)
	}

	// Each health report (every second) makes the control plane reconsider
	// the node: a NACK loop would show as more pushes.
	pushes := f.n3.pushes()
	time.Sleep(3*healthInterval + 500*time.Millisecond)
	if got := f.n3.rejected(v3); got != 1 {
		t.Errorf("n3 rejected v%d %d times over %s, want once (no re-push of a NACKed version)", v3, got, 3*healthInterval)
	}
	if got := f.n3.pushes(); got != pushes {
		t.Errorf("n3 answered %d pushes while v%d was current and NACKed, want none", got-pushes, v3)
	}
	if st := f.a.nodes(edgeCluster)[f.n3.id]; st.State != stateNacked {
		t.Errorf("through A, n3 = %s, want NACKED", st)
	}

	t.Run("not_repushed_after_its_replica_restarts", func(t *testing.T) { f.nackSurvivesRestart(t, v3) })

	v4 := f.a.mustApply(edgeCluster, f.config("v4", "red", true, f.edgeCert.CertPEM, f.edgeCert.KeyPEM), "inline the edge certificate")
	f.b.waitSynced(edgeCluster, v4, f.ids()...)
	for _, n := range f.nodes() {
		n.mustRoute("/api", "red")
		n.mustRoute("/shop", "green")
		f.mustRouteTLS(t, n, "/api", "red")
	}
	if st := f.b.nodes(edgeCluster)[f.n3.id]; st.LastNack == nil || uint64(st.LastNack.Version) != v3 {
		t.Errorf("n3's record lost its last NACK after syncing: %s", st)
	}
	return v4
}

// nackSurvivesRestart restarts replica B, which holds n3's stream, while
// the version n3 rejected is still current: B comes back without memory of
// its own and must learn the NACK from n3's record in etcd (the record
// every replica shares), not push the version again.
func (f *fleet) nackSurvivesRestart(t *testing.T, v3 uint64) {
	connects := f.n3.proc.countLog("connected to the control plane")
	f.b.proc.Stop(10 * time.Second)
	f.b.start()
	waitFor(t, syncTimeout, "n3 reconnected to the restarted replica B", func() string {
		if n := f.n3.proc.countLog("connected to the control plane"); n <= connects {
			return fmt.Sprintf("n3 connected %d times", n)
		}
		return ""
	})
	time.Sleep(3*healthInterval + 500*time.Millisecond)
	if got := f.n3.rejected(v3); got != 1 {
		t.Errorf("after replica B restarted, n3 has rejected v%d %d times, want once: the restarted replica pushed the NACKed version again", v3, got)
	}
	if st := f.b.nodes(edgeCluster)[f.n3.id]; st.State != stateNacked || !st.Connected {
		t.Errorf("through the restarted B, n3 = %s, want connected and NACKED", st)
	}
}

// mustRouteTLS checks GET path over TLS on n's 127.0.0.2 listener.
func (f *fleet) mustRouteTLS(t *testing.T, n *dataPlane, path, want string) {
	t.Helper()
	addr := n.waitListener("127.0.0.2")
	c := newClient()
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // a throwaway certificate; the test checks routing
	code, got, err := getFrom(c, "https://"+addr+path)
	if err != nil || code != http.StatusOK || got != want {
		t.Fatalf("%s: GET https://%s%s: %d from %q (err %v), want 200 from %q", n.id, addr, path, code, got, err, want)
	}
}

// outage kills both control planes (as a crash would), checks that every
// node keeps serving v4, restarts n2 to check that it serves v4 from its
// disk cache with no control plane up, then brings both replicas back (the
// same data directory and addresses) and checks that every node reconnects
// and shows SYNCED on v4 without being pushed anything.
func (f *fleet) outage(t *testing.T, v4 uint64) {
	applied := map[string]int{}
	for _, n := range f.nodes() {
		applied[n.id] = n.pushes()
	}
	f.b.proc.Kill()
	f.a.proc.Kill()
	for _, n := range f.nodes() {
		n.mustRoute("/api", "red")
		n.mustRoute("/shop", "green")
	}

	f.n2.proc.Stop(10 * time.Second)
	f.n2.start()
	e := f.n2.proc.waitLog(startTimeout, "serving the cached config")
	if e.str("version") != fmt.Sprint(v4) {
		t.Errorf("restarted n2 serves cached version %s, want %d", e.str("version"), v4)
	}
	f.n2.waitListener("127.0.0.1")
	f.n2.mustRoute("/api", "red")
	f.n2.mustRoute("/shop", "green")
	f.mustRouteTLS(t, f.n2, "/api", "red")
	for _, n := range []*dataPlane{f.n1, f.n3} {
		n.mustRoute("/api", "red")
	}

	since := map[string]int{}
	for _, n := range f.nodes() {
		since[n.id] = n.proc.countLog("connected to the control plane")
	}
	f.a.start()
	f.b.start()
	waitFor(t, syncTimeout, "every node reconnected", func() string {
		var missing []string
		for _, n := range f.nodes() {
			if n.proc.countLog("connected to the control plane") <= since[n.id] {
				missing = append(missing, n.id)
			}
		}
		if len(missing) > 0 {
			return "not yet: " + strings.Join(missing, ", ")
		}
		return ""
	})
	f.a.waitSynced(edgeCluster, v4, f.ids()...)
	f.b.waitSynced(edgeCluster, v4, f.ids()...)
	// Give redundant pushes, if any, time to show.
	time.Sleep(2 * healthInterval)
	for _, n := range f.nodes() {
		before := applied[n.id]
		if n == f.n2 {
			before = 0 // a new process
		}
		if got := n.pushes(); got != before {
			t.Errorf("%s answered %d pushes after the control planes came back, want none (it runs v%d already)", n.id, got-before, v4)
		}
		e, ok := n.proc.findLog("connected to the control plane", `"running_version":`+fmt.Sprint(v4))
		if !ok {
			t.Errorf("%s did not reconnect announcing running_version %d", n.id, v4)
		} else if e.str("current_version") != fmt.Sprint(v4) {
			t.Errorf("%s reconnected with current_version %s, want %d", n.id, e.str("current_version"), v4)
		}
		n.mustRoute("/api", "red")
	}
	f.a.waitSynced(edgeCluster, v4, f.ids()...)
}
