package hotkey_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
)

// fakeClock is a clock that moves only when the test advances it, so that windows and
// TTLs are crossed exactly where a test says.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func touchN(d *hotkey.Detector, key string, n int) {
	for range n {
		d.Touch(key)
	}
}

func TestDetectorHotAfterIntervalAndCoolsAfterWindow(t *testing.T) {
	clk := newFakeClock()
	d := hotkey.NewDetector(hotkey.DetectorOptions{
		Window: 10 * time.Second, Buckets: 10, TopK: 4, MinCount: 50, Now: clk.Now,
	})

	touchN(d, "burst", 60) // interval 0
	touchN(d, "quiet", 49) // below MinCount
	touchN(d, "spread", 25)
	if d.IsHot("burst") {
		t.Fatal("burst is hot before its interval ended; the interval in progress must not count")
	}

	clk.Advance(5 * time.Second) // interval 5
	touchN(d, "spread", 25)      // 50 in the window once interval 5 has ended
	want := []hotkey.KeyCount{{Key: "burst", Count: 60}}
	if got := d.Hot(); !slices.Equal(got, want) {
		t.Fatalf("Hot() in interval 5 = %v, want %v", got, want)
	}

	clk.Advance(time.Second) // interval 6: window is intervals 0-5
	want = []hotkey.KeyCount{{Key: "burst", Count: 60}, {Key: "spread", Count: 50}}
	if got := d.Hot(); !slices.Equal(got, want) {
		t.Fatalf("Hot() in interval 6 = %v, want %v", got, want)
	}
	if !d.IsHot("burst") || !d.IsHot("spread") || d.IsHot("quiet") || d.IsHot("absent") {
		t.Fatalf("IsHot disagrees with Hot() = %v", d.Hot())
	}

	clk.Advance(4*time.Second + 999*time.Millisecond) // 10.999s: interval 10, window 0-9
	if !d.IsHot("burst") {
		t.Fatal("burst stopped being hot before its interval left the window")
	}

	clk.Advance(time.Millisecond) // 11s: interval 11, window 1-10; interval 0 is out
	if d.IsHot("burst") || d.IsHot("spread") {
		t.Fatalf("keys still hot after their accesses left the window: %v", d.Hot())
	}
	if got := d.Hot(); len(got) != 0 {
		t.Fatalf("Hot() after the window = %v, want none", got)
	}
}

func TestDetectorTopKBound(t *testing.T) {
	clk := newFakeClock()
	d := hotkey.NewDetector(hotkey.DetectorOptions{TopK: 3, MinCount: 1, Now: clk.Now})
	touchN(d, "a", 10)
	touchN(d, "b", 30)
	touchN(d, "c", 20)
	touchN(d, "d", 20) // ties with c; c wins on key order
	touchN(d, "e", 5)
	clk.Advance(time.Second) // default window 10s in 10 buckets

	want := []hotkey.KeyCount{{Key: "b", Count: 30}, {Key: "c", Count: 20}, {Key: "d", Count: 20}}
	if got := d.Hot(); !slices.Equal(got, want) {
		t.Fatalf("Hot() = %v, want %v", got, want)
	}
	if d.IsHot("a") || d.IsHot("e") {
		t.Fatal("a key outside the top 3 is hot")
	}

	got := d.Hot()
	got[0].Key = "mutated"
	if d.Hot()[0].Key != "b" {
		t.Fatal("modifying the slice Hot returned changed the Detector's state")
	}
}

func TestDetectorDefaults(t *testing.T) {
	clk := newFakeClock()
	d := hotkey.NewDetector(hotkey.DetectorOptions{Now: clk.Now})
	for i := range hotkey.DefaultTopK + 8 {
		touchN(d, fmt.Sprintf("k%02d", i), hotkey.DefaultMinCount+i)
	}
	touchN(d, "cold", hotkey.DefaultMinCount-1)
	clk.Advance(hotkey.DefaultWindow / hotkey.DefaultBuckets)

	hot := d.Hot()
	if len(hot) != hotkey.DefaultTopK {
		t.Fatalf("%d keys hot, want the default top %d", len(hot), hotkey.DefaultTopK)
	}
	if hot[0].Key != fmt.Sprintf("k%02d", hotkey.DefaultTopK+7) || d.IsHot("k00") || d.IsHot("cold") {
		t.Fatalf("default top-K wrong: %v", hot)
	}
	clk.Advance(hotkey.DefaultWindow)
	if len(d.Hot()) != 0 {
		t.Fatal("keys still hot a default window later")
	}
}

// TestDetectorMatchesNaiveCount drives random accesses at random times through Detectors
// with random settings and compares Hot() with a sort of an exact count of the accesses
// in the window, at random moments.
func TestDetectorMatchesNaiveCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(2025, 4))
	type access struct {
		interval int64
		key      string
	}
	at := func(a access) (int64, string) { return a.interval, a.key }
	cut := 0 // checks where more keys qualified than TopK, so the heap had to choose
	for trial := range 100 {
		buckets := 1 + rng.IntN(8)
		interval := time.Duration(1+rng.IntN(1000)) * time.Millisecond
		topK := 1 + rng.IntN(10)
		minCount := 1 + rng.IntN(30)
		nKeys := 1 + rng.IntN(60)

		clk := newFakeClock()
		start := clk.Now()
		d := hotkey.NewDetector(hotkey.DetectorOptions{
			Window: interval * time.Duration(buckets), Buckets: buckets,
			TopK: topK, MinCount: minCount, Now: clk.Now,
		})
		var log []access
		for step := range 3000 {
			switch r := rng.IntN(100); {
			case r < 3:
				clk.Advance(time.Duration(rng.Int64N(int64(interval) * 2)))
			case r < 5:
				iv := int64(clk.Now().Sub(start) / interval)
				want := naiveTop(log, iv, buckets, topK, minCount, at)
				if len(naiveTop(log, iv, buckets, topK+1, minCount, at)) > topK {
					cut++
				}
				if got := d.Hot(); !slices.Equal(got, want) {
					t.Fatalf("trial %d step %d (buckets %d, topK %d, minCount %d): Hot() = %v, want %v",
						trial, step, buckets, topK, minCount, got, want)
				}
				for _, kc := range want {
					if !d.IsHot(kc.Key) {
						t.Fatalf("trial %d step %d: IsHot(%q) = false, but it is in the top-K", trial, step, kc.Key)
					}
				}
			default:
				// Skewed: low key numbers are much more frequent.
				k := fmt.Sprintf("video-%d", int(float64(nKeys)*rng.Float64()*rng.Float64()))
				d.Touch(k)
				log = append(log, access{int64(clk.Now().Sub(start) / interval), k})
			}
		}
	}
	if cut < 100 {
		t.Fatalf("only %d checks had more candidates than TopK; the test does not exercise the heap", cut)
	}
	t.Logf("%d checks where the top-K cut candidates", cut)
}

// naiveTop counts the accesses of the buckets intervals before iv, keeps those with at
// least minCount, sorts by count descending then key, and cuts at topK.
func naiveTop[A any](log []A, iv int64, buckets, topK, minCount int, at func(A) (int64, string)) []hotkey.KeyCount {
	counts := map[string]uint64{}
	for _, a := range log {
		if i, k := at(a); i >= iv-int64(buckets) && i < iv {
			counts[k]++
		}
	}
	all := []hotkey.KeyCount{}
	for k, c := range counts {
		if c >= uint64(minCount) {
			all = append(all, hotkey.KeyCount{Key: k, Count: c})
		}
	}
	slices.SortFunc(all, func(a, b hotkey.KeyCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return all[:min(topK, len(all))]
}

func TestDetectorMemoryBound(t *testing.T) {
	clk := newFakeClock()
	const maxKeys = 2048
	d := hotkey.NewDetector(hotkey.DetectorOptions{
		Window: 10 * time.Second, Buckets: 10, TopK: 4, MinCount: 50,
		MaxKeysPerBucket: maxKeys, Now: clk.Now,
	})
	// A crawler reads 200,000 different videos once each, then a video becomes hot in
	// the same interval: the bucket is full by the time it starts.
	for i := range 200_000 {
		d.Touch(fmt.Sprintf("crawl-%d", i))
	}
	touchN(d, "late-hot", 60)
	if n := d.TrackedKeys(); n > maxKeys {
		t.Fatalf("%d keys tracked in one interval, want at most %d", n, maxKeys)
	}

	clk.Advance(time.Second)
	for i := range 200_000 {
		d.Touch(fmt.Sprintf("crawl2-%d", i))
	}
	if n := d.TrackedKeys(); n > 2*maxKeys {
		t.Fatalf("%d keys tracked in two intervals, want at most %d", n, 2*maxKeys)
	}
	hot := d.Hot()
	if len(hot) != 1 || hot[0].Key != "late-hot" || hot[0].Count < 60 {
		t.Fatalf("Hot() = %v, want late-hot with at least its 60 accesses: a full bucket must still admit a frequent key", hot)
	}

	// Once nothing is counted for a whole window, recomputing frees the buckets.
	clk.Advance(12 * time.Second)
	if got := d.Hot(); len(got) != 0 {
		t.Fatalf("Hot() after an idle window = %v", got)
	}
	if n := d.TrackedKeys(); n != 0 {
		t.Fatalf("%d keys still held after an idle window, want 0", n)
	}
}

func TestDetectorConcurrentTouchesAreAllCounted(t *testing.T) {
	clk := newFakeClock()
	d := hotkey.NewDetector(hotkey.DetectorOptions{TopK: 2, MinCount: 1, Now: clk.Now})
	const workers, perWorker = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				d.Touch("hot")
				d.Touch(fmt.Sprintf("cold-%d-%d", w, i))
				_ = d.IsHot("hot")
			}
		})
	}
	wg.Wait()
	clk.Advance(time.Second)
	hot := d.Hot()
	if len(hot) != 2 || hot[0] != (hotkey.KeyCount{Key: "hot", Count: workers * perWorker}) || hot[1].Count != 1 {
		t.Fatalf("Hot() = %v, want hot counted %d times first", hot, workers*perWorker)
	}
}

// TestDetectorConcurrentWithRotation lets the clock cross intervals while goroutines
// touch and read, for the race detector, and checks what must hold whatever the
// interleaving.
func TestDetectorConcurrentWithRotation(t *testing.T) {
	clk := newFakeClock()
	// TopK leaves room for all 21 keys: how often the workers touch theirs, compared with
	// steady, depends on scheduling.
	const topK, minCount = 25, 3
	d := hotkey.NewDetector(hotkey.DetectorOptions{
		Window: time.Second, Buckets: 4, TopK: topK, MinCount: minCount, Now: clk.Now,
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				d.Touch(fmt.Sprintf("k%d", rng.IntN(20)))
				hot := d.Hot()
				if len(hot) > topK {
					t.Errorf("%d hot keys, want at most %d", len(hot), topK)
					return
				}
				for i, kc := range hot {
					if kc.Count < minCount || (i > 0 && kc.Count > hot[i-1].Count) {
						t.Errorf("Hot() = %v: below MinCount or out of order", hot)
						return
					}
				}
			}
		})
	}
	for range 200 {
		clk.Advance(37 * time.Millisecond)
		for range 50 {
			d.Touch("steady")
		}
		_ = d.IsHot("steady")
	}
	close(stop)
	wg.Wait()
	clk.Advance(250 * time.Millisecond)
	if !d.IsHot("steady") {
		t.Fatalf("steady, touched about 1350 times per window, is not hot: %v", d.Hot())
	}
}

func TestNewDetectorRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]hotkey.DetectorOptions{
		"negative window":  {Window: -time.Second},
		"negative top-k":   {TopK: -1},
		"window too short": {Window: 5, Buckets: 10},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewDetector accepted bad options")
				}
			}()
			hotkey.NewDetector(o)
		})
	}
}

func BenchmarkDetectorTouch(b *testing.B) {
	d := hotkey.NewDetector(hotkey.DetectorOptions{})
	keys := benchKeys(10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Touch(keys[i%len(keys)])
		i++
	}
}

func BenchmarkDetectorTouchParallel(b *testing.B) {
	d := hotkey.NewDetector(hotkey.DetectorOptions{})
	keys := benchKeys(10_000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		// Zipf-like: a few videos take most of the reads, as in a hot spot.
		z := rand.NewZipf(rand.New(rand.NewPCG(rng.Uint64(), 2)), 1.1, 1, uint64(len(keys)-1))
		for pb.Next() {
			d.Touch(keys[z.Uint64()])
		}
	})
}

func BenchmarkDetectorIsHot(b *testing.B) {
	clk := newFakeClock()
	d := hotkey.NewDetector(hotkey.DetectorOptions{MinCount: 1, Now: clk.Now})
	keys := benchKeys(64)
	for _, k := range keys {
		d.Touch(k)
	}
	clk.Advance(time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = d.IsHot(keys[i%len(keys)])
			i++
		}
	})
}

// BenchmarkDetectorRecompute measures the once-per-interval cost some request pays: the
// sum of full buckets and the top-K.
func BenchmarkDetectorRecompute(b *testing.B) {
	for _, keys := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			clk := newFakeClock()
			d := hotkey.NewDetector(hotkey.DetectorOptions{Now: clk.Now})
			names := benchKeys(keys)
			// Fill intervals 0-9 and stay in interval 9.
			for i := range hotkey.DefaultBuckets {
				if i > 0 {
					clk.Advance(time.Second)
				}
				for _, k := range names {
					d.Touch(k)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				// Enter the next interval and recompute over the window of the ten full
				// intervals before it; then fill the new interval, untimed, so the next
				// window is full too.
				clk.Advance(time.Second)
				_ = d.Hot()
				b.StopTimer()
				for _, k := range names {
					d.Touch(k)
				}
				b.StartTimer()
			}
		})
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("comment:first-page:%d", 7300000000000000+i)
	}
	return keys
}
