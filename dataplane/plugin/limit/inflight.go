package limit

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// flightTable counts the requests in flight per key. Only keys with
// requests in flight are held: a key whose count drops to zero is removed,
// so no idle sweep is needed.
type flightTable struct {
	max int

	mu   sync.Mutex
	keys *simplelru.LRU[uint64, *flightEntry]
}

// flightEntry is one key's count, guarded by flightTable.mu.
type flightEntry struct{ n int }

func newFlightTable(perKey, maxKeys int) *flightTable {
	keys, err := simplelru.NewLRU[uint64, *flightEntry](maxKeys, nil)
	if err != nil {
		panic(err) // only for a size <= 0, which build rules out
	}
	return &flightTable{max: perKey, keys: keys}
}

// acquire takes a slot of k and returns its entry and the slots left, or
// a nil entry when all are taken. A key dropped from a full table while
// its requests run starts again from zero; their release still goes to
// their own entry.
func (t *flightTable) acquire(k uint64) (*flightEntry, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys.Get(k)
	if !ok {
		e = &flightEntry{}
		t.keys.Add(k, e)
	}
	if e.n >= t.max {
		return nil, 0
	}
	e.n++
	return e, t.max - e.n
}

// release gives back a slot taken by acquire.
func (t *flightTable) release(k uint64, e *flightEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.n--
	if e.n == 0 {
		if cur, ok := t.keys.Peek(k); ok && cur == e {
			t.keys.Remove(k)
		}
	}
}

// len is the number of keys held.
func (t *flightTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys.Len()
}
