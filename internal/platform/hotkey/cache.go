package hotkey

import (
	"sync"
	"sync/atomic"
	"time"
)

// Cache is a small in-process cache of hot values with one TTL for all entries, where
// each entry belongs to a tag (for comments, the video id) and InvalidateTag drops all of
// a tag's entries at once (the first page in time order and in hot order, say). It is
// safe for concurrent use.
//
// Values are shared, not copied: every Get of a key returns the same V, so callers must
// not modify a value after Set or after Get.
//
// A value loaded from the store and stored with Set may be older than an invalidation
// that ran while it was loading, and would then be served until the TTL ends. Callers
// that load from a store avoid that with Gen and SetIfGen:
//
//	gen := c.Gen(tag)
//	v, err := load()      // an invalidation may run here
//	c.SetIfGen(tag, key, gen, v) // stores nothing if it did
type Cache[V any] struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.RWMutex
	entries map[string]*entry[V]
	// oldest and newest end a list of the entries in the order they were stored. All
	// entries live for the same TTL, so that is also the order they expire in.
	oldest, newest *entry[V]
	tags           map[string]*tagState[V]
	// seq counts invalidations; the generation of a tag is the seq of its last one.
	seq uint64
	// floor is the generation of every tag without a tagState: at least the generation
	// of any tagState dropped, so forgetting a tag never makes a generation go back.
	floor uint64

	hits, misses, invalidations atomic.Uint64
}

type entry[V any] struct {
	key, tag   string
	v          V
	expires    time.Time
	prev, next *entry[V] // prev is older
}

// tagState is what the Cache knows of one tag: its entries and its generation. A tag's
// state outlives its entries for a while, so that a reader who started loading before an
// invalidation still finds that invalidation recorded; see pruneTags.
type tagState[V any] struct {
	gen     uint64
	entries map[string]*entry[V]
}

// NewCache returns a Cache holding at most maxEntries entries, each for ttl after it was
// stored. now is the clock; nil means time.Now. It panics if maxEntries or ttl is not
// positive, configuration errors that validation should have caught.
func NewCache[V any](maxEntries int, ttl time.Duration, now func() time.Time) *Cache[V] {
	if maxEntries <= 0 {
		panic("hotkey: NewCache needs a positive maxEntries")
	}
	if ttl <= 0 {
		panic("hotkey: NewCache needs a positive ttl")
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{
		ttl:        ttl,
		maxEntries: maxEntries,
		now:        now,
		entries:    make(map[string]*entry[V]),
		tags:       make(map[string]*tagState[V]),
	}
}

// Get returns the value stored under key if it has not expired.
func (c *Cache[V]) Get(key string) (V, bool) {
	now := c.now()
	c.mu.RLock()
	e := c.entries[key]
	var v V
	ok := e != nil && now.Before(e.expires)
	if ok {
		v = e.v
	}
	c.mu.RUnlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// Set stores v under key, as an entry of tag, for the Cache's TTL, replacing any entry of
// key (in whatever tag). It stores unconditionally; a value loaded from a store should be
// stored with SetIfGen instead.
func (c *Cache[V]) Set(tag, key string, v V) {
	now := c.now()
	c.mu.Lock()
	c.store(tag, key, v, now)
	c.mu.Unlock()
}

// Gen returns tag's generation, which changes on every InvalidateTag of tag. Read it
// before loading a value to store with SetIfGen.
func (c *Cache[V]) Gen(tag string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.genLocked(tag)
}

// SetIfGen is Set, done only if tag's generation is still gen, that is if tag has not
// been invalidated since gen was read. It reports whether it stored v.
//
// It may also refuse, rarely, when the Cache has forgotten tag's state to bound its
// memory; the value is then simply not cached.
func (c *Cache[V]) SetIfGen(tag, key string, gen uint64, v V) bool {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.genLocked(tag) != gen {
		return false
	}
	c.store(tag, key, v, now)
	return true
}

// InvalidateTag drops every entry of tag and advances its generation, so that no value
// loaded before the call can be stored by SetIfGen after it.
func (c *Cache[V]) InvalidateTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidations.Add(1)
	c.seq++
	t := c.tags[tag]
	if t == nil {
		t = &tagState[V]{entries: make(map[string]*entry[V])}
		c.tags[tag] = t
	}
	t.gen = c.seq
	for _, e := range t.entries {
		c.unlink(e)
		delete(c.entries, e.key)
	}
	clear(t.entries)
	c.pruneTags()
}

// Len returns the number of entries that have not expired.
func (c *Cache[V]) Len() int {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropExpired(now)
	return len(c.entries)
}

func (c *Cache[V]) genLocked(tag string) uint64 {
	if t := c.tags[tag]; t != nil {
		return t.gen
	}
	return c.floor
}

// store puts v under key; c.mu is held.
func (c *Cache[V]) store(tag, key string, v V, now time.Time) {
	if old := c.entries[key]; old != nil {
		c.remove(old)
	}
	if len(c.entries) >= c.maxEntries {
		c.dropExpired(now)
	}
	if len(c.entries) >= c.maxEntries {
		// Still full of live entries: drop the oldest, the one closest to expiring.
		c.remove(c.oldest)
	}
	t := c.tags[tag]
	if t == nil {
		// A new state starts at the floor, the generation Gen reported without one.
		t = &tagState[V]{gen: c.floor, entries: make(map[string]*entry[V])}
		c.tags[tag] = t
	}
	e := &entry[V]{key: key, tag: tag, v: v, expires: now.Add(c.ttl), prev: c.newest}
	if c.newest != nil {
		c.newest.next = e
	} else {
		c.oldest = e
	}
	c.newest = e
	c.entries[key] = e
	t.entries[key] = e
	c.pruneTags()
}

// dropExpired removes expired entries; they are the oldest ones. c.mu is held.
func (c *Cache[V]) dropExpired(now time.Time) {
	for c.oldest != nil && !now.Before(c.oldest.expires) {
		c.remove(c.oldest)
	}
}

// remove deletes e from the entries, the list and its tag; c.mu is held.
func (c *Cache[V]) remove(e *entry[V]) {
	c.unlink(e)
	delete(c.entries, e.key)
	if t := c.tags[e.tag]; t != nil {
		delete(t.entries, e.key)
	}
}

func (c *Cache[V]) unlink(e *entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.oldest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.newest = e.prev
	}
	e.prev, e.next = nil, nil
}

// pruneTags bounds the states of tags without entries, which InvalidateTag creates for
// every changed video, cached or not. Once there are more than twice maxEntries states,
// it forgets those without entries and raises floor to the highest generation forgotten:
// a reader that read an older generation of any forgotten tag is then refused, never
// wrongly allowed. After a prune at most maxEntries states remain, so pruning costs O(1)
// per call amortised. c.mu is held.
func (c *Cache[V]) pruneTags() {
	if len(c.tags) <= 2*c.maxEntries {
		return
	}
	for tag, t := range c.tags {
		if len(t.entries) == 0 {
			c.floor = max(c.floor, t.gen)
			delete(c.tags, tag)
		}
	}
}
