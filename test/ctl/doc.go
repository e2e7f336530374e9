// Package ctl is the end-to-end suite of pingapctl: it builds cmd/pingap,
// cmd/pingapctl and cmd/testbackend, runs a control plane (embedded etcd,
// admin tokens), data planes driven by it and backends as real processes on
// loopback, and drives them with the pingapctl binary and with
// deploy/gitops/ci.sh, checking exit codes, output and what the data
// planes serve. Run it with `go test ./test/ctl/`.
package ctl
