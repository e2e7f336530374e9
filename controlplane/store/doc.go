// Package store keeps the control plane's state in etcd: every config
// version of every cluster, the objects those versions are made of, and the
// fleet's node records. Control-plane replicas keep nothing of their own,
// so any number of Stores may share one etcd; StartEmbedded runs etcd
// inside the process for a single-machine setup.
//
// # Layout
//
// Every key starts with Config.Prefix (default "/pingap"); cluster names
// and node ids are path-escaped.
//
//	objects/<sha256 hex>             one object, deterministic protobuf
//	clusters/<c>/versions/<%020d>    a version's pb.Manifest
//	clusters/<c>/current             the current version number, decimal
//	nodes/<c>/<id>                   a node's pb.NodeStatus record (no lease)
//	live/<c>/<id>                    present while a replica holds the node's
//	                                 stream; on that replica's session lease
//	replicas/<id>                    a replica's id, on its session's lease
//	                                 (Session.Announce)
//	meta/apply-epoch                 written by every committed apply
//	meta/gc-fence                    written by every object collection
//
// An object is one Server, Location, Upstream, Plugin or Certificate of a
// snapshot, or its Settings. Its key is the SHA-256 of its kind ("server",
// ...), a NUL byte and its deterministic encoding, so equal objects are
// stored once, whatever version or cluster uses them. A manifest holds the
// version's pb.VersionInfo and, per section, name to object hash; it is
// small, so a version far larger than one etcd request (1.5 MiB) is stored
// as many object writes and one small manifest. One object, and one
// manifest, may be at most 1 MiB (ErrTooLarge names the object).
//
// # Apply
//
// Apply hashes the snapshot (config.Hash); content equal to the current
// version's makes no version. Otherwise it writes the objects that are not
// stored yet (in batches under the request limit), then commits in one
// transaction the manifest of version N+1, current = N+1 and the apply
// epoch, on condition that current's ModRevision is the one it read (so
// each version number is used once and nothing is lost between replicas)
// and that the GC fence did not move (see below). A lost race is retried on
// top of the new current version, a bounded number of times, unless
// ApplyMeta.IfVersion asks for a specific current version: then it is
// ErrConflict. Rollback is an apply of an old version's content.
//
// Reads reassemble a snapshot from its manifest and objects, all read at
// one etcd revision, check every object against its hash and the whole
// snapshot against the version's hash, and fail with ErrCorrupt rather
// than return a snapshot that differs from what was applied.
//
// # Retention and garbage collection
//
// After an apply commits version N, manifests older than N-Retention+1 are
// deleted (one range delete). When that deleted any, CollectGarbage runs a
// mark-and-sweep: at one revision R it reads every manifest of every
// cluster (mark) and lists every object key (sweep); objects no manifest
// references are deleted. Two fence keys make this safe against applies
// running in other replicas, without a grace period or clock:
//
//   - every delete transaction requires meta/apply-epoch unchanged since R,
//     so no manifest was committed after the mark and every manifest that
//     exists at the delete was marked;
//   - every delete transaction writes meta/gc-fence, and an apply commits
//     only if meta/gc-fence is unchanged since before it checked which
//     objects were already stored. An apply that found an object stored
//     and a collection that deleted it cannot both succeed: the apply is
//     refused, retried, and writes the object again.
//
// Objects of applies that failed between writing objects and committing
// are collected by the next collection. A collection reads all manifests,
// so its cost grows with clusters × Retention × objects per version.
//
// # Fleet state
//
// A node's record (its last ACK, NACK, health report, which replica holds
// it) is written without a lease and survives disconnects; its liveness
// key is written on the lease of the Session of the replica holding its
// stream. A replica that closes its Session (or dies, after the lease TTL)
// takes all its nodes' liveness keys with it. Nodes derives Connected and
// State (SYNCED, PENDING, NACKED, DISCONNECTED) from the records, the
// liveness keys and the current version, read at one revision.
//
// # Watch
//
// Watch follows a cluster's current key with an etcd watch, starting from
// the revision at which it read the current version; after errors
// (compaction, lost leader, reconnects) it reads the current version again
// and watches from there. Its channel holds one value, replaced by newer
// ones, so a slow reader gets the latest version.
package store
