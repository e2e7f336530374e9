package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Limits that keep every etcd request under etcd's default 1.5 MiB.
const (
	// maxObjectBytes is the largest object (one server, location, upstream,
	// plugin, certificate or the settings) the Store accepts.
	maxObjectBytes = 1 << 20
	// maxManifestBytes is the largest manifest the Store accepts.
	maxManifestBytes = 1 << 20
	// maxBatchBytes and maxBatchOps bound one transaction of object puts
	// or gets.
	maxBatchBytes = 1 << 20
	maxBatchOps   = 64
)

// Object kinds; each is hashed with the object's bytes, so equal bytes of
// different kinds never share a key.
const (
	kindSettings    = "settings"
	kindServer      = "server"
	kindLocation    = "location"
	kindUpstream    = "upstream"
	kindPlugin      = "plugin"
	kindCertificate = "certificate"
)

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// object is one stored object of a snapshot.
type object struct {
	kind string // kindServer, ...
	name string // its name in the snapshot; "" for settings
	data []byte // deterministic protobuf encoding
	hash string // hex SHA-256 of kind, a NUL byte and data
}

// label names the object in errors: `upstream "api"`.
func (o object) label() string {
	if o.kind == kindSettings {
		return kindSettings
	}
	return fmt.Sprintf("%s %q", o.kind, o.name)
}

func objectHash(kind string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func newObject(kind, name string, m proto.Message) (object, error) {
	o := object{kind: kind, name: name}
	data, err := marshalOpts.Marshal(m)
	if err != nil {
		return o, fmt.Errorf("store: encode %s: %w", o.label(), err)
	}
	if len(data) > maxObjectBytes {
		return o, fmt.Errorf("%w: %s is %d bytes; an object may be at most %d",
			ErrTooLarge, o.label(), len(data), maxObjectBytes)
	}
	o.data, o.hash = data, objectHash(kind, data)
	return o, nil
}

// split breaks a snapshot into its objects and a manifest referencing
// them (the manifest's Info is left for the caller).
func split(snap *pb.Snapshot) (*pb.Manifest, []object, error) {
	m := &pb.Manifest{}
	var objs []object
	if snap.GetSettings() != nil {
		o, err := newObject(kindSettings, "", snap.GetSettings())
		if err != nil {
			return nil, nil, err
		}
		m.Settings = o.hash
		objs = append(objs, o)
	}
	var err error
	if m.Servers, objs, err = splitSection(kindServer, snap.GetServers(), objs); err != nil {
		return nil, nil, err
	}
	if m.Locations, objs, err = splitSection(kindLocation, snap.GetLocations(), objs); err != nil {
		return nil, nil, err
	}
	if m.Upstreams, objs, err = splitSection(kindUpstream, snap.GetUpstreams(), objs); err != nil {
		return nil, nil, err
	}
	if m.Plugins, objs, err = splitSection(kindPlugin, snap.GetPlugins(), objs); err != nil {
		return nil, nil, err
	}
	if m.Certificates, objs, err = splitSection(kindCertificate, snap.GetCertificates(), objs); err != nil {
		return nil, nil, err
	}
	return m, objs, nil
}

func splitSection[T proto.Message](kind string, section map[string]T, objs []object) (map[string]string, []object, error) {
	if len(section) == 0 {
		return nil, objs, nil
	}
	refs := make(map[string]string, len(section))
	for _, name := range slices.Sorted(maps.Keys(section)) {
		o, err := newObject(kind, name, section[name])
		if err != nil {
			return nil, nil, err
		}
		refs[name] = o.hash
		objs = append(objs, o)
	}
	return refs, objs, nil
}

// assemble rebuilds a snapshot from a manifest and the objects' bytes by
// hash, verifying each object against its hash.
func assemble(m *pb.Manifest, data map[string][]byte) (*pb.Snapshot, error) {
	snap := &pb.Snapshot{}
	if m.GetSettings() != "" {
		snap.Settings = &pb.Settings{}
		o := object{kind: kindSettings, hash: m.GetSettings()}
		if err := decodeObject(o, data, snap.Settings); err != nil {
			return nil, err
		}
	}
	var err error
	if snap.Servers, err = assembleSection[pb.Server](kindServer, m.GetServers(), data); err != nil {
		return nil, err
	}
	if snap.Locations, err = assembleSection[pb.Location](kindLocation, m.GetLocations(), data); err != nil {
		return nil, err
	}
	if snap.Upstreams, err = assembleSection[pb.Upstream](kindUpstream, m.GetUpstreams(), data); err != nil {
		return nil, err
	}
	if snap.Plugins, err = assembleSection[pb.Plugin](kindPlugin, m.GetPlugins(), data); err != nil {
		return nil, err
	}
	if snap.Certificates, err = assembleSection[pb.Certificate](kindCertificate, m.GetCertificates(), data); err != nil {
		return nil, err
	}
	return snap, nil
}

func assembleSection[T any, PT interface {
	*T
	proto.Message
}](kind string, refs map[string]string, data map[string][]byte) (map[string]PT, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	out := make(map[string]PT, len(refs))
	for name, hash := range refs {
		msg := PT(new(T))
		if err := decodeObject(object{kind: kind, name: name, hash: hash}, data, msg); err != nil {
			return nil, err
		}
		out[name] = msg
	}
	return out, nil
}

func decodeObject(o object, data map[string][]byte, msg proto.Message) error {
	b, ok := data[o.hash]
	if !ok {
		return fmt.Errorf("%w: %s: object %s is missing", ErrCorrupt, o.label(), o.hash)
	}
	if got := objectHash(o.kind, b); got != o.hash {
		return fmt.Errorf("%w: %s: object %s holds content that hashes to %s", ErrCorrupt, o.label(), o.hash, got)
	}
	if err := proto.Unmarshal(b, msg); err != nil {
		return fmt.Errorf("%w: %s: object %s: %v", ErrCorrupt, o.label(), o.hash, err)
	}
	return nil
}

// manifestHashes returns the distinct object hashes a manifest references.
func manifestHashes(m *pb.Manifest) []string {
	set := make(map[string]struct{})
	if m.GetSettings() != "" {
		set[m.GetSettings()] = struct{}{}
	}
	for _, refs := range []map[string]string{m.GetServers(), m.GetLocations(), m.GetUpstreams(), m.GetPlugins(), m.GetCertificates()} {
		for _, h := range refs {
			set[h] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// putObjects writes the objects that are not stored yet, in transactions
// kept under etcd's request limit. Objects are content-addressed, so
// writing one another writer wrote meanwhile is harmless.
func (s *Store) putObjects(ctx context.Context, objs []object) error {
	byHash := make(map[string]object, len(objs))
	for _, o := range objs {
		byHash[o.hash] = o
	}
	hashes := slices.Sorted(maps.Keys(byHash))
	var missing []object
	for batch := range slices.Chunk(hashes, maxBatchOps) {
		ops := make([]clientv3.Op, len(batch))
		for i, h := range batch {
			ops[i] = clientv3.OpGet(s.keys.object(h), clientv3.WithCountOnly())
		}
		resp, err := s.kv.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("store: check objects: %w", err)
		}
		for i, r := range resp.Responses {
			if r.GetResponseRange().GetCount() == 0 {
				missing = append(missing, byHash[batch[i]])
			}
		}
	}
	var ops []clientv3.Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := s.kv.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("store: write objects: %w", err)
		}
		ops, size = ops[:0], 0
		return nil
	}
	for _, o := range missing {
		if len(ops) == maxBatchOps || size+len(o.data) > maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		ops = append(ops, clientv3.OpPut(s.keys.object(o.hash), string(o.data)))
		size += len(o.data)
	}
	return flush()
}

// getObjects reads the objects with the given hashes as of etcd revision
// rev (0: the latest), so a version read at rev stays readable while
// another replica prunes it. Missing objects are left out of the result.
func (s *Store) getObjects(ctx context.Context, hashes []string, rev int64) (map[string][]byte, error) {
	out := make(map[string][]byte, len(hashes))
	for batch := range slices.Chunk(hashes, maxBatchOps) {
		ops := make([]clientv3.Op, len(batch))
		for i, h := range batch {
			ops[i] = clientv3.OpGet(s.keys.object(h), clientv3.WithRev(rev))
		}
		resp, err := s.kv.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("store: read objects: %w", err)
		}
		for i, r := range resp.Responses {
			if kvs := r.GetResponseRange().GetKvs(); len(kvs) > 0 {
				out[batch[i]] = kvs[0].Value
			}
		}
	}
	return out, nil
}
