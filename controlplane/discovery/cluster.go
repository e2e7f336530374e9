package discovery

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// version is one config version of a cluster as the server pushes it: the
// snapshot is fetched once and shared (read-only) by every stream.
type version struct {
	number uint64
	hash   string
	snap   *pb.Snapshot

	encOnce sync.Once
	enc     []byte // the push's fields but the nonce, encoded; see codec.go

	conv *convergence // nil: not followed
}

// cluster follows one cluster's current version for all its streams.
type cluster struct {
	s       *Server
	name    string
	ctx     context.Context
	cancel  context.CancelFunc
	ready   chan struct{} // closed after the first attempt to load the current version
	started time.Time     // when the watcher was made
	metrics clusterMetrics

	latest atomic.Pointer[version]
	subs   map[*stream]struct{} // guarded by s.mu
}

func newCluster(s *Server, name string) *cluster {
	ctx, cancel := context.WithCancel(s.ctx)
	return &cluster{
		s: s, name: name, ctx: ctx, cancel: cancel, ready: make(chan struct{}), subs: map[*stream]struct{}{},
		started: s.opts.Now(), metrics: s.metrics.cluster(name),
	}
}

func (c *cluster) stop() { c.cancel() }

// run is the cluster's watcher: it loads the current version, then follows
// the Source's watch, reloading whenever a newer version is announced.
func (c *cluster) run() {
	defer c.s.wg.Done()
	ctx := c.ctx
	ok := c.load(ctx, 0)
	close(c.ready)
	if !ok && !c.loadRetry(ctx, 0) {
		return
	}
	for ctx.Err() == nil {
		c.follow(ctx, c.s.src.Watch(ctx, c.name))
		if ctx.Err() != nil {
			return
		}
		c.s.log.Warn("version watch ended; restarting it", "cluster", c.name)
		// Catch up on what the watch may have missed.
		if !sleep(ctx, c.s.opts.RetryInterval) || !c.loadRetry(ctx, 0) {
			return
		}
	}
}

// follow reloads on every announced version newer than the latest until ch
// closes or ctx ends.
func (c *cluster) follow(ctx context.Context, ch <-chan *pb.VersionInfo) {
	for {
		select {
		case <-ctx.Done():
			return
		case info, ok := <-ch:
			if !ok {
				return
			}
			if info == nil {
				continue
			}
			if cur := c.latest.Load(); cur != nil && info.GetVersion() <= cur.number {
				continue
			}
			if !c.loadRetry(ctx, info.GetVersion()) {
				return
			}
		}
	}
}

// loadRetry loads until the latest version is at least min (0: until a load
// succeeds), retrying every RetryInterval; false when ctx ended first.
func (c *cluster) loadRetry(ctx context.Context, minVersion uint64) bool {
	for {
		if c.load(ctx, minVersion) {
			return true
		}
		if !sleep(ctx, c.s.opts.RetryInterval) {
			return false
		}
	}
}

// load reads the current version. It reports success: the Source answered
// and the latest version is now at least minVersion.
func (c *cluster) load(ctx context.Context, minVersion uint64) bool {
	cctx, cancel := context.WithTimeout(ctx, c.s.opts.StoreTimeout)
	info, snap, err := c.s.src.Current(cctx, c.name)
	cancel()
	if err != nil && !c.s.isNotFound(err) {
		if ctx.Err() == nil {
			c.s.log.Error("reading the current version failed", "cluster", c.name, "err", err)
		}
		return false
	}
	if err != nil || info == nil {
		return minVersion == 0
	}
	cur := c.latest.Load()
	if cur == nil || info.GetVersion() > cur.number {
		if snap == nil {
			snap = &pb.Snapshot{}
		}
		v := &version{number: info.GetVersion(), hash: info.GetHash(), snap: snap}
		if created := info.GetCreatedAt(); created.IsValid() && !created.AsTime().Before(c.started) {
			v.conv = newConvergence(created.AsTime(), c.metrics.convergence)
		}
		c.latest.Store(v)
		if cur != nil {
			cur.conv.abandon()
		}
		c.s.log.Info("new version", "cluster", c.name, "version", v.number, "hash", v.hash)
		c.s.forgetNacksBefore(c.name, v.number)
		c.s.fanOut(c, v)
		cur = v
	}
	if cur.number < minVersion {
		c.s.log.Warn("store announced a version it does not serve yet", "cluster", c.name, "announced", minVersion, "current", cur.number)
		return false
	}
	return true
}
