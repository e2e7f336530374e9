package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// CacheFile is the name of the snapshot cache inside Options.CacheDir.
//
// Its format: an 8-byte magic "PGAPSNAP", a 4-byte big-endian format
// version (1), an 8-byte big-endian payload length, the payload's SHA-256
// (32 bytes), then the payload: a deterministic protobuf Push carrying the
// version, hash and snapshot (no nonce). The file is written to a
// temporary file in the same directory, synced, and renamed over the old
// one, so a reader sees the old cache or the new one, never a mix. It holds
// certificates' private keys: it is created mode 0600, its directory 0700.
const CacheFile = "snapshot.cache"

const (
	cacheMagic     = "PGAPSNAP"
	cacheFormat    = 1
	cacheHeaderLen = len(cacheMagic) + 4 + 8 + sha256.Size
)

func (a *Agent) cachePath() string { return filepath.Join(a.opts.CacheDir, CacheFile) }

// Boot loads the disk cache, if there is a valid one, and applies it, so
// the data plane serves its last good config before (or without) reaching
// the control plane; Hello then carries that version. A missing cache, or
// one that is corrupt or unreadable (logged as "ignoring config cache PATH:
// REASON"), gives loaded false and no error. The error is the applier's
// when a valid cache does not apply; the agent can Run on regardless.
func (a *Agent) Boot() (loaded bool, err error) {
	if a.opts.CacheDir == "" {
		return false, nil
	}
	path := a.cachePath()
	p := a.loadCache(path)
	if p == nil {
		return false, nil
	}
	if err := a.applier.Apply(p.GetSnapshot()); err != nil {
		return false, fmt.Errorf("agent: apply cached version %d from %s: %w", p.GetVersion(), path, err)
	}
	a.setRunning(p.GetVersion(), p.GetHash())
	a.log.Info("serving the cached config", "path", path, "version", p.GetVersion(), "hash", p.GetHash())
	return true, nil
}

// loadCache returns the cache's content, or nil (logged) when there is no
// valid cache.
func (a *Agent) loadCache(path string) *pb.Push {
	p, err := readCache(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		a.log.Info("no config cache", "path", path)
		return nil
	case err != nil:
		a.log.Warn("ignoring config cache " + path + ": " + err.Error())
		return nil
	}
	return p
}

// readCache reads and verifies a cache file; errors other than the file's
// absence say what is wrong with it.
func readCache(path string) (*pb.Push, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < len(cacheMagic) || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, errors.New("wrong magic")
	}
	if len(data) < cacheHeaderLen {
		return nil, fmt.Errorf("truncated: %d bytes, shorter than the header", len(data))
	}
	h := data[len(cacheMagic):cacheHeaderLen]
	if f := binary.BigEndian.Uint32(h[0:4]); f != cacheFormat {
		return nil, fmt.Errorf("unsupported format version %d", f)
	}
	payload := data[cacheHeaderLen:]
	if n := binary.BigEndian.Uint64(h[4:12]); n != uint64(len(payload)) {
		return nil, fmt.Errorf("truncated: header says %d payload bytes, file has %d", n, len(payload))
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], h[12:]) {
		return nil, errors.New("checksum mismatch")
	}
	p := &pb.Push{}
	if err := proto.Unmarshal(payload, p); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if p.Snapshot == nil {
		p.Snapshot = &pb.Snapshot{}
	}
	if got := config.Hash(p.Snapshot); got != p.GetHash() {
		return nil, fmt.Errorf("snapshot does not match its recorded hash %s (it hashes to %s)", p.GetHash(), got)
	}
	return p, nil
}

// writeCache atomically replaces the cache at path with p's version.
func writeCache(path string, p *pb.Push) error {
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.Push{
		Version: p.GetVersion(), Hash: p.GetHash(), Snapshot: p.GetSnapshot(),
	})
	if err != nil {
		return err
	}
	buf := make([]byte, cacheHeaderLen, cacheHeaderLen+len(payload))
	copy(buf, cacheMagic)
	h := buf[len(cacheMagic):]
	binary.BigEndian.PutUint32(h[0:4], cacheFormat)
	binary.BigEndian.PutUint64(h[4:12], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	copy(h[12:], sum[:])
	buf = append(buf, payload...)

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+CacheFile+"-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
