package ctl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pingap-go/pingap/internal/testcert"
)

// Exit codes of pingapctl (ctl.Exit*), spelled out: the suite checks the
// binary's documented behavior.
const (
	exitOK           = 0
	exitError        = 1
	exitInvalid      = 2
	exitConflict     = 3
	exitNotConverged = 4
)

// configDir writes a config split over three files, as in deploy/gitops:
// /api goes to apiUpstream. extra files (name -> content) are added.
func configDir(t *testing.T, blue, green, apiUpstream string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "upstreams.toml", fmt.Sprintf("[upstreams.blue]\naddrs = [%q]\n\n[upstreams.green]\naddrs = [%q]\n", blue, green))
	writeFile(t, dir, "locations.toml", fmt.Sprintf("# routes\n[locations.api]\npath = \"/api\"\nupstream = %q\n", apiUpstream))
	writeFile(t, dir, "servers.toml", "[settings]\nname = \"ctl-test\"\ngrace_period = \"1s\"\n\n"+
		"[servers.web]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\"]\n")
	for name, data := range extra {
		writeFile(t, dir, name, data)
	}
	return dir
}

// selfSigned writes a self-signed certificate for edge.example and
// 127.0.0.2 to dir/certs/edge.pem and dir/certs/edge-key.pem.
func selfSigned(t *testing.T, dirs ...string) {
	t.Helper()
	l := testcert.SelfSigned(t, "edge.example", "edge.example", "127.0.0.2")
	for _, dir := range dirs {
		l.Write(t, filepath.Join(dir, "certs"), "edge")
	}
}

// tlsFile is a config file adding a TLS server whose certificate is named
// by relative paths: they resolve in each process's working directory.
const tlsFile = "[certificates.edge]\ntls_cert = \"certs/edge.pem\"\ntls_key = \"certs/edge-key.pem\"\n\n" +
	"[servers.secure]\naddr = \"127.0.0.2:0\"\ncertificates = [\"edge\"]\nlocations = [\"api\"]\n"

// cli runs pingapctl against one control plane with a token.
type cli struct {
	t     *testing.T
	dir   string // working directory
	env   map[string]string
	stdin string
}

func (c cli) run(args ...string) ctlResult {
	c.t.Helper()
	return runIn(c.t, c.dir, c.env, c.stdin, append([]string{binPath("pingapctl")}, args...)...)
}

func (c cli) withToken(token string) cli {
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	env["PINGAP_TOKEN"] = token
	c.env = env
	return c
}

func (c cli) withStdin(s string) cli { c.stdin = s; return c }

// waitNodes waits until the cluster lists n connected nodes.
func (c cli) waitNodes(n int) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("%d connected nodes", n), func() string {
		r := c.run("nodes", "-o", "json")
		var out struct {
			Nodes []struct {
				ID        string `json:"id"`
				Connected bool   `json:"connected"`
			} `json:"nodes"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
			return fmt.Sprintf("exit %d: %s%s", r.code, r.stdout, r.err)
		}
		got := 0
		for _, n := range out.Nodes {
			if n.Connected {
				got++
			}
		}
		if got != n {
			return r.stdout
		}
		return ""
	})
}

// TestPingapctl drives one fleet (a control plane, data planes dp1 and dp2,
// backends blue and green) through the CLI's story, in order: refusals,
// validation, apply, unchanged re-apply, diff, history, get round trip,
// conflict, rollback, and a version one node rejects. The stages share the
// fleet: read the first failure.
func TestPingapctl(t *testing.T) {
	const cluster = "edge"
	// The certificate of the last stage exists in the control plane's and
	// dp1's working directories, not in dp2's.
	cpDir, dp1Dir, dp2Dir := t.TempDir(), t.TempDir(), t.TempDir()
	selfSigned(t, cpDir, dp1Dir)
	blue, green := startBackend(t, "blue"), startBackend(t, "green")
	cp := startControlPlane(t, cpDir)
	dp1 := startDataPlane(t, cp, "dp1", cluster, dp1Dir)
	dp2 := startDataPlane(t, cp, "dp2", cluster, dp2Dir)
	admin := cli{t: t, dir: t.TempDir(), env: map[string]string{"PINGAP_SERVER": cp.url(), "PINGAP_CLUSTER": cluster, "PINGAP_TOKEN": adminToken}}
	admin.waitNodes(2)

	v1Dir := configDir(t, blue, green, "blue", nil)

	t.Run("bad_token_401", func(t *testing.T) {
		r := admin.withToken("not-a-token").run("apply", "-f", v1Dir)
		r.must(t, exitError, "401 unauthorized", "set PINGAP_TOKEN or --token")
		r = admin.withToken("").run("history")
		r.must(t, exitError, "set PINGAP_TOKEN or --token")
		if strings.Contains(r.stdout+r.err, adminToken) {
			t.Error("a token was printed")
		}
	})
	t.Run("read_only_token_writing_403", func(t *testing.T) {
		admin.withToken(readToken).run("apply", "-f", v1Dir).must(t, exitError, "403 forbidden", "admin role")
		admin.withToken(readToken).run("rollback", "--to", "1").must(t, exitError, "403 forbidden")
		// Reads are fine.
		admin.withToken(readToken).run("nodes").must(t, exitOK, "dp1", "dp2")
	})
	t.Run("validation_errors_name_files_and_lines", func(t *testing.T) {
		bad := configDir(t, blue, green, "blu", nil)
		want := filepath.Join(bad, "locations.toml") + `: locations.api.upstream (line 4): unknown upstream "blu" (did you mean "blue"?)`
		admin.run("validate", "-f", bad).must(t, exitInvalid, want, "validation failed: 1 error")
		// The control plane finds the same; its errors get their files and
		// lines back.
		admin.run("apply", "-f", bad).must(t, exitInvalid, "rejected the config", want)
		twice := configDir(t, blue, green, "blue", map[string]string{"zz-more.toml": "# more upstreams\n\n[upstreams.green]\naddrs = [\"127.0.0.1:1\"]\n"})
		wantTwice := filepath.Join(twice, "zz-more.toml") + ": upstreams.green (line 3): defined twice: also in " +
			filepath.Join(twice, "upstreams.toml") + " (line 4)"
		admin.run("validate", "-f", twice).must(t, exitInvalid, wantTwice)
		admin.run("apply", "-f", twice).must(t, exitInvalid, wantTwice)
		admin.run("history").must(t, exitOK, "has no version yet")
	})

	t.Run("apply_wait", func(t *testing.T) {
		admin.run("apply", "-f", v1Dir, "-m", "first", "--wait").
			must(t, exitOK, "cluster edge is now at version 1", "version 1 runs on all 2 connected nodes")
		dp1.waitRoute("/api", "blue")
		dp2.waitRoute("/api", "blue")
	})
	t.Run("unchanged_reapply", func(t *testing.T) {
		admin.run("apply", "-f", v1Dir, "-m", "again").must(t, exitOK, "unchanged", "version 1", "no new version")
		r := admin.run("history", "-o", "json")
		if n := strings.Count(r.stdout, `"version":`); n != 1 {
			t.Fatalf("history after an unchanged apply lists %d versions, want 1:\n%s", n, r.stdout)
		}
	})

	v2Dir := configDir(t, blue, green, "green", nil)
	t.Run("diff", func(t *testing.T) {
		r := admin.run("diff", "-f", v2Dir).must(t, exitOK, "locations.api", "green")
		if strings.TrimSpace(r.stdout) == "" {
			t.Fatal("diff printed nothing on standard output")
		}
		admin.run("diff", "-f", v2Dir, "--exit-code").must(t, exitError)
		admin.run("diff", "-f", v1Dir, "--exit-code").must(t, exitOK, "no changes")
		admin.withToken(readToken).run("diff", "-f", v2Dir).must(t, exitOK, "green")
	})
	t.Run("apply_v2", func(t *testing.T) {
		admin.run("apply", "-f", v2Dir, "-m", "api to green", "--wait").must(t, exitOK, "version 2", "~ locations.api: upstream")
		dp1.waitRoute("/api", "green")
		dp2.waitRoute("/api", "green")
	})
	t.Run("history", func(t *testing.T) {
		r := admin.run("history").must(t, exitOK, "VERSION", "AGE", "AUTHOR", "MESSAGE", "HASH")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "2*") || !strings.Contains(lines[1], "api to green") ||
			!strings.HasPrefix(lines[2], "1 ") || !strings.Contains(lines[2], "first") {
			t.Fatalf("history table:\n%s", r.stdout)
		}
		var h struct {
			Cluster  string `json:"cluster"`
			Versions []struct {
				Version uint64 `json:"version"`
				Hash    string `json:"hash"`
				Author  string `json:"author"`
				Message string `json:"message"`
				Parent  uint64 `json:"parent"`
			} `json:"versions"`
		}
		r = admin.run("history", "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
			t.Fatalf("history -o json: %v\n%s", err, r.stdout)
		}
		if h.Cluster != cluster || len(h.Versions) != 2 || h.Versions[0].Version != 2 || h.Versions[0].Parent != 1 ||
			h.Versions[0].Message != "api to green" || !strings.HasPrefix(h.Versions[0].Hash, "sha256:") {
			t.Fatalf("history -o json: %+v", h)
		}
		if !strings.Contains(lines[1], h.Versions[0].Author) || h.Versions[0].Author == "" {
			t.Errorf("author %q (the token's name by default) missing from the table", h.Versions[0].Author)
		}
	})
	t.Run("get_round_trips", func(t *testing.T) {
		r := admin.run("get", "-o", "toml").must(t, exitOK, "[locations.api]")
		file := writeFile(t, t.TempDir(), "current.toml", r.stdout)
		admin.run("validate", "-f", file).must(t, exitOK, "ok: 1 servers, 1 locations, 2 upstreams")
		admin.run("apply", "-f", file).must(t, exitOK, "unchanged", "version 2")
		js := admin.run("get", "--version", "1", "-o", "json").must(t, exitOK, `"upstreams"`)
		admin.withStdin(js.stdout).run("apply", "-f", "-", "--dry-run").must(t, exitOK, "dry run: would make a new version", "current version 2")
		admin.withStdin(js.stdout).run("diff", "-f", "-").must(t, exitOK, "blue")
	})
	t.Run("conflict", func(t *testing.T) {
		admin.run("apply", "-f", v1Dir, "--if-version", "1").
			must(t, exitConflict, "the current version is 2; re-run with --if-version 2 after reviewing `pingapctl diff -f "+v1Dir+"`")
	})
	t.Run("rollback", func(t *testing.T) {
		admin.run("rollback", "--to", "1", "-m", "back to blue", "--wait").
			must(t, exitOK, "rolled back to the content of version 1", "version 3", "runs on all 2 connected nodes")
		dp1.waitRoute("/api", "blue")
		dp2.waitRoute("/api", "blue")
		admin.run("rollback", "--to", "99").must(t, exitError, "version 99", "pingapctl history")
	})
	t.Run("wait_fails_when_a_node_rejects", func(t *testing.T) {
		tlsDir := configDir(t, blue, green, "green", map[string]string{"tls.toml": tlsFile})
		r := admin.run("apply", "-f", tlsDir, "-m", "TLS from certs/", "--wait", "--timeout", "30s")
		r.must(t, exitNotConverged, "version 4", "1 node(s) rejected version 4", "dp2: ", "certs/edge.pem", "no such file")
		if strings.Contains(r.err, "dp1:") {
			t.Errorf("dp1 listed as rejecting:\n%s", r.err)
		}
		dp1.waitRoute("/api", "green")
		dp2.waitRoute("/api", "blue") // still version 3
	})
	t.Run("status_and_nodes", func(t *testing.T) {
		admin.run("status").must(t, exitOK, "cluster:  edge", "version:  4", "2 total: 1 synced, 0 pending, 1 nacked, 0 disconnected",
			"dp2 rejected version 4")
		r := admin.run("nodes").must(t, exitOK, "NODE", "STATE", "VERSION", "LAST-SEEN", "SERVER", "ERROR")
		var dp1Line, dp2Line string
		for _, l := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) > 0 && f[0] == "dp1":
				dp1Line = l
			case len(f) > 0 && f[0] == "dp2":
				dp2Line = l
			}
		}
		if f := strings.Fields(dp1Line); len(f) < 5 || f[1] != "SYNCED" || f[2] != "4" || f[4] != "cp-1" {
			t.Errorf("dp1 row %q, want SYNCED on 4 through cp-1", dp1Line)
		}
		if f := strings.Fields(dp2Line); len(f) < 6 || f[1] != "NACKED" || f[2] != "3" || !strings.Contains(dp2Line, "certs/edge.pem") {
			t.Errorf("dp2 row %q, want NACKED running 3 with the error", dp2Line)
		}
		admin.run("nodes", "dp2").must(t, exitOK, "node:        dp2", "state:       NACKED", "last NACK:   version 4", "no such file")
		admin.run("nodes", "nope").must(t, exitError, `has no node "nope"`)
		var st struct {
			CurrentVersion uint64 `json:"current_version"`
			Nodes          struct {
				Total, Synced, Nacked int
			} `json:"nodes"`
			Nacks []struct {
				Node    string `json:"node"`
				Version uint64 `json:"version"`
			} `json:"nacks"`
		}
		r = admin.run("status", "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.CurrentVersion != 4 || st.Nodes.Total != 2 ||
			st.Nodes.Nacked != 1 || len(st.Nacks) != 1 || st.Nacks[0].Node != "dp2" {
			t.Fatalf("status -o json: %v %+v\n%s", err, st, r.stdout)
		}
	})
}

// TestGitOpsCI runs deploy/gitops/ci.sh end to end: on a pull request it
// validates and diffs (and fails on an invalid config with exit code 2), on
// merge it applies with --wait and the data plane serves the config;
// merging again changes nothing.
func TestGitOpsCI(t *testing.T) {
	t.Parallel()
	api, web := startBackend(t, "api"), startBackend(t, "web")
	cp := startControlPlane(t, t.TempDir())
	dp := startDataPlane(t, cp, "edge-1", "default", t.TempDir())
	repo := copyGitOps(t, map[string]string{
		`"10.0.1.10:8080", "10.0.1.11:8080"`: fmt.Sprintf("%q", api),
		`"10.0.2.10:8080"`:                   fmt.Sprintf("%q", web),
		`"0.0.0.0:8080"`:                     `"127.0.0.1:0"`,
	})
	ci := filepath.Join(repo, "ci.sh")
	read := map[string]string{"PINGAP_SERVER": cp.url(), "PINGAP_TOKEN": readToken}
	merge := map[string]string{"PINGAP_SERVER": cp.url(), "PINGAP_TOKEN": adminToken, "COMMIT": "1a2b3c4 route the api", "WAIT_TIMEOUT": "30s"}
	c := cli{t: t, dir: repo, env: read}
	c.waitNodes(1)

	t.Run("pull_request", func(t *testing.T) {
		r := runIn(t, repo, read, "", "bash", ci, "pr").must(t, exitOK, "config/ (3 files): ok: 1 servers, 2 locations, 2 upstreams")
		for _, want := range []string{"Applying this change would do", "upstreams", "api", "web"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("ci.sh pr output lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("merge", func(t *testing.T) {
		runIn(t, repo, merge, "", "bash", ci, "merge").must(t, exitOK, "now at version 1", "runs on the 1 connected node")
		dp.waitRoute("/api/users", "api")
		dp.waitRoute("/", "web")
		c.run("history").must(t, exitOK, "1a2b3c4 route the api")
		// Merging content that is already live makes no version.
		runIn(t, repo, merge, "", "bash", ci, "merge").must(t, exitOK, "unchanged")
		runIn(t, repo, read, "", "bash", ci, "pr").must(t, exitOK, "no changes")
	})
	t.Run("pull_request_with_an_error", func(t *testing.T) {
		loc := filepath.Join(repo, "config", "locations.toml")
		data, err := os.ReadFile(loc)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, repo, "config/locations.toml", strings.Replace(string(data), `upstream = "web"`, `upstream = "wbe"`, 1))
		runIn(t, repo, read, "", "bash", ci, "pr").must(t, exitInvalid, `config/locations.toml: locations.web.upstream (line 9): unknown upstream "wbe"`)
		// A merge of it would be refused the same way and change nothing.
		runIn(t, repo, merge, "", "bash", ci, "merge").must(t, exitInvalid, `unknown upstream "wbe"`)
		dp.waitRoute("/", "web")
	})
}

// copyGitOps copies deploy/gitops to a temporary directory, replacing
// strings in its config files, and returns the copy.
func copyGitOps(t *testing.T, replace map[string]string) string {
	t.Helper()
	src := filepath.Join("..", "..", "deploy", "gitops")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := string(data)
		if strings.HasPrefix(rel, "config"+string(filepath.Separator)) {
			for from, to := range replace {
				s = strings.ReplaceAll(s, from, to)
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), []byte(s), info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
