// Package cli holds the cobra commands that the pingap binaries share: the
// data plane, validate and version. The all-in-one `pingap` adds the control
// plane and dev mode; `pingap-dataplane` is the same data plane without the
// control plane (and its embedded etcd) linked in, for data-plane hosts.
package cli
