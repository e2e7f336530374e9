package discovery

import (
	"context"
	"sync"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// nodeWriter writes one stream's node record to the Fleet off the stream's
// loop. It keeps only the latest record: a burst of changes while a write is
// slow becomes one write. Its last act is NodeGone, so no record of the
// stream lands after it.
type nodeWriter struct {
	s     *Server
	key   nodeKey
	after <-chan struct{} // the node's previous writer; written records must follow its
	done  chan struct{}
	wake  chan struct{} // cap 1

	mu   sync.Mutex
	next *pb.NodeStatus
	end  bool
	gone bool
}

func newNodeWriter(s *Server, key nodeKey) *nodeWriter {
	return &nodeWriter{s: s, key: key, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (w *nodeWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// put queues st, replacing a queued record not yet written.
func (w *nodeWriter) put(st *pb.NodeStatus) {
	w.mu.Lock()
	w.next = st
	w.mu.Unlock()
	w.signal()
}

// finish ends the writer after the queued record; gone adds NodeGone.
func (w *nodeWriter) finish(gone bool) {
	w.mu.Lock()
	w.end, w.gone = true, gone
	w.mu.Unlock()
	w.signal()
}

// run writes until finish; the caller has counted it in s.wg.
func (w *nodeWriter) run() {
	defer w.s.wg.Done()
	defer close(w.done)
	if w.after != nil {
		t := time.NewTimer(w.s.opts.StoreTimeout)
		select {
		case <-w.after:
		case <-t.C:
		}
		t.Stop()
	}
	for range w.wake {
		w.mu.Lock()
		next, end, gone := w.next, w.end, w.gone
		w.next = nil
		w.mu.Unlock()
		if next != nil {
			w.write("put", func(ctx context.Context) error { return w.s.fleet.PutNode(ctx, next) })
		}
		if end {
			if gone {
				w.write("gone", func(ctx context.Context) error { return w.s.fleet.NodeGone(ctx, w.key.cluster, w.key.id) })
			}
			return
		}
	}
}

func (w *nodeWriter) write(op string, f func(context.Context) error) {
	// Records are written even while the server closes: a node's last
	// answer and its disconnection must reach the store.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.s.ctx), w.s.opts.StoreTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		w.s.log.Error("recording node state failed", "op", op, "cluster", w.key.cluster, "node", w.key.id, "err", err)
	}
}
