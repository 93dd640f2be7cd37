// Package hotkey finds the keys one process is asked for most, and keeps a short-lived
// local copy of their values.
//
// The shared cache shards by key, so a sudden hot spot (a video everyone opens at once)
// lands on one Redis node however many replicas serve it. Each process therefore counts
// its own requests per key over a sliding window (Detector), takes the top K above a
// threshold as hot, and serves those from an in-process cache (Cache) with a TTL of
// seconds. Every process decides on its own: no coordination is needed because a key
// that is hot overall is hot in every replica behind a balanced load balancer.
//
// The local copy is only safe because every change of the underlying data invalidates it
// (Cache.InvalidateTag from the change event) and because a value read before an
// invalidation can never be stored after it (Cache.Gen and Cache.SetIfGen).
package hotkey

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero DetectorOptions fields.
const (
	DefaultWindow           = 10 * time.Second
	DefaultBuckets          = 10
	DefaultTopK             = 32
	DefaultMinCount         = 50
	DefaultMaxKeysPerBucket = 100_000
)

// shardsPerBucket splits each bucket's map so that concurrent Touches of different keys
// rarely wait for the same mutex. A power of two, so a hash picks a shard with a mask.
const shardsPerBucket = 32

// Sketch dimensions: a count-min sketch of 4 rows of 2048 counters (32 KiB) is allocated
// for a shard only once that shard's map is full.
const (
	sketchRows  = 4
	sketchWidth = 2048
)

// DetectorOptions configures a Detector. Zero fields take the defaults above.
type DetectorOptions struct {
	// Window is how far back accesses count. It is cut into Buckets equal intervals; the
	// hot set is recomputed once per interval from the Buckets intervals that have ended,
	// so a key becomes hot, or stops being hot, at most one interval after it deserves to.
	Window time.Duration
	// Buckets is the number of intervals the window is cut into: more buckets give a
	// smoother window and quicker detection at the cost of more maps.
	Buckets int
	// TopK is the most keys that are hot at once.
	TopK int
	// MinCount is the fewest accesses in the window that make a key hot, so that a quiet
	// process does not call its few most-read keys hot.
	MinCount int
	// MaxKeysPerBucket bounds memory: at most this many distinct keys are counted per
	// interval (rounded down to a multiple of 32, and at least 32). Once a bucket has
	// seen that many, the accesses to further keys are counted only approximately, in a
	// count-min sketch, and a key gets into the bucket only if the sketch says it has
	// been seen often enough to become hot (MinCount/Buckets times in this interval,
	// plus the sketch's average error, which grows with the number of such accesses); the
	// last eighth of the room is kept for such late but frequent keys, so a burst of
	// one-off keys (a crawler) cannot hide a hot key that started after it. Accesses that
	// are not counted exactly show in the overflow counter of Collectors.
	MaxKeysPerBucket int
	// Now is the clock; tests pass a fake one. Defaults to time.Now.
	Now func() time.Time
}

// KeyCount is a key and its number of accesses in the window.
type KeyCount struct {
	Key   string
	Count uint64
}

// Detector counts accesses per key over a sliding window and reports the most accessed
// ones. It is safe for concurrent use.
//
// The window is a ring of Buckets+1 buckets, each a set of hash maps counting one
// interval's accesses: Buckets of them hold the window of ended intervals, the last one
// the interval in progress. When an interval ends, the first call that notices sums the
// ended buckets, selects the top K with a min-heap, and publishes the result as an
// immutable snapshot that IsHot reads with one atomic load.
type Detector struct {
	now      func() time.Time
	start    time.Time
	interval time.Duration
	buckets  int // intervals in the window; the ring has one more
	topK     int
	minCount uint64
	admitAt  uint64 // sketch estimate at which a late key enters a full bucket

	shardCap   int // most keys a shard's map holds
	shardPlain int // keys a shard takes without consulting its sketch

	seed       maphash.Seed // picks the shard
	sketchSeed maphash.Seed // independent hash for the sketch rows

	ring []bucket

	// claimed is the newest interval whose snapshot some goroutine is computing or has
	// computed, so that each interval's recomputation runs once.
	claimed atomic.Int64
	snap    atomic.Pointer[snapshot]
	// lastDistinct is the number of distinct keys in the last window summed.
	lastDistinct atomic.Int64
}

type bucket struct {
	shards [shardsPerBucket]shard
}

// shard counts one interval's accesses to the keys that hash to it.
type shard struct {
	mu       sync.Mutex
	interval int64 // the interval counted in counts; -1 before the first access
	counts   map[string]uint64
	sketch   *sketch
	overflow atomic.Uint64 // accesses not counted exactly because the map was full
	_        [64]byte      // keeps neighbouring shards' mutexes off one cache line
}

// snapshot is the hot set computed at the start of one interval. It is never modified
// after publication.
type snapshot struct {
	interval int64
	top      []KeyCount // best first
	set      map[string]struct{}
}

// NewDetector returns a Detector configured by o. It panics if a field is negative or
// the window is shorter than one nanosecond per bucket, configuration errors that
// validation should have caught.
func NewDetector(o DetectorOptions) *Detector {
	if o.Window < 0 || o.Buckets < 0 || o.TopK < 0 || o.MinCount < 0 || o.MaxKeysPerBucket < 0 {
		panic("hotkey: negative DetectorOptions field")
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Buckets == 0 {
		o.Buckets = DefaultBuckets
	}
	if o.TopK == 0 {
		o.TopK = DefaultTopK
	}
	if o.MinCount == 0 {
		o.MinCount = DefaultMinCount
	}
	if o.MaxKeysPerBucket == 0 {
		o.MaxKeysPerBucket = DefaultMaxKeysPerBucket
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	interval := o.Window / time.Duration(o.Buckets)
	if interval <= 0 {
		panic("hotkey: Window is shorter than one nanosecond per bucket")
	}
	shardCap := max(1, o.MaxKeysPerBucket/shardsPerBucket)
	d := &Detector{
		now:        o.Now,
		start:      o.Now(),
		interval:   interval,
		buckets:    o.Buckets,
		topK:       o.TopK,
		minCount:   uint64(o.MinCount),
		admitAt:    uint64(max(1, (o.MinCount+o.Buckets-1)/o.Buckets)),
		shardCap:   shardCap,
		shardPlain: shardCap - shardCap/8,
		seed:       maphash.MakeSeed(),
		sketchSeed: maphash.MakeSeed(),
		ring:       make([]bucket, o.Buckets+1),
	}
	for i := range d.ring {
		for j := range d.ring[i].shards {
			d.ring[i].shards[j].interval = -1
		}
	}
	d.snap.Store(&snapshot{})
	return d
}

// intervalAt numbers the interval t falls in, counting from the Detector's creation.
// Durations between time.Now readings use the monotonic clock, so wall-clock steps do
// not move the window; a clock reading before the start counts as interval 0.
func (d *Detector) intervalAt(t time.Time) int64 {
	return max(0, int64(t.Sub(d.start)/d.interval))
}

// Touch counts one access to key. It is meant to be called on every request for key: it
// reads the clock and takes one of 32 shard mutexes for a map increment. Once per
// interval, the first caller of Touch, IsHot or Hot also recomputes the hot set, which
// costs time proportional to the keys in the window (see BenchmarkDetectorRecompute);
// callers meanwhile keep using the previous hot set instead of waiting for it.
func (d *Detector) Touch(key string) {
	iv := d.intervalAt(d.now())
	d.current(iv)
	h := maphash.String(d.seed, key)
	s := &d.ring[iv%int64(len(d.ring))].shards[h&(shardsPerBucket-1)]
	s.mu.Lock()
	d.add(s, iv, key)
	s.mu.Unlock()
}

// add counts key in s for interval iv; s.mu is held.
func (d *Detector) add(s *shard, iv int64, key string) {
	if iv > s.interval {
		// The slot last counted an interval that has left the window: reuse it.
		s.interval = iv
		clear(s.counts)
		s.sketch = nil
	}
	// An access whose clock reading is older than the slot's interval (a goroutine
	// preempted across the boundary) is counted in the newer interval; the difference
	// is one access moved by one interval.
	if s.counts == nil {
		s.counts = make(map[string]uint64)
	}
	if len(s.counts) < d.shardPlain {
		s.counts[key]++
		return
	}
	if c, ok := s.counts[key]; ok {
		s.counts[key] = c + 1
		return
	}
	s.overflow.Add(1)
	if len(s.counts) >= d.shardCap {
		return
	}
	if s.sketch == nil {
		s.sketch = new(sketch)
	}
	// The sketch never underestimates, and overestimates a key by at most about the
	// average counter, so a key enters only once its estimate exceeds the threshold by
	// that much: a flood of one-off keys raises the bar instead of filling the reserve.
	// The count starts at the estimate, slightly high at worst.
	if est := s.sketch.add(maphash.String(d.sketchSeed, key)); est >= d.admitAt+s.sketch.total/sketchWidth {
		s.counts[key] = est
	}
}

// IsHot reports whether key is among the hot keys of the current interval: at least
// MinCount accesses in the window of ended intervals and among the TopK most accessed.
func (d *Detector) IsHot(key string) bool {
	_, ok := d.current(d.intervalAt(d.now())).set[key]
	return ok
}

// Hot returns the current hot keys and their counts in the window, most accessed first
// (ties by key). The slice is the caller's.
func (d *Detector) Hot() []KeyCount {
	return slices.Clone(d.current(d.intervalAt(d.now())).top)
}

// current returns the snapshot for interval iv, computing it if this goroutine is the
// first to need it. Others that need it meanwhile keep using the previous snapshot rather
// than wait: being a moment late to call a key hot costs a few remote reads.
func (d *Detector) current(iv int64) *snapshot {
	s := d.snap.Load()
	if iv <= s.interval {
		return s
	}
	for {
		c := d.claimed.Load()
		if c >= iv {
			return d.snap.Load()
		}
		if d.claimed.CompareAndSwap(c, iv) {
			break
		}
	}
	next := d.compute(iv)
	for {
		// A goroutine that claimed a later interval may have finished first.
		cur := d.snap.Load()
		if cur.interval >= next.interval {
			return cur
		}
		if d.snap.CompareAndSwap(cur, next) {
			return next
		}
	}
}

// compute sums the buckets of the Buckets intervals before iv and selects the top K.
// It frees the maps of slots that have not been counted in since before the window, so
// an idle Detector gives its memory back.
func (d *Detector) compute(iv int64) *snapshot {
	lo := iv - int64(d.buckets)
	// Sized like the last window's, so summing rarely grows the map.
	sums := make(map[string]uint64, d.lastDistinct.Load())
	for b := range d.ring {
		for i := range d.ring[b].shards {
			s := &d.ring[b].shards[i]
			s.mu.Lock()
			switch {
			case s.interval >= lo && s.interval < iv:
				for k, c := range s.counts {
					sums[k] += c
				}
			case s.interval < lo:
				s.counts = nil
				s.sketch = nil
			}
			s.mu.Unlock()
		}
	}
	d.lastDistinct.Store(int64(len(sums)))
	top := topK(sums, d.topK, d.minCount)
	set := make(map[string]struct{}, len(top))
	for _, kc := range top {
		set[kc.Key] = struct{}{}
	}
	return &snapshot{interval: iv, top: top, set: set}
}

// topK returns the at most k entries of counts with a count of at least minCount that
// are largest by count, then smallest by key, ordered best first. It keeps a min-heap of
// the best k seen so far, whose root is the one to drop next: O(n log k) time, O(k)
// memory beyond counts.
func topK(counts map[string]uint64, k int, minCount uint64) []KeyCount {
	h := make(minHeap, 0, k)
	for key, c := range counts {
		if c < minCount {
			continue
		}
		kc := KeyCount{Key: key, Count: c}
		if len(h) < k {
			h.push(kc)
		} else if worse(h[0], kc) {
			h[0] = kc
			h.down(0)
		}
	}
	top := []KeyCount(h)
	slices.SortFunc(top, func(a, b KeyCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return top
}

// worse reports whether a ranks below b: fewer accesses, or as many and a later key.
func worse(a, b KeyCount) bool {
	if a.Count != b.Count {
		return a.Count < b.Count
	}
	return a.Key > b.Key
}

// minHeap is a binary heap with the worst entry at the root.
type minHeap []KeyCount

func (h *minHeap) push(kc KeyCount) {
	*h = append(*h, kc)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !worse(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h minHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// sketch is a count-min sketch with conservative update: it estimates how often a key
// was added, never below the truth, using fixed memory whatever the number of keys.
type sketch struct {
	rows  [sketchRows][sketchWidth]uint32
	total uint64 // occurrences added
}

// add counts one occurrence of the key whose hash is h and returns its new estimate.
// Conservative update raises only the counters that are at the current minimum, which
// keeps keys that share counters with frequent ones from being overestimated as much.
func (s *sketch) add(h uint64) uint64 {
	// Row i uses the hash a + i*b (double hashing), so one 64-bit hash serves all rows.
	s.total++
	a, b := uint32(h), uint32(h>>32)|1
	var idx [sketchRows]uint32
	est := uint32(1<<32 - 1)
	for i := range s.rows {
		idx[i] = (a + uint32(i)*b) % sketchWidth
		est = min(est, s.rows[i][idx[i]])
	}
	if est < 1<<32-1 {
		est++
	}
	for i := range s.rows {
		if s.rows[i][idx[i]] < est {
			s.rows[i][idx[i]] = est
		}
	}
	return uint64(est)
}

// overflowed returns the accesses, since the Detector was created, that were not counted
// exactly because a bucket was full.
func (d *Detector) overflowed() uint64 {
	var n uint64
	for b := range d.ring {
		for i := range d.ring[b].shards {
			n += d.ring[b].shards[i].overflow.Load()
		}
	}
	return n
}
