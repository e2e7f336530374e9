package cache

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// entry is one stored item. Entries are immutable once stored: a refresh
// stores a new one.
//
// Most are responses. A response that varies (Vary) is stored under a
// variant key, and its primary key holds a marker (vary != nil) naming
// the request headers it varies on; the marker's generation is part of
// every variant key, so replacing or removing the marker makes all its old
// variants unreachable at once (they then age out of the LRU).
type entry struct {
	// key is where the entry is stored; size is what it counts against
	// max_size: the key, the header fields and the body.
	key  string
	size int64

	vary []string // a marker's header names
	gen  uint64   // a marker's generation

	status int
	header http.Header // as received, less hop-by-hop fields and Age
	body   []byte
	// etag and lastModified are the validators, empty when absent.
	etag, lastModified string
	// received is when the response (or the 304 that refreshed it)
	// arrived, age the Age it carried, expires when it goes stale.
	received time.Time
	age      time.Duration
	expires  time.Time
	// noCache: revalidate before every use.
	noCache bool
	// mustRevalidate: never served stale.
	mustRevalidate bool
}

// isMarker reports whether e stands for the variants of a response.
func (e *entry) isMarker() bool { return e.vary != nil }

// currentAge is the entry's age at now (RFC 9111 4.2.3, from the upstream's
// Age and the time in the cache; Date is not trusted across clocks).
func (e *entry) currentAge(now time.Time) time.Duration {
	return e.age + max(now.Sub(e.received), 0)
}

// fresh reports whether e may be served for a request with directives
// cc at now.
func (e *entry) fresh(cc directives, now time.Time) bool {
	if e.noCache || cc.noCache || !now.Before(e.expires) {
		return false
	}
	return cc.maxAge < 0 || e.currentAge(now) <= time.Duration(cc.maxAge)*time.Second
}

// usableStale reports whether e, expired, may still stand in for a failed
// upstream at now: for up to grace after it expired, unless the response
// forbade it.
func (e *entry) usableStale(grace time.Duration, now time.Time) bool {
	return grace > 0 && !e.mustRevalidate && now.Before(e.expires.Add(grace))
}

// headerSize is the size of h's fields written as "Name: value\r\n".
func headerSize(h http.Header) int64 {
	var n int64
	for k, vv := range h {
		for _, v := range vv {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}

// flight is a fill in progress: the first miss for a key fetches, the
// concurrent misses for the key wait for done.
type flight struct {
	key  string
	done chan struct{}
	// entry is what the fill stored, nil if nothing; set before done closes.
	entry *entry
}

// store holds the entries in LRU order within a byte budget, and the fills
// in progress. One mutex guards it: every operation is short.
type store struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[string, *entry]
	bytes   int64
	max     int64
	gen     uint64
	flights map[string]*flight
	stats   *counters
	evicted func() // counts an eviction in the metrics
}

func newStore(maxBytes int64, stats *counters, evicted func()) *store {
	// The budget is in bytes, so the LRU's own count limit is never reached.
	l, err := simplelru.NewLRU[string, *entry](math.MaxInt, nil)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &store{lru: l, max: maxBytes, flights: map[string]*flight{}, stats: stats, evicted: evicted}
}

// lookup returns the response stored for r under primary (following a
// marker to r's variant), or nil; key is where it is or would be.
func (s *store) lookup(primary string, r *http.Request) (e *entry, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(primary)
	if !ok {
		return nil, primary
	}
	if !e.isMarker() {
		return e, primary
	}
	key = variantKey(primary, e.gen, e.vary, r)
	if e, ok = s.lru.Get(key); ok {
		return e, key
	}
	return nil, key
}

// variantKey is the key of r's variant of a response varying on names.
func variantKey(primary string, gen uint64, names []string, r *http.Request) string {
	b := make([]byte, 0, len(primary)+24+16*len(names))
	b = append(b, primary...)
	b = append(b, 1)
	b = strconv.AppendUint(b, gen, 10)
	for _, n := range names {
		b = append(b, 0)
		for i, v := range r.Header[n] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
	}
	return string(b)
}

// put stores e for r under primary (under r's variant key when vary is not
// empty, behind a marker) and evicts the least recently used entries
// until the budget holds. It returns the key used.
func (s *store) put(primary string, r *http.Request, e *entry, vary []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := primary
	if len(vary) > 0 {
		m, ok := s.lru.Get(primary)
		if !ok || !m.isMarker() || !slices.Equal(m.vary, vary) {
			s.gen++
			m = &entry{key: primary, vary: vary, gen: s.gen}
			m.size = int64(len(primary) + len(strings.Join(vary, ",")) + 8)
			s.add(m)
		}
		key = variantKey(primary, m.gen, vary, r)
	}
	e.key = key
	e.size += int64(len(key))
	s.add(e)
	return key
}

// add stores e under e.key and evicts down to the budget; s.mu is held.
func (s *store) add(e *entry) {
	if old, ok := s.lru.Peek(e.key); ok {
		s.account(old, -1)
	}
	s.lru.Add(e.key, e)
	s.account(e, 1)
	for s.bytes > s.max {
		_, old, ok := s.lru.RemoveOldest()
		if !ok {
			break
		}
		s.account(old, -1)
		s.evicted()
	}
}

// account adds (sign 1) or removes (-1) e from the totals; s.mu is held.
func (s *store) account(e *entry, sign int64) {
	s.bytes += sign * e.size
	s.stats.bytes.Store(s.bytes)
	if !e.isMarker() {
		s.stats.entries.Add(sign)
	}
}

// remove deletes what is stored under key (a response, or a marker and so
// every variant behind it).
func (s *store) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.lru.Peek(key); ok {
		s.lru.Remove(key)
		s.account(old, -1)
	}
}

// removeIf deletes e if it is still what is stored under its key.
func (s *store) removeIf(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.lru.Peek(e.key); ok && cur == e {
		s.lru.Remove(e.key)
		s.account(e, -1)
	}
}

// purge deletes every item whose key starts with prefix and returns the
// number of responses deleted (markers are not counted).
func (s *store) purge(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.lru.Keys() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e, _ := s.lru.Peek(k)
		s.lru.Remove(k)
		s.account(e, -1)
		if !e.isMarker() {
			n++
		}
	}
	return n
}

// join returns the fill in progress for key, or starts one (leader true).
func (s *store) join(key string) (f *flight, leader bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.flights[key]; f != nil {
		return f, false
	}
	f = &flight{key: key, done: make(chan struct{})}
	s.flights[key] = f
	return f, true
}

// finish ends a fill, handing its stored entry (or nil) to the waiters.
func (s *store) finish(f *flight, e *entry) {
	s.mu.Lock()
	if s.flights[f.key] == f {
		delete(s.flights, f.key)
	}
	f.entry = e
	s.mu.Unlock()
	close(f.done)
}
