package testbin

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

func TestDeadAddr(t *testing.T) {
	addr := DeadAddr(t)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("a connection to the dead address %s succeeded", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dialing %s: %v, want connection refused", addr, err)
		}
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("a listener could take the dead address %s", addr)
	}
}
