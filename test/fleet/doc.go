// Package fleet is the end-to-end suite of the control plane and its fleet:
// it builds cmd/pingap and cmd/testbackend and runs real processes on
// loopback (control-plane replicas with embedded or external etcd, data
// planes driven by them, backends), then checks with real HTTP what the
// data planes serve and what the admin API reports. Run it with
// `go test ./test/fleet/`; it is part of `make test`. The external-etcd
// test installs Debian's etcd-server through scripts/etcd.sh.
package fleet
