package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The data-plane binary must not link the control plane: its memory and
// attack surface are the point of having it.
func TestNoControlPlaneLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.etcd.io/") || strings.HasPrefix(dep, "github.com/pingap-go/pingap/controlplane") {
			t.Errorf("pingap-dataplane links %s", dep)
		}
	}
}
