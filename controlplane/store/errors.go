package store

import "errors"

var (
	// ErrNotFound is returned when a cluster has no version, a version does
	// not exist (or was pruned by retention), or a node has no record.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when ApplyMeta.IfVersion does not match the
	// cluster's current version, or when an apply lost too many races with
	// concurrent applies to the same cluster.
	ErrConflict = errors.New("store: conflict")
	// ErrCorrupt is returned when stored data fails verification: an object
	// whose content does not match its hash, a missing object, or a
	// reassembled snapshot whose hash differs from the version's. A corrupt
	// version is never returned as a snapshot.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrTooLarge is returned when one object, or a version's manifest, is
	// larger than one etcd value may be.
	ErrTooLarge = errors.New("store: too large")
)
