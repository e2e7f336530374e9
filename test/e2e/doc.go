// Package e2e holds the end-to-end suite of the data plane: it builds
// cmd/pingap and cmd/testbackend, starts them as real processes on loopback
// and checks the proxy's behaviour with a real HTTP client. Run it with
// `go test ./test/e2e/`; it is part of `make test`.
package e2e
