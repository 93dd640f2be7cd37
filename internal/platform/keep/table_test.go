package keep_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/keep"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// get returns the kept values of keys and the generation of the read.
func get(tb *keep.Table[int, int], keys ...int) (map[int]int, []int, uint64) {
	found := map[int]int{}
	missing, gen := tb.Get(keys, found)
	return found, missing, gen
}

func keepAll(tb *keep.Table[int, int], gen uint64, vals map[int]int) {
	keys := make([]int, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	tb.Keep(gen, keys, func(k int) int { return vals[k] })
}

func wantFound(t *testing.T, tb *keep.Table[int, int], key, want int) {
	t.Helper()
	found, missing, _ := get(tb, key)
	if v, ok := found[key]; !ok || v != want || len(missing) != 0 {
		t.Fatalf("key %d: found %v, missing %v; want %d kept", key, found, missing, want)
	}
}

func wantMissing(t *testing.T, tb *keep.Table[int, int], key int) {
	t.Helper()
	found, missing, _ := get(tb, key)
	if len(found) != 0 || len(missing) != 1 || missing[0] != key {
		t.Fatalf("key %d: found %v, missing %v; want it missing", key, found, missing)
	}
}

func TestKeepServesUntilExpiry(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	tb := keep.New[int, int](time.Second, 10, c.now)
	_, missing, gen := get(tb, 1, 2)
	if len(missing) != 2 {
		t.Fatalf("empty table: missing %v, want both keys", missing)
	}
	keepAll(tb, gen, map[int]int{1: 10, 2: 20})
	wantFound(t, tb, 1, 10)
	wantFound(t, tb, 2, 20)
	c.t = c.t.Add(999 * time.Millisecond)
	wantFound(t, tb, 1, 10)
	c.t = c.t.Add(time.Millisecond)
	wantMissing(t, tb, 1)
}

func TestChangeRefusesReadsThatMayPredateIt(t *testing.T) {
	tb := keep.New[int, int](time.Minute, 10, nil)
	_, _, gen := get(tb, 1)
	keepAll(tb, gen, map[int]int{1: 10})

	// A read begun before the change, kept during it and after it.
	_, _, before := get(tb, 2)
	done := tb.Change(1)
	wantMissing(t, tb, 1)
	keepAll(tb, before, map[int]int{1: 10})
	wantMissing(t, tb, 1)
	// A read begun during the change may have seen it uncommitted.
	_, _, during := get(tb, 1)
	keepAll(tb, during, map[int]int{1: 10})
	wantMissing(t, tb, 1)
	done()
	keepAll(tb, before, map[int]int{1: 10})
	keepAll(tb, during, map[int]int{1: 10})
	wantMissing(t, tb, 1)

	// A read begun after the change is kept; the old read still kept key 2,
	// which no change touched.
	_, _, after := get(tb, 1)
	keepAll(tb, after, map[int]int{1: 11})
	wantFound(t, tb, 1, 11)
	keepAll(tb, before, map[int]int{2: 20})
	wantFound(t, tb, 2, 20)
}

func TestChangeOfAKeyTwiceAtOnce(t *testing.T) {
	tb := keep.New[int, int](time.Minute, 10, nil)
	first := tb.Change(1, 1) // a user liking their own video: liker and author
	second := tb.Change(1)
	first()
	_, _, gen := get(tb, 1)
	keepAll(tb, gen, map[int]int{1: 5})
	wantMissing(t, tb, 1) // the second change is still in progress
	second()
	_, _, gen = get(tb, 1)
	keepAll(tb, gen, map[int]int{1: 6})
	wantFound(t, tb, 1, 6)
}

func TestChangeUnknown(t *testing.T) {
	tb := keep.New[int, int](time.Minute, 10, nil)
	_, _, gen := get(tb, 1, 2, 3)
	keepAll(tb, gen, map[int]int{1: 10, 2: 20, 3: 30})

	done := tb.ChangeUnknown()
	found, missing, during := get(tb, 1, 2)
	if len(found) != 0 || len(missing) != 2 {
		t.Fatalf("during an unknown change: found %v, missing %v; want nothing served", found, missing)
	}
	keepAll(tb, during, map[int]int{1: 10, 2: 20})
	done(2)
	wantFound(t, tb, 1, 10)
	wantMissing(t, tb, 2)
	keepAll(tb, during, map[int]int{2: 20}) // read while 2 changed
	wantMissing(t, tb, 2)

	tb.ChangeUnknown()() // failed before it could tell what it changed
	wantMissing(t, tb, 1)
	wantMissing(t, tb, 3)
}

func TestBoundDropsOldestAndRefusesEarlierReads(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	tb := keep.New[int, int](time.Second, 4, c.now)
	_, _, gen := get(tb, 1, 2)
	keepAll(tb, gen, map[int]int{1: 1, 2: 2})
	c.t = c.t.Add(2 * time.Second) // 1 and 2 expire
	_, _, gen = get(tb, 3, 4, 5)
	keepAll(tb, gen, map[int]int{3: 3, 4: 4})
	_, _, old := get(tb, 6)
	// Room is made: the expired two go, and their marks with them, so a read
	// begun before (this one too) may predate a change whose mark is gone.
	keepAll(tb, gen, map[int]int{5: 5})
	if n := tb.Len(); n != 2 {
		t.Fatalf("after pruning: %d keys, want 2", n)
	}
	wantMissing(t, tb, 5)
	keepAll(tb, old, map[int]int{6: 6})
	wantMissing(t, tb, 6)
	_, _, gen = get(tb, 6, 7)
	keepAll(tb, gen, map[int]int{6: 6, 7: 7}) // nothing expired: all go
	if n := tb.Len(); n > 4 {
		t.Fatalf("table holds %d keys, bound 4", n)
	}
	done := tb.Change(8)
	_, _, gen = get(tb, 9)
	keepAll(tb, gen, map[int]int{9: 9, 10: 10, 11: 11, 12: 12}) // past the bound
	wantMissing(t, tb, 8)
	done() // the mark of a change in progress survived the pruning
	if n := tb.Len(); n > 4 {
		t.Fatalf("table holds %d keys, bound 4", n)
	}
}

// TestNeverServesAValueOlderThanTheLastWrite races writers, which count up a
// store of counters through Change, with readers filling the table from the
// store: a value served must never be older than a write that returned before
// the read began, and once the writers stop every kept value is the store's.
func TestNeverServesAValueOlderThanTheLastWrite(t *testing.T) {
	const keys, writers, readers, writes = 8, 4, 4, 2000
	tb := keep.New[int, int](time.Hour, 6, nil) // a bound below the keys: pruning races too
	var store, returned [keys]atomic.Int64
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range writes {
				k := r.IntN(keys)
				done := tb.Change(k)
				n := store[k].Add(1)
				done()
				for {
					old := returned[k].Load()
					if old >= n || returned[k].CompareAndSwap(old, n) {
						break
					}
				}
			}
		})
	}
	failed := make(chan string, readers)
	var rg sync.WaitGroup
	for rd := range readers {
		rg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for !stop.Load() {
				ks := []int{r.IntN(keys), r.IntN(keys), r.IntN(keys)}
				var floor [keys]int64
				for _, k := range ks {
					floor[k] = returned[k].Load()
				}
				found := map[int]int{}
				missing, gen := tb.Get(ks, found)
				for k, v := range found {
					if int64(v) < floor[k] {
						failed <- "stale value served"
						return
					}
				}
				read := map[int]int{}
				for _, k := range missing {
					read[k] = int(store[k].Load())
				}
				tb.Keep(gen, missing, func(k int) int { return read[k] })
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	close(failed)
	for msg := range failed {
		t.Fatal(msg)
	}
	all := make([]int, keys)
	for k := range all {
		all[k] = k
	}
	found, _, _ := get(tb, all...)
	for k, v := range found {
		if int64(v) != store[k].Load() {
			t.Fatalf("key %d: kept %d after the writes, store has %d", k, v, store[k].Load())
		}
	}
}
