package fleet

import (
	"path/filepath"
	"testing"
)

// refusedFor waits until dp logs that the control plane ended its stream
// with an error containing every string of reasons, and checks that the
// control plane does not list it and that it serves nothing.
func refusedFor(t *testing.T, cp *controlPlane, cluster string, dp *dataPlane, reasons ...string) {
	t.Helper()
	dp.proc.waitLog(syncTimeout, "control-plane stream ended; reconnecting", reasons...)
	if n := dp.proc.countLog("connected to the control plane"); n != 0 {
		t.Errorf("%s: the refused data plane logged %d connections", dp.id, n)
	}
	if st, ok := cp.nodes(cluster)[dp.id]; ok {
		t.Errorf("the control plane lists the refused node: %s", st)
	}
	if ls := dp.listeners(); len(ls) != 0 {
		t.Errorf("the refused node listens on %v, want nothing", ls)
	}
}

// TestBootstrapToken: with --tokens-file, a data plane with a wrong token
// is refused (it logs why and is not in the fleet), one with a listed token
// syncs.
func TestBootstrapToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokens := writeFile(t, dir, "tokens", "# fleet bootstrap tokens\nold-token\n\n  right-token  \n")
	cp := newControlPlane(t, "cp", dir, "", "--tokens-file", tokens)
	cp.start()
	be := startBackend(t, "blue")
	const cluster = "tokens"
	v1 := cp.mustApply(cluster, fleetConfig{
		name: "tok", upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"},
	}.String(), "first")

	bad := newDataPlane(t, "intruder", cluster, cp.grpc, "", "--token", "wrong-token")
	bad.start()
	good := newDataPlane(t, "member", cluster, cp.grpc, "", "--token", "right-token")
	good.start()

	good.waitListener("127.0.0.1")
	good.waitRoute("/", "blue")
	cp.waitSynced(cluster, v1, good.id)
	refusedFor(t, cp, cluster, bad, "Unauthenticated", "missing or unknown bootstrap token")
	cp.proc.waitLog(syncTimeout, "node refused", `"node":"intruder"`)
}

// TestMutualTLS: with a client CA, a data plane whose client certificate
// names its node id syncs over TLS; one presenting a valid certificate of
// another node id is refused.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newCA(t)
	caPath := writeFile(t, dir, "ca.pem", ca.pem)
	srvCert, srvKey := ca.issue("control plane", "127.0.0.1").Write(t, dir, "server")
	nodeCert, nodeKey := ca.issue("edge-a").Write(t, dir, "edge-a")

	cp := newControlPlane(t, "cp", dir, "", "--grpc-tls-cert", srvCert, "--grpc-tls-key", srvKey, "--grpc-client-ca", caPath)
	cp.start()
	be := startBackend(t, "blue")
	const cluster = "mtls"
	v1 := cp.mustApply(cluster, fleetConfig{
		name: "mtls", upstreams: map[string]string{"blue": be.addr}, routes: map[string]string{"/": "blue"},
	}.String(), "first")

	tlsFlags := []string{"--tls-ca", caPath, "--tls-cert", nodeCert, "--tls-key", nodeKey}
	good := newDataPlane(t, "edge-a", cluster, cp.grpc, "", tlsFlags...)
	good.start()
	// edge-b holds edge-a's certificate (copied from another host, say).
	impostor := newDataPlane(t, "edge-b", cluster, cp.grpc, "", tlsFlags...)
	impostor.start()
	// No client certificate at all: the TLS handshake fails.
	anonymous := newDataPlane(t, "edge-c", cluster, cp.grpc, "", "--tls-ca", filepath.Join(dir, "ca.pem"))
	anonymous.start()

	good.waitListener("127.0.0.1")
	good.waitRoute("/", "blue")
	cp.waitSynced(cluster, v1, good.id)
	refusedFor(t, cp, cluster, impostor, "PermissionDenied", `node id \"edge-b\" is not named by its client certificate`)
	refusedFor(t, cp, cluster, anonymous, "tls: certificate required")
}
