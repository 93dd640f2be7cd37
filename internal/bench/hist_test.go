package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramQuantilesMatchSortedReference records random data of several
// shapes and checks every quantile against the exact order statistic: never
// below it, and above it by at most the bucket width (1/128 of the value).
func TestHistogramQuantilesMatchSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func() int64{
		"uniform 0-300ns (exact range)": func() int64 { return rng.Int64N(300) },
		"uniform 1µs-50ms":              func() int64 { return 1000 + rng.Int64N(50_000_000) },
		"log-uniform 1ns-100s":          func() int64 { return int64(math.Exp(rng.Float64() * math.Log(1e11))) },
		"exponential, mean 2ms":         func() int64 { return int64(rng.ExpFloat64() * 2e6) },
		"few values, many ties":         func() int64 { return []int64{250, 999, 123456, 7e9}[rng.IntN(4)] },
	}
	quantiles := []float64{0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1}
	for name, gen := range shapes {
		for _, n := range []int{1, 7, 1000, 100_000} {
			var h Histogram
			ref := make([]int64, n)
			for i := range ref {
				ref[i] = gen()
				h.Record(time.Duration(ref[i]))
			}
			slices.Sort(ref)
			if h.Count() != uint64(n) {
				t.Fatalf("%s n=%d: count %d", name, n, h.Count())
			}
			if h.Max() != time.Duration(ref[n-1]) {
				t.Errorf("%s n=%d: max %d, want %d exactly", name, n, h.Max(), ref[n-1])
			}
			for _, q := range quantiles {
				rank := max(int(math.Ceil(q*float64(n))), 1)
				want := ref[rank-1]
				got := int64(h.Quantile(q))
				if got < want || got > want+want/subBuckets {
					t.Errorf("%s n=%d q=%g: got %d, want %d (at most +%d)", name, n, q, got, want, want/subBuckets)
				}
			}
		}
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	// Every value maps into a bucket whose top is at least the value and whose
	// predecessor's top is below it: no gaps, no overlaps.
	for _, v := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<20 + 1, maxTrackable} {
		i := bucketOf(v)
		if highestIn(i) < v || (i > 0 && highestIn(i-1) >= v) {
			t.Errorf("value %d: bucket %d spans (%d, %d]", v, i, highestIn(i-1), highestIn(i))
		}
	}
	if bucketOf(maxTrackable) != numBuckets-1 {
		t.Errorf("the largest value is in bucket %d of %d", bucketOf(maxTrackable), numBuckets)
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 {
		t.Fatal("an empty histogram reports values")
	}
	h.Record(-5)                   // a clock step backwards counts as 0
	h.Record(time.Hour * 24 * 365) // beyond the range counts as its top
	if h.Quantile(0.5) != 0 || h.Max() != maxTrackable || h.Quantile(1) != maxTrackable {
		t.Errorf("edges: p50 %d, max %d, p100 %d", h.Quantile(0.5), h.Max(), h.Quantile(1))
	}

	var a, b Histogram
	for i := range 100 {
		a.Record(time.Duration(i) * time.Millisecond)
		b.Record(time.Duration(100+i) * time.Millisecond)
	}
	a.Merge(&b)
	if a.Count() != 200 || a.Max() != 199*time.Millisecond {
		t.Fatalf("merged: count %d, max %s", a.Count(), a.Max())
	}
	if p := a.Quantile(0.5); p < 99*time.Millisecond || p > 99*time.Millisecond+99*time.Millisecond/subBuckets {
		t.Errorf("merged p50 %s, want 99ms", p)
	}
}
