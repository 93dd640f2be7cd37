package hotkey_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
)

func wantGet[V comparable](t *testing.T, c *hotkey.Cache[V], key string, want V) {
	t.Helper()
	if got, ok := c.Get(key); !ok || got != want {
		t.Fatalf("Get(%q) = %v, %v; want %v, true", key, got, ok, want)
	}
}

func wantMiss[V any](t *testing.T, c *hotkey.Cache[V], key string) {
	t.Helper()
	if got, ok := c.Get(key); ok {
		t.Fatalf("Get(%q) = %v, true; want a miss", key, got)
	}
}

func TestCacheTTL(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[string](10, 2*time.Second, clk.Now)
	c.Set("v1", "k1", "page")
	wantGet(t, c, "k1", "page")

	clk.Advance(time.Second)
	c.Set("v1", "k2", "later")
	clk.Advance(time.Second - time.Nanosecond)
	wantGet(t, c, "k1", "page")
	if n := c.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2", n)
	}

	clk.Advance(time.Nanosecond) // k1 is exactly ttl old
	wantMiss(t, c, "k1")
	wantGet(t, c, "k2", "later")
	if n := c.Len(); n != 1 {
		t.Fatalf("Len() after k1 expired = %d, want 1", n)
	}

	// Storing again restarts the lifetime.
	c.Set("v1", "k2", "again")
	clk.Advance(1500 * time.Millisecond)
	wantGet(t, c, "k2", "again")
	wantMiss(t, c, "never-set")
}

func TestCacheInvalidateTag(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[string](10, time.Minute, clk.Now)
	c.Set("video-1", "video-1:time", "t1")
	c.Set("video-1", "video-1:hot", "h1")
	c.Set("video-2", "video-2:time", "t2")
	// A key moved to another tag belongs to that tag only.
	c.Set("video-1", "moved", "m1")
	c.Set("video-2", "moved", "m2")

	c.InvalidateTag("video-1")
	wantMiss(t, c, "video-1:time")
	wantMiss(t, c, "video-1:hot")
	wantGet(t, c, "video-2:time", "t2")
	wantGet(t, c, "moved", "m2")
	if n := c.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2", n)
	}

	c.InvalidateTag("never-cached") // harmless
	c.Set("video-1", "video-1:time", "t1b")
	wantGet(t, c, "video-1:time", "t1b")
	c.InvalidateTag("video-2")
	wantMiss(t, c, "moved")
	if n := c.Len(); n != 1 {
		t.Fatalf("Len() = %d, want 1", n)
	}
}

func TestCacheBoundedEvictsOldest(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[int](3, time.Minute, clk.Now)
	for i := range 3 {
		c.Set("t", fmt.Sprint(i), i)
		clk.Advance(time.Second)
	}
	c.Set("t", "0", 10) // rewriting makes 0 the newest
	c.Set("u", "3", 3)  // full: drops 1, the oldest
	wantMiss(t, c, "1")
	wantGet(t, c, "0", 10)
	wantGet(t, c, "2", 2)
	wantGet(t, c, "3", 3)

	for i := range 1000 {
		c.Set(fmt.Sprint("tag", i%7), fmt.Sprint("k", i), i)
		if n := c.Len(); n > 3 {
			t.Fatalf("Len() = %d after %d Sets, want at most 3", n, i+1)
		}
	}
	wantGet(t, c, "k999", 999)
	c.InvalidateTag(fmt.Sprint("tag", 999%7))
	wantMiss(t, c, "k999")
}

// TestCacheSetIfGenRefusesValueLoadedBeforeInvalidation replays the race that would
// leave a stale first page cached for a whole TTL: a reader misses, loads the page, a new
// comment is written and its event invalidates the video, and only then does the reader
// store what it loaded.
func TestCacheSetIfGenRefusesValueLoadedBeforeInvalidation(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[string](100, time.Minute, clk.Now)

	loaded := make(chan struct{})
	invalidated := make(chan struct{})
	stored := make(chan bool)
	go func() {
		gen := c.Gen("video-1")
		page := "page without the new comment" // the load from the store
		close(loaded)
		<-invalidated
		stored <- c.SetIfGen("video-1", "video-1:time", gen, page)
	}()
	<-loaded
	c.InvalidateTag("video-1") // the new comment's event
	close(invalidated)
	if <-stored {
		t.Fatal("SetIfGen stored a page loaded before the invalidation")
	}
	wantMiss(t, c, "video-1:time")

	// The next reader loads after the invalidation and may store.
	gen := c.Gen("video-1")
	if !c.SetIfGen("video-1", "video-1:time", gen, "page with the new comment") {
		t.Fatal("SetIfGen refused a page loaded after the invalidation")
	}
	wantGet(t, c, "video-1:time", "page with the new comment")

	// Stores and invalidations of other tags, and stores of the same tag, do not
	// change the generation.
	gen = c.Gen("video-1")
	c.InvalidateTag("video-2")
	c.Set("video-3", "video-3:time", "x")
	c.Set("video-1", "video-1:hot", "h")
	if !c.SetIfGen("video-1", "video-1:time", gen, "again") {
		t.Fatal("SetIfGen refused although video-1 was not invalidated")
	}

	// Unconditional Set has no such guard, which is why loaders must not use it.
	gen = c.Gen("video-1")
	c.InvalidateTag("video-1")
	c.Set("video-1", "video-1:time", "stale")
	wantGet(t, c, "video-1:time", "stale")
	if c.SetIfGen("video-1", "video-1:hot", gen, "stale") {
		t.Fatal("SetIfGen stored with a generation from before an invalidation")
	}
}

// TestCacheGenSurvivesForgettingTags fills the Cache with invalidations of many tags, so
// that it forgets the state of tags without entries, and checks that a generation read
// before an invalidation is still refused afterwards.
func TestCacheGenSurvivesForgettingTags(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[string](2, time.Minute, clk.Now)
	gen := c.Gen("video-1")
	c.InvalidateTag("video-1")
	for i := range 100 {
		c.InvalidateTag(fmt.Sprint("other-", i))
	}
	if c.SetIfGen("video-1", "k", gen, "stale") {
		t.Fatal("SetIfGen stored a value loaded before an invalidation the Cache has since forgotten")
	}
	gen = c.Gen("video-1")
	if !c.SetIfGen("video-1", "k", gen, "fresh") {
		t.Fatal("SetIfGen refused a current generation")
	}
	wantGet(t, c, "k", "fresh")
}

// TestCacheNeverServesValueOlderThanLastInvalidation runs readers that load through
// Gen/SetIfGen against a writer that updates the store and invalidates, and checks the
// property callers rely on: once an invalidation has returned, no Get returns a value
// loaded before the store change it announced.
func TestCacheNeverServesValueOlderThanLastInvalidation(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[uint64](64, time.Minute, clk.Now)
	const tags = 4
	var (
		store     [tags]atomic.Uint64 // the version in the store, per tag
		announced [tags]atomic.Uint64 // versions whose invalidation has returned
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		hits      atomic.Uint64
	)
	for r := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 3))
			for {
				select {
				case <-stop:
					return
				default:
				}
				tag := rng.IntN(tags)
				tagName, key := fmt.Sprint("video-", tag), fmt.Sprintf("video-%d:%d", tag, rng.IntN(2))
				floor := announced[tag].Load()
				if v, ok := c.Get(key); ok {
					hits.Add(1)
					if v < floor {
						t.Errorf("Get(%q) = version %d after the invalidation of version %d returned", key, v, floor)
						return
					}
					continue
				}
				gen := c.Gen(tagName)
				v := store[tag].Load()
				c.SetIfGen(tagName, key, gen, v)
				if rng.IntN(10) == 0 {
					_ = c.Len()
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(99, 3))
	for range 20_000 {
		tag := rng.IntN(tags)
		v := store[tag].Add(1)
		c.InvalidateTag(fmt.Sprint("video-", tag))
		announced[tag].Store(v)
	}
	close(stop)
	wg.Wait()
	if hits.Load() == 0 {
		t.Fatal("no reader ever hit the cache; the test checked nothing")
	}
	t.Logf("%d hits checked", hits.Load())
}

func TestCacheConcurrentUse(t *testing.T) {
	clk := newFakeClock()
	c := hotkey.NewCache[int](50, time.Second, clk.Now)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for i := range 5000 {
				tag := fmt.Sprint("t", rng.IntN(20))
				key := fmt.Sprint(tag, ":", rng.IntN(3))
				switch rng.IntN(10) {
				case 0:
					c.InvalidateTag(tag)
				case 1:
					c.Set(tag, key, i)
				case 2:
					c.SetIfGen(tag, key, c.Gen(tag), i)
				case 3:
					clk.Advance(time.Millisecond)
				default:
					c.Get(key)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 50 {
		t.Fatalf("Len() = %d, want at most 50", n)
	}
	clk.Advance(time.Second)
	if n := c.Len(); n != 0 {
		t.Fatalf("Len() = %d a TTL after the last Set, want 0", n)
	}
}

func TestNewCacheRejectsBadArguments(t *testing.T) {
	for name, f := range map[string]func(){
		"zero size": func() { hotkey.NewCache[int](0, time.Second, nil) },
		"zero ttl":  func() { hotkey.NewCache[int](1, 0, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewCache accepted a bad argument")
				}
			}()
			f()
		})
	}
}

func BenchmarkCacheGet(b *testing.B) {
	c := hotkey.NewCache[[]byte](1024, time.Hour, nil)
	keys := benchKeys(256)
	for _, k := range keys {
		c.Set(k, k, []byte(k))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Get(keys[i%len(keys)])
		i++
	}
}

func BenchmarkCacheGetParallel(b *testing.B) {
	c := hotkey.NewCache[[]byte](1024, time.Hour, nil)
	keys := benchKeys(256)
	for _, k := range keys {
		c.Set(k, k, []byte(k))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(keys[i%len(keys)])
			i++
		}
	})
}

func BenchmarkCacheSetIfGen(b *testing.B) {
	c := hotkey.NewCache[[]byte](1024, time.Hour, nil)
	keys := benchKeys(4096) // more keys than room: every Set evicts
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		c.SetIfGen(k, k, c.Gen(k), nil)
		i++
	}
}
