package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Session is one control-plane replica's hold on the nodes whose streams it
// serves: every node's liveness key is attached to the session's etcd
// lease. Close revokes the lease, so the nodes turn DISCONNECTED for every
// replica at once; if the replica dies instead, they do when the lease's
// TTL runs out. The lease is kept alive in the background; if it is lost
// anyway (etcd unreachable for longer than the TTL), a new one is granted
// and the liveness keys the session holds are written again.
type Session struct {
	s    *Store
	ttl  int64 // seconds
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{} // closed when the keep-alive loop has returned
	kick chan clientv3.LeaseID

	// mu is held for reading by every write that uses lease, and for
	// writing while the lease is replaced.
	mu      sync.RWMutex
	lease   clientv3.LeaseID
	renewed chan struct{} // closed when lease is replaced

	heldMu sync.Mutex
	held   map[string]string // liveness key to value, of the nodes held

	closeOnce sync.Once
	closeErr  error
}

// sessionCloseTimeout bounds the lease revocation in Session.Close.
const sessionCloseTimeout = 5 * time.Second

// Session grants a lease of the given TTL (rounded up to whole seconds;
// etcd may raise very short ones) and keeps it alive until Close or the
// Store's Close. Use one session per control-plane replica.
func (s *Store) Session(ctx context.Context, ttl time.Duration) (*Session, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("store: session: ttl %v is not positive", ttl)
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	g, err := s.lease.Grant(ctx, secs)
	if err != nil {
		return nil, fmt.Errorf("store: session: grant lease: %w", err)
	}
	sess := &Session{
		s:       s,
		ttl:     secs,
		done:    make(chan struct{}),
		kick:    make(chan clientv3.LeaseID, 1),
		lease:   g.ID,
		renewed: make(chan struct{}),
		held:    make(map[string]string),
	}
	sess.ctx, sess.stop = context.WithCancel(s.ctx)
	kaCtx, kaStop := context.WithCancel(sess.ctx)
	ka, err := s.lease.KeepAlive(kaCtx, g.ID)
	if err != nil {
		kaStop()
		sess.stop()
		_, _ = s.lease.Revoke(ctx, g.ID)
		return nil, fmt.Errorf("store: session: keep lease alive: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(sess.done)
		sess.run(ka, kaStop)
	}()
	return sess, nil
}

// Close revokes the session's lease, which deletes the liveness keys of
// every node it holds, and stops keeping it alive.
func (sess *Session) Close() error {
	sess.closeOnce.Do(func() {
		sess.stop()
		<-sess.done
		sess.mu.RLock()
		lease := sess.lease
		sess.mu.RUnlock()
		ctx, cancel := context.WithTimeout(context.Background(), sessionCloseTimeout)
		defer cancel()
		if _, err := sess.s.lease.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			sess.closeErr = fmt.Errorf("store: session: revoke lease: %w", err)
		}
	})
	return sess.closeErr
}

// withLease runs fn with the current lease, which stays current until fn
// returns, and returns that lease and the channel closed when it is
// replaced.
func (sess *Session) withLease(fn func(clientv3.LeaseID) error) (clientv3.LeaseID, <-chan struct{}, error) {
	sess.mu.RLock()
	defer sess.mu.RUnlock()
	return sess.lease, sess.renewed, fn(sess.lease)
}

// lost tells the keep-alive loop that etcd no longer knows lease.
// A pending older notice is replaced, so this one is never dropped.
func (sess *Session) lost(lease clientv3.LeaseID) { offerLatest(sess.kick, lease) }

// offerLatest puts v in ch, a channel of one slot, replacing a value no one
// received yet. Any number of goroutines may offer at once.
func offerLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

func (sess *Session) hold(key, value string) {
	sess.heldMu.Lock()
	sess.held[key] = value
	sess.heldMu.Unlock()
}

func (sess *Session) release(key string) {
	sess.heldMu.Lock()
	delete(sess.held, key)
	sess.heldMu.Unlock()
}

// run drains keep-alive responses and replaces the lease when it is lost,
// until the session ends.
func (sess *Session) run(ka <-chan *clientv3.LeaseKeepAliveResponse, kaStop context.CancelFunc) {
	defer func() { kaStop() }()
	for {
		var lost clientv3.LeaseID
		select {
		case _, ok := <-ka:
			if ok {
				continue
			}
			if sess.ctx.Err() != nil {
				return
			}
			lost = sess.currentLease()
			ka = nil
		case id := <-sess.kick:
			lost = id
		case <-sess.ctx.Done():
			return
		}
		if lost != sess.currentLease() {
			continue
		}
		kaStop()
		ka, kaStop = sess.renew(lost)
		if ka == nil {
			return
		}
	}
}

func (sess *Session) currentLease() clientv3.LeaseID {
	sess.mu.RLock()
	defer sess.mu.RUnlock()
	return sess.lease
}

// renew grants a new lease, keeps it alive, moves the held liveness keys
// onto it and makes it current, retrying until it succeeds or the session
// ends (then it returns a nil channel).
func (sess *Session) renew(old clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, context.CancelFunc) {
	if sess.ctx.Err() != nil || sess.s.client.Ctx().Err() != nil {
		return nil, func() {}
	}
	log := sess.s.log.With("old_lease", fmt.Sprintf("%x", int64(old)))
	log.Warn("store: session lease lost; granting a new one")
	backoff := watchMinBackoff
	for {
		if sess.ctx.Err() != nil || sess.s.client.Ctx().Err() != nil {
			return nil, func() {}
		}
		ka, kaStop, err := sess.replaceLease()
		if err == nil {
			return ka, kaStop
		}
		log.Warn("store: session: replace lease", "error", err, "retry_in", backoff)
		if sleep(sess.ctx, backoff) != nil {
			return nil, func() {}
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

func (sess *Session) replaceLease() (<-chan *clientv3.LeaseKeepAliveResponse, context.CancelFunc, error) {
	c := sess.s.lease
	g, err := c.Grant(sess.ctx, sess.ttl)
	if err != nil {
		return nil, nil, err
	}
	kaCtx, kaStop := context.WithCancel(sess.ctx)
	ka, err := c.KeepAlive(kaCtx, g.ID)
	if err == nil {
		err = sess.moveHeld(g.ID)
	}
	if err != nil {
		kaStop()
		_, _ = c.Revoke(sess.ctx, g.ID)
		return nil, nil, err
	}
	return ka, kaStop, nil
}

// moveHeld writes the held liveness keys on lease and makes it current.
// A key another replica wrote meanwhile (the node reconnected there) is
// left to that replica.
func (sess *Session) moveHeld(lease clientv3.LeaseID) error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.heldMu.Lock()
	held := maps.Clone(sess.held)
	sess.heldMu.Unlock()
	for key, value := range held {
		resp, err := sess.s.kv.Txn(sess.ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, value, clientv3.WithLease(lease))).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			sess.release(key)
		}
	}
	sess.lease = lease
	close(sess.renewed)
	sess.renewed = make(chan struct{})
	return nil
}
