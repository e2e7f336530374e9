// Package deploy holds deployment files: the container image, a compose
// fleet, Kubernetes manifests, systemd units, the Grafana dashboard and the
// GitOps pipeline. Its test keeps the commands they run in step with the
// binaries' flags.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/pingap-go/pingap/internal/testbin"
)

func TestMain(m *testing.M) { testbin.Main(m, "deploy", "pingap", "pingap-dataplane") }

// invocation is a command line a deployment file runs.
type invocation struct {
	where string // file and object, for messages
	bin   string // "pingap" or "pingap-dataplane"
	args  []string
}

// check runs the invocation with --help appended: the binary parses every
// flag (name and value) before it prints the help, so an unknown flag or a
// bad value fails.
func (inv invocation) check(t *testing.T) {
	t.Helper()
	cmd := exec.Command(testbin.Path("deploy", inv.bin), append(append([]string{}, inv.args...), "--help")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: %s %s: %v\n%s", inv.where, inv.bin, strings.Join(inv.args, " "), err, out.String())
	}
}

func binary(entry []string) string {
	if len(entry) == 0 {
		return "pingap" // the image's entrypoint
	}
	return filepath.Base(entry[0])
}

func TestCompose(t *testing.T) {
	raw, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image      string   `json:"image"`
			Entrypoint []string `json:"entrypoint"`
			Command    []string `json:"command"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	n := 0
	for name, s := range doc.Services {
		if s.Image != "pingap-go" {
			continue
		}
		n++
		invocation{where: "compose service " + name, bin: binary(s.Entrypoint), args: s.Command}.check(t)
	}
	if n != 3 {
		t.Fatalf("compose.yaml runs %d pingap services, want the control plane and two data planes", n)
	}
	// The config it applies validates, and serves the status port Prometheus scrapes.
	out, err := exec.Command(testbin.Path("deploy", "pingap"), "validate", "compose/pingap.toml").CombinedOutput()
	if err != nil {
		t.Fatalf("pingap validate compose/pingap.toml: %v\n%s", err, out)
	}
	cfg, _ := os.ReadFile("compose/pingap.toml")
	prom, _ := os.ReadFile("compose/prometheus.yml")
	if !strings.Contains(string(cfg), `admin_addr = "0.0.0.0:6100"`) || !strings.Contains(string(prom), "dataplane-1:6100") ||
		!strings.Contains(string(prom), "controlplane:9181") {
		t.Error("prometheus.yml does not scrape the ports compose.yaml and pingap.toml serve metrics on")
	}
}

func TestKubernetes(t *testing.T) {
	raw, err := os.ReadFile("kubernetes/pingap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, part := range strings.Split(string(raw), "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Image   string   `json:"image"`
							Command []string `json:"command"`
							Args    []string `json:"args"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		js, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		if err := json.Unmarshal(js, &obj); err != nil || obj.Kind == "" {
			t.Fatalf("document %d is not a Kubernetes object (%v)", i+1, err)
		}
		for _, c := range obj.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "pingap-go") {
				continue
			}
			n++
			invocation{where: obj.Kind + " " + obj.Metadata.Name, bin: binary(c.Command), args: c.Args}.check(t)
		}
	}
	if n != 2 {
		t.Fatalf("the manifests run %d pingap containers, want the control plane and the data plane", n)
	}
}

func TestSystemd(t *testing.T) {
	units, err := filepath.Glob("systemd/*.service")
	if err != nil || len(units) != 2 {
		t.Fatalf("units %v (%v), want two", units, err)
	}
	for _, u := range units {
		raw, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		var exec string
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
				exec = strings.ReplaceAll(v, "${PINGAP_CONTROL_PLANE}", "127.0.0.1:18000")
			}
		}
		f := strings.Fields(exec)
		if len(f) < 2 {
			t.Fatalf("%s: no ExecStart", u)
		}
		invocation{where: u, bin: filepath.Base(f[0]), args: f[1:]}.check(t)
	}
}
