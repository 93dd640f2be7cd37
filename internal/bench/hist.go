package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts durations in log-linear buckets, the way HdrHistogram does:
// values below 2×subBuckets nanoseconds are kept exactly, and above that every
// power of two is split into subBuckets equal buckets, so a reported value is
// never more than 1/subBuckets (under 0.8%) above the true one. Record is safe
// for concurrent use and never allocates, so workers share one histogram per
// scenario instead of merging private copies.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits
	// maxTrackable caps recorded values (about 18 minutes): far beyond any
	// request timeout, and it keeps the bucket array at 34 KiB.
	maxTrackable = 1<<40 - 1
	numBuckets   = (40-subBits)*subBuckets + subBuckets
)

// bucketOf returns the bucket index of v (0 ≤ v ≤ maxTrackable).
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// highestIn returns the largest value that falls into bucket i.
func highestIn(i int) int64 {
	if i < 2*subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	return (m+1)<<shift - 1
}

// Record adds one observation; negative durations count as 0 and ones beyond
// maxTrackable as maxTrackable.
func (h *Histogram) Record(d time.Duration) {
	v := min(max(int64(d), 0), maxTrackable)
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max is the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Merge adds o's observations to h. Neither may be recorded into meanwhile.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the smallest recorded
// value that at least q of all observations do not exceed, rounded up to the
// top of its bucket (and never above Max). With no observations it is 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(highestIn(i), h.max.Load()))
		}
	}
	return h.Max()
}
