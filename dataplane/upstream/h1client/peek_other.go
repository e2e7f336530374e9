//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package h1client

// peekSupported reports whether the liveness check is implemented here; on
// other systems idle connections are assumed alive and a failure on reuse
// is retried when nothing was sent.
const peekSupported = false

func (c *conn) peek(uintptr) { c.alive = true }
