package accesslog

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/pingap-go/pingap/dataplane/observe"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Defaults of settings.access_log and of the Writer.
const (
	// DefaultQueueSize is the number of lines queued when queue_size is 0.
	DefaultQueueSize = 65536
	// DefaultMaxSize is the size at which a file rotates when max_size is 0.
	DefaultMaxSize = 100 << 20
	// DefaultFlushInterval is how long a line may wait in the batch.
	DefaultFlushInterval = time.Second
	// batchSize is the batch written at once when lines keep coming.
	batchSize = 64 << 10
	// maxPooled is the largest line buffer kept for reuse.
	maxPooled = 64 << 10
	// errorLogInterval is the least time between two write error logs.
	errorLogInterval = time.Minute
	// closeTimeout bounds how long Close waits for a stuck output.
	closeTimeout = 5 * time.Second
)

// WriterOptions are the inputs of NewWriter that do not come from the
// config.
type WriterOptions struct {
	// Stdout receives the lines when the output has no path; nil is
	// os.Stdout. The Writer does not close it.
	Stdout io.Writer
	// Logger reports write errors, at most one log a minute; nil discards.
	Logger *slog.Logger
	// Dropped counts a lost line; nil counts nowhere.
	Dropped func()
	// Written counts lines written; nil counts nowhere.
	Written func(lines int)
	// FlushInterval is how long a line may wait before it is written;
	// zero is DefaultFlushInterval.
	FlushInterval time.Duration
	// Now is the clock of the error log's rate limit; nil is time.Now.
	Now func() time.Time
}

// Writer queues access log lines and writes them from one goroutine to
// standard output or a rotated file. Its methods are safe for concurrent
// use; queuing never blocks.
type Writer struct {
	out    io.Writer
	closer io.Closer // the file; nil for standard output
	queue  chan *[]byte
	bufs   sync.Pool

	mu       sync.RWMutex // Lock marks closed; RLock covers a send
	closed   bool
	once     sync.Once
	closing  chan struct{} // closed by Close
	done     chan struct{} // closed when run returned
	closeErr error         // set by run before done

	dropped   atomic.Uint64
	onDrop    func()
	onWrite   func(int)
	log       *slog.Logger
	now       func() time.Time
	flushEach time.Duration
	closeWait time.Duration

	// Owned by run.
	batch   []byte
	lines   int
	lastErr time.Time // when a write error was last logged
	lost    int       // lines lost to write errors since that log
}

// NewWriter starts a writer to the output cfg describes (nil is standard
// output with the defaults). Close stops it.
func NewWriter(cfg *pb.AccessLogOutput, opts WriterOptions) *Writer {
	w := &Writer{
		closing: make(chan struct{}), done: make(chan struct{}),
		onDrop: opts.Dropped, onWrite: opts.Written, log: opts.Logger, now: opts.Now,
		flushEach: opts.FlushInterval, closeWait: closeTimeout,
	}
	if w.onDrop == nil {
		w.onDrop = func() {}
	}
	if w.onWrite == nil {
		w.onWrite = func(int) {}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.flushEach <= 0 {
		w.flushEach = DefaultFlushInterval
	}
	size := int(cfg.GetQueueSize())
	if size == 0 {
		size = DefaultQueueSize
	}
	w.queue = make(chan *[]byte, size)
	switch {
	case cfg.GetPath() != "":
		f := newFile(cfg)
		w.out, w.closer = f, f
		w.log = w.log.With("path", cfg.GetPath())
	case opts.Stdout != nil:
		w.out = opts.Stdout
	default:
		w.out = os.Stdout
	}
	go w.run()
	return w
}

// newFile is the rotated file of cfg; it is opened (and its directory
// made) by the first write.
func newFile(cfg *pb.AccessLogOutput) *lumberjack.Logger {
	const mb, day = 1 << 20, 24 * time.Hour
	size := cfg.GetMaxSize()
	if size == 0 {
		size = DefaultMaxSize
	}
	age := cfg.GetMaxAge().AsDuration()
	return &lumberjack.Logger{
		Filename:   cfg.GetPath(),
		MaxSize:    int((size + mb - 1) / mb),
		MaxAge:     int((age + day - 1) / day),
		MaxBackups: int(cfg.GetMaxBackups()),
		Compress:   cfg.GetCompress(),
	}
}

// Dropped is the number of lines lost so far: queue full, output failed,
// or queued after Close.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Logger binds f to w: the AccessLogger of a server.
func (w *Writer) Logger(f *Format) *Logger { return &Logger{f: f, w: w} }

// buffer returns an empty line buffer.
func (w *Writer) buffer() *[]byte {
	if b, ok := w.bufs.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 512)
	return &b
}

func (w *Writer) release(b *[]byte) {
	if cap(*b) <= maxPooled {
		w.bufs.Put(b)
	}
}

// enqueue queues a line (with its newline) or drops it.
func (w *Writer) enqueue(b *[]byte) {
	w.mu.RLock()
	ok := !w.closed
	if ok {
		select {
		case w.queue <- b:
		default:
			ok = false
		}
	}
	w.mu.RUnlock()
	if !ok {
		w.drop(1)
		w.release(b)
	}
}

func (w *Writer) drop(n int) {
	w.dropped.Add(uint64(n))
	for range n {
		w.onDrop()
	}
}

// Close writes the queued lines, closes the file and stops the writer.
// Lines logged later are dropped. It waits at most 5s for an output that
// does not take its writes, and can be called again (it returns the same
// error once the writer stopped). The first Close logs its error too.
func (w *Writer) Close() error {
	first := false
	w.once.Do(func() {
		first = true
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
	})
	t := time.NewTimer(w.closeWait)
	defer t.Stop()
	var err error
	select {
	case <-w.done:
		err = w.closeErr
	case <-t.C:
		err = fmt.Errorf("accesslog: output still blocked after %s; queued lines are written when it returns", w.closeWait)
	}
	if err != nil && first {
		w.log.Error("access log close failed", "err", err)
	}
	return err
}

// run drains the queue into batches until Close.
func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.flushEach)
	defer tick.Stop()
	for {
		select {
		case b := <-w.queue:
			w.add(b)
		case <-tick.C:
			w.flush()
		case <-w.closing:
			for { // no send starts after closing: drain what was queued
				select {
				case b := <-w.queue:
					w.add(b)
				default:
					w.flush()
					if w.closer != nil {
						w.closeErr = w.closer.Close()
					}
					return
				}
			}
		}
	}
}

// add appends a line to the batch, writing the batch when it is full.
func (w *Writer) add(b *[]byte) {
	if len(w.batch) > 0 && len(w.batch)+len(*b) > batchSize {
		w.flush()
	}
	w.batch = append(w.batch, *b...)
	w.lines++
	w.release(b)
	if len(w.batch) >= batchSize {
		w.flush()
	}
}

// flush writes the batch. Lines of a failed write are lost and counted;
// the error is logged at most once a minute.
func (w *Writer) flush() {
	if w.lines == 0 {
		return
	}
	_, err := w.out.Write(w.batch)
	n := w.lines
	w.batch, w.lines = w.batch[:0], 0
	if cap(w.batch) > 4*batchSize { // a huge line passed: do not keep it
		w.batch = nil
	}
	if err == nil {
		w.onWrite(n)
		return
	}
	w.drop(n)
	w.lost += n
	if now := w.now(); w.lastErr.IsZero() || now.Sub(w.lastErr) >= errorLogInterval {
		w.log.Error("access log write failed", "err", err, "lines_lost", w.lost)
		w.lastErr, w.lost = now, 0
	}
}

// Logger is the access logger of one server: its format and the shared
// Writer.
type Logger struct {
	f *Format
	w *Writer
}

var _ observe.AccessLogger = (*Logger)(nil)

// Log formats the request's line into a pooled buffer and queues it; it
// never blocks.
func (l *Logger) Log(rec *observe.Record, r *http.Request, respHeader http.Header) {
	b := l.w.buffer()
	*b = append(l.f.Append(*b, rec, r, respHeader), '\n')
	l.w.enqueue(b)
}
