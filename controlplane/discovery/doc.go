// Package discovery serves the DiscoveryService stream: it sends each data
// plane its cluster's current config version, tracks what every node runs
// (ACK), rejected (NACK) and reports (health), and records that node state
// in the fleet store.
//
// The server keeps no state of its own that matters beyond one process: the
// versions come from a Source (the etcd store), node records go to a Fleet.
// One watcher per cluster feeds every stream of that cluster; each version's
// snapshot is fetched once and shared by all of them, and with CodecOption
// it is also encoded once. Every stream keeps at most one push in flight and
// only the newest pending version, so a burst of versions reaches a node as
// the last one.
package discovery
