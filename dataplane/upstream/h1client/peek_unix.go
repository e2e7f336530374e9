//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package h1client

import "syscall"

// peekSupported reports whether the liveness check is implemented here.
const peekSupported = true

// peek looks at the socket without consuming or blocking: an idle
// connection is alive only if the read would block. Data (unsolicited bytes
// or a TLS alert) and EOF both mean the connection must not be reused.
func (c *conn) peek(fd uintptr) {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.alive = err == syscall.EAGAIN //nolint:errorlint // a bare Errno from the syscall
}
