// Package keep keeps values a store would answer (counts, flags) in this
// process's memory, for a placement where every write that changes them passes
// through this process: each write drops what it changes before it is
// acknowledged, so a kept value is never older than the last write through
// here. A lifetime bounds what other writers (a repair run on the same
// database) can leave stale.
package keep

import (
	"sync"
	"time"
)

// Table keeps values of V by key K. Readers ask Get, read the store for the
// keys it lacks and hand the answers to Keep with the generation Get gave
// them; writers call Change (or ChangeUnknown) before writing and the function
// it returns once the write has returned, whatever its outcome.
//
// A value read from the store is kept only if no write changed its key
// between Get and Keep: such a read may have seen the store before the write.
// A key being written is neither served nor kept until its write returns,
// since the write is visible to other readers from its commit on, before it
// returns here.
type Table[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	// epoch counts the changes begun and ended: the generation of a read.
	epoch uint64
	// floor is the generation below which reads are not kept: change marks
	// were dropped to bound memory, and such a read may predate one of them.
	floor uint64
	// unknown counts writes in progress whose keys are not known yet: every
	// key may be changing, so nothing is served or kept meanwhile.
	unknown int
	slots   map[K]*slot[V]
}

// slot is one key's kept value, or only the mark of its last change.
type slot[V any] struct {
	v       V
	until   time.Time // the value's expiry; zero when none is kept
	changed uint64    // the epoch of the key's last change
	writing int       // the key's changes in progress
}

// New returns a table keeping each value for ttl and at most maxEntries keys
// (values and change marks together).
func New[K comparable, V any](ttl time.Duration, maxEntries int, now func() time.Time) *Table[K, V] {
	if ttl <= 0 || maxEntries <= 0 {
		panic("keep: ttl and maxEntries must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Table[K, V]{ttl: ttl, max: maxEntries, now: now, slots: map[K]*slot[V]{}}
}

// Get puts the kept values of keys into found and returns the keys it keeps
// nothing usable for, with the generation to hand to Keep with their values.
func (t *Table[K, V]) Get(keys []K, found map[K]V) (missing []K, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unknown > 0 {
		return keys, t.epoch
	}
	now := t.now()
	for _, k := range keys {
		s := t.slots[k]
		if s == nil || s.writing > 0 || !now.Before(s.until) {
			missing = append(missing, k)
			continue
		}
		found[k] = s.v
	}
	return missing, t.epoch
}

// Keep stores the value of each of keys as read from the store after Get
// returned gen, except for keys changed since then or being changed now.
func (t *Table[K, V]) Keep(gen uint64, keys []K, value func(K) V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unknown > 0 || gen < t.floor {
		return
	}
	t.makeRoom(len(keys))
	if gen < t.floor {
		return
	}
	until := t.now().Add(t.ttl)
	for _, k := range keys {
		s := t.slots[k]
		if s == nil {
			t.slots[k] = &slot[V]{v: value(k), until: until}
			continue
		}
		if s.writing == 0 && s.changed <= gen {
			s.v, s.until = value(k), until
		}
	}
}

// Put stores v for key, a value known without reading the store (one that
// never changes once written), unless key is being changed.
func (t *Table[K, V]) Put(key K, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unknown > 0 {
		return
	}
	s := t.slots[key]
	if s == nil {
		t.makeRoom(1)
		s = &slot[V]{}
		t.slots[key] = s
	}
	if s.writing == 0 {
		s.v, s.until = v, t.now().Add(t.ttl)
	}
}

// Change marks keys as being written and drops their values; the returned
// function ends the change. Call it once the write has returned, even after
// an error: a write that failed may still have committed.
func (t *Table[K, V]) Change(keys ...K) (done func()) {
	t.mu.Lock()
	t.epoch++
	t.changed(keys, +1)
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.epoch++
		t.changed(keys, -1)
	}
}

// ChangeUnknown begins a write whose keys are known only once it returns:
// until then nothing is served or kept. The returned function ends it with the
// keys the write changed; with none (the write failed before telling), every
// kept value is dropped.
func (t *Table[K, V]) ChangeUnknown() (done func(changed ...K)) {
	t.mu.Lock()
	t.epoch++
	t.unknown++
	t.mu.Unlock()
	return func(changed ...K) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.epoch++
		t.unknown--
		if len(changed) == 0 {
			t.dropAll()
			return
		}
		t.changed(changed, 0)
	}
}

// changed marks keys as changed now, adding writing to their changes in
// progress.
func (t *Table[K, V]) changed(keys []K, writing int) {
	t.makeRoom(len(keys))
	for _, k := range keys {
		s := t.slots[k]
		if s == nil {
			s = &slot[V]{}
			t.slots[k] = s
		}
		s.writing += writing
		s.mark(t.epoch)
	}
}

// mark records a change of the slot's key at epoch and drops its value.
func (s *slot[V]) mark(epoch uint64) {
	var zero V
	s.v, s.until, s.changed = zero, time.Time{}, epoch
}

// makeRoom lets adding keys stay within t.max: expired values and the marks of
// finished changes go first, then everything not being written. Dropping a
// mark raises the floor, so reads begun before it are not kept.
func (t *Table[K, V]) makeRoom(adding int) {
	if len(t.slots)+adding <= t.max {
		return
	}
	now := t.now()
	for k, s := range t.slots {
		if s.writing == 0 && !now.Before(s.until) {
			delete(t.slots, k)
		}
	}
	t.epoch++
	t.floor = t.epoch
	if len(t.slots)+adding > t.max {
		t.dropAll()
	}
}

// dropAll drops every value and every mark not being written, and refuses
// every read begun before now.
func (t *Table[K, V]) dropAll() {
	for k, s := range t.slots {
		if s.writing == 0 {
			delete(t.slots, k)
		} else {
			s.mark(s.changed)
		}
	}
	t.epoch++
	t.floor = t.epoch
}

// Len returns the number of keys with a value or a change mark.
func (t *Table[K, V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.slots)
}

// Read returns the values of keys: t's where it keeps them, read's for the
// rest, which it keeps (a key read leaves out is kept as the zero V, as the
// stores leave out what they have nothing for). Zero values may be absent
// from the answer.
func Read[K comparable, V any](t *Table[K, V], keys []K, read func([]K) (map[K]V, error)) (map[K]V, error) {
	out := make(map[K]V, len(keys))
	missing, gen := t.Get(keys, out)
	if len(missing) == 0 {
		return out, nil
	}
	got, err := read(missing)
	if err != nil {
		return nil, err
	}
	for k, v := range got {
		out[k] = v
	}
	t.Keep(gen, missing, func(k K) V { return got[k] })
	return out, nil
}
