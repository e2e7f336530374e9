// Package testbin is what the end-to-end test packages (test/e2e,
// test/fleet, test/ctl) share: building the project's commands once per test
// process, and handing out free loopback addresses.
package testbin

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Dir is where Main puts the binaries of the test package called suite: one
// directory per test process, derived from the pid.
func Dir(suite string) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("pingap-%s-%d", suite, os.Getpid()))
}

// Path is the path of a binary Main built.
func Path(suite, name string) string { return filepath.Join(Dir(suite), name) }

// Main builds cmd/NAME for every name into Dir(suite), runs the tests and
// removes the binaries; call it from TestMain.
func Main(m *testing.M, suite string, names ...string) {
	code := func() int {
		if err := os.MkdirAll(Dir(suite), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
			return 1
		}
		defer os.RemoveAll(Dir(suite))
		for _, name := range names {
			cmd := exec.Command("go", "build", "-o", Path(suite, name), "github.com/pingap-go/pingap/cmd/"+name)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: building cmd/%s: %v\n", suite, name, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// handedOut holds every address FreeAddr returned in this process; it is
// test support, shared by one test binary's tests on purpose.
var handedOut sync.Map

// FreeAddr returns a loopback "host:port" nothing listens on, never the same
// one twice in a process (the kernel may hand a just-closed port out again).
func FreeAddr(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
}

// DeadAddr returns a loopback "host:port" that refuses connections for the
// whole test: the port belongs to a connected socket the test holds, so no
// listener can take it (a FreeAddr may be taken by another test process
// and then answer).
func DeadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client.LocalAddr().String()
}
