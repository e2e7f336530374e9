package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lineOf is the 1-based line of the first line of cfg containing s.
func lineOf(t testing.TB, cfg, s string) int {
	t.Helper()
	for i, l := range strings.Split(cfg, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in config", s)
	return 0
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadConfigAtStart checks that `pingap dataplane` refuses a bad config
// or a busy address: exit 1 and stderr naming the field and its line.
func TestBadConfigAtStart(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	free := freeAddr(t)
	valid := func(addr string) string {
		return fmt.Sprintf("[servers.main]\naddr = %q\nlocations = [\"a\"]\n\n[locations.a]\npath = \"/\"\nupstream = \"up\"\n\n", addr) +
			upstreamTOML("up", "", "127.0.0.1:9")
	}
	type tcase struct {
		desc string
		cfg  string
		// want are alternatives: stderr must contain every substring of at
		// least one of them.
		want [][]string
	}
	line := func(cfg, anchor string, nth int) string {
		lines := strings.Split(cfg, "\n")
		for i, l := range lines {
			if strings.Contains(l, anchor) {
				if nth == 0 {
					return fmt.Sprintf("line %d", i+1)
				}
				nth--
			}
		}
		t.Fatalf("%q not in config", anchor)
		return ""
	}
	one := func(desc, cfg string, want ...string) tcase {
		return tcase{desc: desc, cfg: cfg, want: [][]string{want}}
	}
	var tests []tcase
	malformed := "[servers.main]\naddr = \"127.0.0.1:1\"\nlocations = [\"a\"] trailing\n"
	tests = append(tests, one("malformed TOML", malformed, "line 3"))
	cfg := strings.Replace(valid(free), "path = \"/\"", "path = \"/\"\nupstrem = \"up\"", 1)
	tests = append(tests, one("unknown key", cfg, "locations.a.upstrem", line(cfg, "upstrem", 0)))
	cfg = strings.Replace(valid(free), "upstream = \"up\"", "upstream = \"nope\"", 1)
	tests = append(tests, one("dangling upstream reference", cfg, "locations.a.upstream", "nope", line(cfg, "nope", 0)))
	cfg = strings.Replace(valid(free), "locations = [\"a\"]", "locations = [\"a\", \"ghost\"]", 1)
	tests = append(tests, one("dangling location reference", cfg, "servers.main.locations", "ghost", line(cfg, "ghost", 0)))
	cfg = strings.Replace(valid(free), "path = \"/\"", "path = \"~(\"", 1)
	tests = append(tests, one("bad regex", cfg, "locations.a.path", "invalid regex", line(cfg, "~(", 0)))
	cfg = valid(free) + fmt.Sprintf("[servers.other]\naddr = %q\nlocations = [\"a\"]\n", free)
	addrLine := fmt.Sprintf("addr = %q", free)
	tests = append(tests, tcase{desc: "duplicate listen address", cfg: cfg, want: [][]string{
		{"servers.other.addr", free, line(cfg, addrLine, 1)},
		{"servers.main.addr", free, line(cfg, addrLine, 0)},
	}})
	cfg = valid(busy.Addr().String())
	tests = append(tests, one("address already in use", cfg, "servers.main.addr", busy.Addr().String(), line(cfg, "addr =", 0)))

	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "pingap.toml", tc.cfg)
			code, _, stderr := runPingap(t, 10*time.Second, "dataplane", "--config", path)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !containsAny(stderr, tc.want) {
				t.Errorf("stderr does not contain all of %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// containsAny reports whether s contains every string of one of alts.
func containsAny(s string, alts [][]string) bool {
	for _, alt := range alts {
		all := true
		for _, w := range alt {
			all = all && strings.Contains(s, w)
		}
		if all {
			return true
		}
	}
	return false
}

// TestValidate checks `pingap validate`: a valid file prints one line and
// exits 0; a file with three errors prints all three, one per line, and
// exits 1.
func TestValidate(t *testing.T) {
	t.Parallel()
	good := "[servers.main]\naddr = \"127.0.0.1:1\"\nlocations = [\"a\"]\n\n[locations.a]\npath = \"/\"\nupstream = \"up\"\n\n" +
		upstreamTOML("up", "", "127.0.0.1:9")
	code, stdout, stderr := runPingap(t, 10*time.Second, "validate", writeFile(t, "good.toml", good))
	if code != 0 {
		t.Errorf("valid config: exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n"); len(lines) != 1 || lines[0] == "" {
		t.Errorf("valid config: stdout %q, want a one-line summary", stdout)
	}

	bad := "[servers.main]\naddr = \"127.0.0.1:1\"\nlocations = [\"a\"]\n\n" +
		"[locations.a]\npath = \"~(\"\nupstream = \"nope\"\nbogus = 1\n"
	code, _, stderr = runPingap(t, 10*time.Second, "validate", writeFile(t, "bad.toml", bad))
	if code != 1 {
		t.Errorf("invalid config: exit %d, want 1", code)
	}
	for _, want := range []struct{ path, anchor string }{
		{"locations.a.path", "~("},
		{"locations.a.upstream", "nope"},
		{"locations.a.bogus", "bogus"},
	} {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(fmt.Sprintf("%s (line %d): ", want.path, lineOf(t, bad, want.anchor))) + `\S`)
		if !re.MatchString(stderr) {
			t.Errorf("stderr has no line matching %s:\n%s", re, stderr)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(stderr), "\n")); n < 3 {
		t.Errorf("stderr has %d lines, want one per error (3):\n%s", n, stderr)
	}
}

// TestVersion checks `pingap version`.
func TestVersion(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runPingap(t, 10*time.Second, "version")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Errorf("pingap version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
