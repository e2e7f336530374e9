package limit

import (
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

	"github.com/pingap-go/pingap/dataplane/plugin"
)

// sweepBatch is how many idle keys a sweep drops per hold of the lock, so
// requests are not kept waiting behind a long sweep.
const sweepBatch = 256

// rateTable holds a token bucket per key, most recently used first.
type rateTable struct {
	now   func() time.Time
	limit rate.Limit
	burst int
	// perToken is how long one token takes to come back (interval/max).
	perToken time.Duration
	// expireAfter is how long a key stays unused before it is forgotten:
	// idle_timeout, or the time an empty bucket takes to fill when that is
	// longer. By then the bucket is full, so forgetting the key changes
	// nothing but memory: an idle key met again needs no special case, and
	// a short idle_timeout cannot hand out tokens early.
	expireAfter time.Duration
	// sweepEvery is the period of the idle-key sweep.
	sweepEvery time.Duration

	mu   sync.Mutex
	keys *simplelru.LRU[uint64, *rateEntry]

	stopOnce sync.Once
	stop     chan struct{}
	// done is closed when the sweeper has ended; nil when none runs.
	done chan struct{}
}

// rateEntry is one key's bucket.
type rateEntry struct {
	lim *rate.Limiter
	// last is when the key was last used; guarded by rateTable.mu.
	last time.Time
}

// decision is the outcome of one check and what the headers say.
type decision struct {
	ok bool
	// remaining is the number of whole tokens (or slots) left.
	remaining int
	// reset is the number of seconds until the bucket is full again.
	reset int
	// retryAfter is the number of seconds until the next token, for a
	// refusal.
	retryAfter int
}

func newRateTable(now func() time.Time, perInterval int, interval time.Duration, burst, maxKeys int, idle time.Duration) *rateTable {
	perToken := interval / time.Duration(perInterval)
	fill := time.Duration(math.MaxInt64) // saturated, for huge intervals
	if perToken == 0 || int64(burst) < math.MaxInt64/int64(perToken) {
		fill = time.Duration(burst) * perToken
	}
	keys, err := simplelru.NewLRU[uint64, *rateEntry](maxKeys, nil)
	if err != nil {
		panic(err) // only for a size <= 0, which build rules out
	}
	return &rateTable{
		now:         now,
		limit:       rate.Limit(float64(perInterval) / interval.Seconds()),
		burst:       burst,
		perToken:    perToken,
		expireAfter: max(idle, fill),
		sweepEvery:  min(max(idle, time.Second), time.Minute),
		keys:        keys,
	}
}

// take takes a token from k's bucket if there is one.
func (t *rateTable) take(k uint64) decision {
	now := t.now()
	t.mu.Lock()
	e, ok := t.keys.Get(k)
	if !ok {
		e = &rateEntry{lim: rate.NewLimiter(t.limit, t.burst)}
		t.keys.Add(k, e)
	}
	e.last = now
	t.mu.Unlock()
	// The bucket has its own lock: checks of different keys do not wait
	// for each other here. An entry dropped meanwhile is only garbage.
	d := decision{ok: e.lim.AllowN(now, 1)}
	tokens := max(e.lim.TokensAt(now), 0)
	d.remaining = int(tokens)
	d.reset = ceilSeconds(t.wait(float64(t.burst) - tokens))
	if !d.ok {
		d.retryAfter = max(ceilSeconds(t.wait(1-tokens)), 1)
	}
	return d
}

// wait is how long tokens take to come back.
func (t *rateTable) wait(tokens float64) time.Duration {
	d := tokens * float64(t.perToken)
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// len is the number of keys held.
func (t *rateTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys.Len()
}

// sweep forgets the keys unused for expireAfter at now and returns how
// many. Use order is the table's order, so it stops at the first key still
// in use.
func (t *rateTable) sweep(now time.Time) int {
	removed := 0
	for {
		t.mu.Lock()
		for range sweepBatch {
			_, e, ok := t.keys.GetOldest()
			if !ok || now.Sub(e.last) <= t.expireAfter {
				t.mu.Unlock()
				return removed
			}
			t.keys.RemoveOldest()
			removed++
		}
		t.mu.Unlock()
	}
}

// start runs the idle-key sweeper until the config is retired. Without a
// way to stop it (a BuildContext without OnClose, in tests) none is
// started; max_keys still bounds the table.
func (t *rateTable) start(ctx plugin.BuildContext) {
	if ctx.OnClose == nil {
		return
	}
	t.stop = make(chan struct{})
	t.done = make(chan struct{})
	ctx.Cleanup(t.close)
	go t.run()
}

func (t *rateTable) run() {
	defer close(t.done)
	tick := time.NewTicker(t.sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.sweep(t.now())
		}
	}
}

// close stops the sweeper; it may be called more than once.
func (t *rateTable) close() {
	t.stopOnce.Do(func() { close(t.stop) })
}
