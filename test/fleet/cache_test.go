package fleet

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestCorruptCacheIgnored: a data plane whose disk cache is corrupt (bytes
// flipped, as by a bad disk or a torn copy) starts with no control plane
// reachable: it says clearly that it ignores the cache, serves nothing
// rather than something it cannot trust, and syncs once a control plane
// answers.
func TestCorruptCacheIgnored(t *testing.T) {
	t.Parallel()
	cp := newControlPlane(t, "cp", t.TempDir(), "")
	cp.start()
	be := startBackend(t, "blue")
	const cluster = "cache"
	v1 := cp.mustApply(cluster, fleetConfig{
		name: "cached", upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"},
	}.String(), "first")
	dp := newDataPlane(t, "c1", cluster, cp.grpc, "")
	dp.start()
	oldAddr := dp.waitListener("127.0.0.1")
	dp.waitRoute("/x", "blue")
	cp.waitSynced(cluster, v1, dp.id)

	dp.proc.Stop(10 * time.Second)
	// A data plane that went away shows DISCONNECTED, with what it ran.
	waitFor(t, syncTimeout, "the stopped node DISCONNECTED", func() string {
		if st := cp.nodes(cluster)[dp.id]; st.State != stateDisconnected || st.Connected || uint64(st.RunningVersion) != v1 {
			return st.String()
		}
		return ""
	})
	cp.proc.Stop(10 * time.Second)
	data, err := os.ReadFile(dp.cacheFile())
	if err != nil {
		t.Fatalf("the data plane left no cache: %v", err)
	}
	for i := len(data) - 16; i < len(data); i++ {
		data[i] ^= 0xff
	}
	if err := os.WriteFile(dp.cacheFile(), data, 0o600); err != nil {
		t.Fatal(err)
	}

	dp.start()
	e := dp.proc.waitLog(startTimeout, "ignoring config cache "+dp.cacheFile()+": checksum mismatch")
	if e["level"] != "WARN" {
		t.Errorf("the corrupt cache is logged at level %v, want WARN", e["level"])
	}
	dp.proc.waitLog(startTimeout, "no usable cached config; waiting for the control plane")
	time.Sleep(500 * time.Millisecond) // long enough to bind, had it wanted to
	if dp.proc.Exited() {
		t.Fatal("the data plane exited instead of waiting for the control plane")
	}
	if ls := dp.listeners(); len(ls) != 0 {
		t.Errorf("with a corrupt cache and no control plane the data plane listens on %v, want nothing", ls)
	}
	if _, _, err := getFrom(dp.client, "http://"+oldAddr+"/x"); !isRefused(err) {
		t.Errorf("GET on the old address %s: err %v, want connection refused", oldAddr, err)
	}
	if n := dp.proc.countLog("serving the cached config"); n != 0 {
		t.Errorf("the data plane logged %d times that it serves the cache", n)
	}

	cp.start()
	dp.waitListener("127.0.0.1")
	dp.waitRoute("/x", "blue")
	cp.waitSynced(cluster, v1, dp.id)
	if n := dp.applied(v1); n != 1 {
		t.Errorf("the data plane applied v%d %d times after the control plane came back, want once", v1, n)
	}
	// The cache is whole again: a restart serves from it.
	dp.proc.Stop(10 * time.Second)
	cp.proc.Kill()
	dp.start()
	e = dp.proc.waitLog(startTimeout, "serving the cached config")
	if !strings.HasSuffix(e.str("path"), "snapshot.cache") || e.str("version") != "1" {
		t.Errorf("after the resync the cache serves %v, want version 1", e)
	}
	dp.waitListener("127.0.0.1")
	dp.waitRoute("/x", "blue")
}
