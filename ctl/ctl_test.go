package ctl

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// result is one pingapctl run.
type result struct {
	code        int
	stdout, err string
}

// run runs pingapctl with args; env holds the environment (HOME points at
// an empty directory unless set).
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, func(k string) string { return env[k] })
	return result{code: code, stdout: out.String(), err: errb.String()}
}

func (r result) must(t *testing.T, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.err)
	}
	all := r.stdout + r.err
	for _, c := range contains {
		if !strings.Contains(all, c) {
			t.Fatalf("output does not contain %q\nstdout:\n%s\nstderr:\n%s", c, r.stdout, r.err)
		}
	}
}

const (
	cfgV1 = "[upstreams.api]\naddrs = [\"127.0.0.1:8080\"]\n\n[locations.api]\npath = \"/api\"\nupstream = \"api\"\n\n" +
		"[servers.main]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\"]\n"
	cfgV2 = cfgV1 + "\n[upstreams.shop]\naddrs = [\"127.0.0.1:8081\"]\n"
)

// writeCfg writes a config file and returns its path.
func writeCfg(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func adminEnv(server string) map[string]string {
	return map[string]string{"PINGAP_SERVER": server, "PINGAP_TOKEN": "admin-token", "PINGAP_AUTHOR": "tester"}
}

func TestApplyUnchangedConflictAndDryRun(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	env := adminEnv(srv.URL)
	p1, p2 := writeCfg(t, "v1.toml", cfgV1), writeCfg(t, "v2.toml", cfgV2)

	run(t, env, "", "apply", "-f", p1, "-m", "first").must(t, ExitOK, "now at version 1", "+ upstreams.api")
	if f.lastType != "application/json" || !strings.Contains(f.requests[len(f.requests)-1], "author=tester") {
		t.Errorf("upload %q with request %q, want protojson and the author from PINGAP_AUTHOR", f.lastType, f.requests[len(f.requests)-1])
	}
	run(t, env, "", "apply", "-f", p1).must(t, ExitOK, "unchanged", "no new version")
	if len(f.versions) != 1 {
		t.Fatalf("%d versions after an unchanged apply, want 1", len(f.versions))
	}
	run(t, env, "", "apply", "-f", p2, "--dry-run").must(t, ExitOK, "dry run: would make a new version", "+ upstreams.shop")
	if len(f.versions) != 1 {
		t.Fatal("a dry run stored a version")
	}
	r := run(t, env, "", "apply", "-f", p2, "--if-version", "7")
	r.must(t, ExitConflict, "the current version is 1; re-run with --if-version 1 after reviewing `pingapctl diff -f "+p2+"`")
	run(t, env, "", "apply", "-f", p2, "--if-version", "1", "-o", "json").must(t, ExitOK, `"created": true`)
	run(t, env, "", "apply", "-f", p2, "-o", "json").must(t, ExitOK, `"created": false`)
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	_, srv := newFakeAPI(t)
	p := writeCfg(t, "c.toml", cfgV1)
	r := run(t, map[string]string{"PINGAP_SERVER": srv.URL, "PINGAP_TOKEN": "s3cret-wrong"}, "", "apply", "-f", p)
	r.must(t, ExitFailure, "401 unauthorized", "set PINGAP_TOKEN or --token")
	if strings.Contains(r.stdout+r.err, "s3cret-wrong") {
		t.Error("the token was printed")
	}
	run(t, map[string]string{"PINGAP_SERVER": srv.URL}, "", "history").must(t, ExitFailure, "wants a token", "set PINGAP_TOKEN or --token")
	run(t, map[string]string{"PINGAP_SERVER": srv.URL, "PINGAP_TOKEN": "read-token"}, "", "apply", "-f", p).
		must(t, ExitFailure, "403 forbidden", "admin role")
	run(t, map[string]string{"PINGAP_SERVER": srv.URL, "PINGAP_TOKEN": "read-token"}, "", "history").must(t, ExitOK)
}

func TestServerValidationErrorsGetFilesAndLines(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	dir := t.TempDir()
	for name, data := range map[string]string{
		"a.toml": "[upstreams.api]\naddrs = [\"127.0.0.1:8080\"]\n",
		"b.toml": "[locations.api]\npath = \"/api\"\nupstream = \"api\"\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The control plane finds what this machine cannot (a missing
	// certificate file there, say); its errors name paths only.
	f.invalid = config.ErrorList{{Path: "locations.api.upstream", Msg: "not reachable from here"}}
	r := run(t, adminEnv(srv.URL), "", "apply", "-f", dir)
	r.must(t, ExitInvalid, filepath.Join(dir, "b.toml")+": locations.api.upstream (line 3): not reachable from here", "validation failed: 1 error")
}

func TestValidateOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "1-upstreams.toml"), []byte("[upstreams.api]\naddrs = [\"127.0.0.1:8080\"]\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "2-locations.toml"), []byte("[locations.api]\npath = \"/api\"\n\nupstream = \"apii\"\n"), 0o600)
	// No server is needed: point at a closed port to prove it.
	env := map[string]string{"PINGAP_SERVER": "http://127.0.0.1:1"}
	r := run(t, env, "", "validate", "-f", dir)
	r.must(t, ExitInvalid, filepath.Join(dir, "2-locations.toml")+`: locations.api.upstream (line 4): unknown upstream "apii"`)
	r = run(t, env, "", "validate", "-f", dir, "-o", "json")
	var out validationJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Valid || len(out.Errors) != 1 || out.Errors[0].Line != 4 {
		t.Fatalf("validate -o json: %v %+v\n%s", err, out, r.stdout)
	}
	run(t, env, cfgV1, "validate", "-f", "-").must(t, ExitOK, "standard input: ok: 1 servers, 1 locations, 1 upstreams")
	run(t, env, "[upstreams.x\n", "validate", "-f", "-").must(t, ExitInvalid, "-: line 1: toml syntax error")
	run(t, env, "", "validate").must(t, ExitFailure, "no config given")
}

func TestHistoryGetRollbackDiff(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	env := adminEnv(srv.URL)
	run(t, env, "", "apply", "-f", writeCfg(t, "v1.toml", cfgV1), "-m", "first").must(t, ExitOK)
	p2 := writeCfg(t, "v2.toml", cfgV2)
	run(t, env, "", "diff", "-f", p2).must(t, ExitOK, "+[upstreams.shop]")
	run(t, env, "", "diff", "-f", p2, "--exit-code").must(t, ExitFailure)
	run(t, env, "", "diff", "-f", writeCfg(t, "same.toml", cfgV1), "--exit-code").must(t, ExitOK, "no changes")
	run(t, env, "", "apply", "-f", p2, "-m", "add shop").must(t, ExitOK, "version 2")

	r := run(t, env, "", "history")
	r.must(t, ExitOK, "VERSION", "AGE", "AUTHOR", "MESSAGE", "HASH")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "2*") || !strings.Contains(lines[1], "add shop") || !strings.Contains(lines[2], "tester") {
		t.Fatalf("history table:\n%s", r.stdout)
	}
	r = run(t, env, "", "history", "-o", "json", "--limit", "1")
	var h struct {
		Versions []versionJSON `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil || len(h.Versions) != 1 || h.Versions[0].Version != 2 || h.Versions[0].Parent != 1 {
		t.Fatalf("history -o json: %v\n%s", err, r.stdout)
	}
	run(t, env, "", "get", "--version", "1").must(t, ExitOK, "# fake TOML of version 1")
	r = run(t, env, "", "get", "-o", "json")
	r.must(t, ExitOK, `"upstreams"`, `"shop"`)
	// get -o json is an input of apply: the same content, no new version.
	run(t, env, r.stdout, "apply", "-f", "-").must(t, ExitOK, "unchanged")

	run(t, env, "", "diff", "--from", "1").must(t, ExitOK, "+[upstreams.shop]")
	run(t, env, "", "rollback").must(t, ExitOK, "rolled back to the content of version 1", "version 3")
	if got := f.requests[len(f.requests)-1]; !strings.Contains(got, "to=1") || !strings.Contains(got, "if_version=2") {
		t.Errorf("rollback request %q, want to=1 and if_version=2", got)
	}
	run(t, env, "", "rollback", "--to", "9").must(t, ExitFailure, "version 9 of cluster default does not exist")
	run(t, env, "", "rollback", "--to", "1", "--if-version", "2").must(t, ExitConflict, "the current version is 3")
}

func TestWait(t *testing.T) {
	t.Parallel()
	const (
		synced  = pb.NodeState_NODE_STATE_SYNCED
		pending = pb.NodeState_NODE_STATE_PENDING
		nacked  = pb.NodeState_NODE_STATE_NACKED
	)
	tests := []struct {
		desc    string
		advance func(f *fakeAPI, polls int) // moves the fleet on at each poll
		timeout string
		code    int
		want    []string
	}{
		{
			desc: "every node syncs",
			advance: func(f *fakeAPI, polls int) {
				for i, n := range f.nodes {
					if polls > i {
						n.State, n.RunningVersion = synced, f.current()
					}
				}
			},
			code: ExitOK, want: []string{"waiting for version 2: 1/3 connected nodes synced, 2 pending", "runs on all 3 connected nodes"},
		},
		{
			desc: "one node rejects",
			advance: func(f *fakeAPI, polls int) {
				f.nodes[0].State, f.nodes[0].RunningVersion = synced, f.current()
				f.nodes[1].State, f.nodes[1].RunningVersion = synced, f.current()
				if polls > 1 {
					f.nodes[2].State = nacked
					f.nodes[2].LastNack = &pb.NackInfo{Version: f.current(), Error: "certificates.edge.tls_cert: open certs/edge.pem: no such file or directory"}
				}
			},
			code: ExitNotConverged, want: []string{"1 node(s) rejected version 2", "n3: certificates.edge.tls_cert: open certs/edge.pem: no such file"},
		},
		{
			desc:    "timeout lists the nodes not synced",
			advance: func(f *fakeAPI, _ int) { f.nodes[0].State, f.nodes[0].RunningVersion = synced, f.current() },
			timeout: "600ms",
			code:    ExitNotConverged, want: []string{"did not converge on version 2 within 600ms", "n2: PENDING, runs version 1", "n3: PENDING"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeAPI(t)
			env := adminEnv(srv.URL)
			run(t, env, "", "apply", "-f", writeCfg(t, "v1.toml", cfgV1)).must(t, ExitOK)
			f.mu.Lock()
			f.nodes = []*pb.NodeStatus{node("n1", pending, 1), node("n2", pending, 1), node("n3", pending, 1)}
			polls := 0
			f.onStatus = func(f *fakeAPI) { polls++; tc.advance(f, polls) }
			f.mu.Unlock()
			args := []string{"apply", "-f", writeCfg(t, "v2.toml", cfgV2), "--wait"}
			if tc.timeout != "" {
				args = append(args, "--timeout", tc.timeout)
			}
			run(t, env, "", args...).must(t, tc.code, tc.want...)
		})
	}
}

func TestStatusAndNodes(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	env := adminEnv(srv.URL)
	run(t, env, "", "apply", "-f", writeCfg(t, "v1.toml", cfgV1)).must(t, ExitOK)
	bad := node("n2", pb.NodeState_NODE_STATE_NACKED, 0)
	bad.LastNack = &pb.NackInfo{Version: 1, Error: "no such file\nsecond line"}
	f.mu.Lock()
	f.nodes = []*pb.NodeStatus{node("n1", pb.NodeState_NODE_STATE_SYNCED, 1), bad}
	f.mu.Unlock()
	run(t, env, "", "status").must(t, ExitOK, "version:  1", "2 total: 1 synced, 0 pending, 1 nacked", "n2 rejected version 1: no such file")
	r := run(t, env, "", "nodes")
	r.must(t, ExitOK, "NODE", "STATE", "VERSION", "LAST-SEEN", "SERVER", "ERROR")
	if !strings.Contains(r.stdout, "n2    NACKED  0        0s         cp-1    no such file\n") {
		t.Errorf("nodes table:\n%s", r.stdout)
	}
	run(t, env, "", "nodes", "n2").must(t, ExitOK, "node:        n2", "last NACK:   version 1", "  second line")
	run(t, env, "", "nodes", "n9").must(t, ExitFailure, `has no node "n9"`)
	r = run(t, env, "", "nodes", "-o", "json")
	var out struct {
		Nodes []nodeJSON `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Nodes) != 2 || out.Nodes[1].LastNack.Version != 1 {
		t.Fatalf("nodes -o json: %v\n%s", err, r.stdout)
	}
	r = run(t, env, "", "status", "-o", "json")
	var st Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.CurrentVersion != 1 || st.Nodes.Nacked != 1 {
		t.Fatalf("status -o json: %v\n%s", err, r.stdout)
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	run(t, map[string]string{"PINGAP_SERVER": "http://127.0.0.1:1"}, "", "status").
		must(t, ExitFailure, "cannot reach the control plane at http://127.0.0.1:1", "--server or PINGAP_SERVER")
}

func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	run(t, nil, "", "version").must(t, ExitOK, "pingapctl ")
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := run(t, nil, "", "completion", sh); r.code != 0 || len(r.stdout) < 100 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.code, len(r.stdout))
		}
	}
	run(t, nil, "", "nosuch").must(t, ExitFailure, "unknown command")
	run(t, nil, "", "history", "-o", "yaml").must(t, ExitFailure, `-o "yaml": want one of table, json`)
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "pingapctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := "server = \"http://file:1\"\ntoken = \"file-token\"\ncluster = \"file-cluster\"\n"
	if err := os.WriteFile(filepath.Join(xdg, "pingapctl", "config.toml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	other := writeCfg(t, "other.toml", "cluster = \"other\"\n")
	tests := []struct {
		desc                   string
		env                    map[string]string
		args                   []string
		server, token, cluster string
		err                    string
	}{
		{desc: "defaults", env: map[string]string{}, server: DefaultServer, cluster: DefaultCluster},
		{desc: "file", env: map[string]string{"XDG_CONFIG_HOME": xdg}, server: "http://file:1", token: "file-token", cluster: "file-cluster"},
		{desc: "env over file", env: map[string]string{"XDG_CONFIG_HOME": xdg, "PINGAP_CLUSTER": "env-cluster", "PINGAP_TOKEN": "env-token"},
			server: "http://file:1", token: "env-token", cluster: "env-cluster"},
		{desc: "flag over env", env: map[string]string{"XDG_CONFIG_HOME": xdg, "PINGAP_CLUSTER": "env-cluster"},
			args: []string{"--cluster", "flag-cluster", "--server", "http://flag:2"}, server: "http://flag:2", token: "file-token", cluster: "flag-cluster"},
		{desc: "--config replaces the default file", env: map[string]string{"XDG_CONFIG_HOME": xdg}, args: []string{"--config", other},
			server: DefaultServer, cluster: "other"},
		{desc: "missing --config", env: map[string]string{}, args: []string{"--config", filepath.Join(xdg, "nope.toml")}, err: "no such file"},
		{desc: "unknown key", env: map[string]string{}, args: []string{"--config", writeCfg(t, "bad.toml", "sever = \"x\"\n")}, err: "sever"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var f settingsFlags
			fl := pflag.NewFlagSet("pingapctl", pflag.ContinueOnError)
			f.register(fl)
			if err := fl.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			s, err := resolveSettings(&f, fl, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Server != tc.server || s.Token != tc.token || s.Cluster != tc.cluster {
				t.Errorf("got server %q token %q cluster %q, want %q %q %q", s.Server, s.Token, s.Cluster, tc.server, tc.token, tc.cluster)
			}
		})
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{{5 * time.Second, "5s"}, {3 * time.Minute, "3m"}, {5 * time.Hour, "5h"}, {72 * time.Hour, "3d"}} {
		if got := age(timestamppb.New(now.Add(-tc.ago)), now); got != tc.want {
			t.Errorf("age(%s) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := age(nil, now); got != "-" {
		t.Errorf("age(nil) = %q", got)
	}
}
