package cache_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"math"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

func TestSortedSetsConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		runSortedSetsConformance(t, func(t *testing.T) cache.SortedSets { return cache.NewLocalSortedSets(1_000) })
	})
	t.Run("redis", func(t *testing.T) {
		client := dialTestRedis(t)
		runSortedSetsConformance(t, func(t *testing.T) cache.SortedSets {
			return cache.NewRedisSortedSets(client, testPrefix(t, client))
		})
	})
}

// model is the reference a test keeps beside the set under test: id → score, with the
// order computed the obvious way.
type model map[int64]float64

func modelOf(members []cache.Member) model {
	m := model{}
	m.add(members...)
	return m
}

func (m model) add(members ...cache.Member) {
	for _, x := range members {
		m[x.ID] = x.Score
	}
}

// sorted lists the members in the order Range must return them.
func (m model) sorted(desc bool) []cache.Member {
	out := make([]cache.Member, 0, len(m))
	for id, score := range m {
		out = append(out, cache.Member{ID: id, Score: score})
	}
	slices.SortFunc(out, func(a, b cache.Member) int { return order(a, b, desc) })
	return out
}

// page is what Range must return for q.
func (m model) page(q cache.RangeQuery) []cache.Member {
	var out []cache.Member
	for _, x := range m.sorted(q.Desc) {
		if len(out) == q.N {
			break
		}
		if q.After == nil || order(x, *q.After, q.Desc) > 0 {
			out = append(out, x)
		}
	}
	return out
}

// order compares positions in the direction of a page: negative when a comes first.
func order(a, b cache.Member, desc bool) int {
	c := cmp.Or(cmp.Compare(a.Score, b.Score), cmp.Compare(a.ID, b.ID))
	if desc {
		return -c
	}
	return c
}

func mustReplace(t *testing.T, s cache.SortedSets, key string, members []cache.Member, ttl time.Duration) {
	t.Helper()
	if err := s.Replace(t.Context(), key, members, ttl); err != nil {
		t.Fatalf("Replace(%q, %d members): %v", key, len(members), err)
	}
}

func mustAdd(t *testing.T, s cache.SortedSets, key string, members ...cache.Member) bool {
	t.Helper()
	ok, err := s.AddIfExists(t.Context(), key, members...)
	if err != nil {
		t.Fatalf("AddIfExists(%q): %v", key, err)
	}
	return ok
}

func mustRemove(t *testing.T, s cache.SortedSets, key string, ids ...int64) {
	t.Helper()
	if err := s.Remove(t.Context(), key, ids...); err != nil {
		t.Fatalf("Remove(%q, %v): %v", key, ids, err)
	}
}

func mustRange(t *testing.T, s cache.SortedSets, key string, q cache.RangeQuery) ([]cache.Member, bool) {
	t.Helper()
	got, ok, err := s.Range(t.Context(), key, q)
	if err != nil {
		t.Fatalf("Range(%q, %s): %v", key, describe(q), err)
	}
	if !ok && len(got) > 0 {
		t.Errorf("Range(%q) missed but returned %v", key, got)
	}
	return got, ok
}

func describe(q cache.RangeQuery) string {
	after := "start"
	if q.After != nil {
		after = fmt.Sprintf("%+v", *q.After)
	}
	return fmt.Sprintf("desc=%v after=%s n=%d", q.Desc, after, q.N)
}

// checkPage fails the test unless Range(key, q) hits and returns want.
func checkPage(t *testing.T, s cache.SortedSets, key string, q cache.RangeQuery, want []cache.Member) {
	t.Helper()
	got, ok := mustRange(t, s, key, q)
	if !ok {
		t.Fatalf("Range(%q, %s) missed", key, describe(q))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Range(%q, %s)\n got %v\nwant %v", key, describe(q), got, want)
	}
}

// checkAll fails the test unless the whole set at key, read in one page each way, is m.
func checkAll(t *testing.T, s cache.SortedSets, key string, m model) {
	t.Helper()
	for _, desc := range []bool{true, false} {
		checkPage(t, s, key, cache.RangeQuery{Desc: desc, N: len(m) + 10}, m.sorted(desc))
	}
}

// pageThrough reads the whole set n members at a time, each page starting after the last
// member of the one before, as a client scrolling the list does.
func pageThrough(t *testing.T, s cache.SortedSets, key string, desc bool, n, size int) []cache.Member {
	t.Helper()
	var all []cache.Member
	q := cache.RangeQuery{Desc: desc, N: n}
	for range size + 2 {
		page, ok := mustRange(t, s, key, q)
		if !ok {
			t.Fatalf("Range(%q, %s) missed while paging", key, describe(q))
		}
		if len(page) > n {
			t.Fatalf("Range(%q, %s) returned %d members", key, describe(q), len(page))
		}
		all = append(all, page...)
		if len(page) < n {
			return all
		}
		last := page[len(page)-1]
		q.After = &last
	}
	t.Fatalf("paging %q by %d did not end after %d pages", key, n, size+2)
	return nil
}

// waitForRangeMiss polls until the set at key is gone, failing the test if it outlives the
// deadline.
func waitForRangeMiss(t *testing.T, s cache.SortedSets, key string) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		if _, ok := mustRange(t, s, key, cache.RangeQuery{N: 1}); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sorted set %q still cached %v after it should have expired", key, pollDeadline)
		}
		time.Sleep(pollInterval)
	}
}

// tiedMembers returns size members with distinct ids below maxID drawn from a fixed seed,
// whose scores come from a handful of values so that most members share a score with
// others.
func tiedMembers(size int, maxID int64, scores ...float64) []cache.Member {
	r := mathrand.New(mathrand.NewPCG(4, uint64(size)))
	seen := map[int64]bool{}
	var out []cache.Member
	for len(out) < size {
		id := r.Int64N(maxID)
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, cache.Member{ID: id, Score: scores[r.IntN(len(scores))]})
	}
	return out
}

func runSortedSetsConformance(t *testing.T, newSets func(t *testing.T) cache.SortedSets) {
	t.Run("MissVersusEmpty", func(t *testing.T) {
		s := newSets(t)
		for _, desc := range []bool{true, false} {
			if _, ok := mustRange(t, s, "absent", cache.RangeQuery{Desc: desc, N: 10}); ok {
				t.Errorf("Range of a key never written hit (desc=%v)", desc)
			}
		}
		mustReplace(t, s, "empty", nil, longTTL)
		after := cache.Member{ID: 5, Score: 1}
		for _, q := range []cache.RangeQuery{{N: 10}, {Desc: true, N: 10}, {After: &after, N: 10}, {N: 0}} {
			if got, ok := mustRange(t, s, "empty", q); !ok || len(got) != 0 {
				t.Errorf("Range(empty, %s) = %v, %v; want a hit with no members", describe(q), got, ok)
			}
		}
		if !mustAdd(t, s, "empty") {
			t.Error("AddIfExists with no members on an existing empty set reported it absent")
		}
		// A set emptied by Remove is still cached as empty.
		mustReplace(t, s, "emptied", []cache.Member{{ID: 1, Score: 1}, {ID: 2, Score: 2}}, longTTL)
		mustRemove(t, s, "emptied", 1, 2)
		if got, ok := mustRange(t, s, "emptied", cache.RangeQuery{Desc: true, N: 10}); !ok || len(got) != 0 {
			t.Errorf("Range after removing every id = %v, %v; want a hit with no members", got, ok)
		}
		if !mustAdd(t, s, "emptied", cache.Member{ID: 3, Score: 3}) {
			t.Error("AddIfExists on a set emptied by Remove reported it absent")
		}
		checkAll(t, s, "emptied", model{3: 3})
		// N == 0 only reports existence.
		if got, ok := mustRange(t, s, "emptied", cache.RangeQuery{N: 0}); !ok || len(got) != 0 {
			t.Errorf("Range with N=0 = %v, %v; want a hit with no members", got, ok)
		}
		if _, ok := mustRange(t, s, "absent", cache.RangeQuery{N: 0}); ok {
			t.Error("Range with N=0 of an absent key hit")
		}
	})

	t.Run("Score", func(t *testing.T) {
		s := newSets(t)
		ctx := t.Context()
		if _, found, err := s.Score(ctx, "absent", 1); err != nil || found {
			t.Errorf("Score in an absent set = found %v, %v", found, err)
		}
		mustReplace(t, s, "k", []cache.Member{{ID: 0, Score: math.Inf(-1)}, {ID: 7, Score: 2.5}, {ID: 9, Score: 1e-7}}, longTTL)
		for id, want := range map[int64]float64{0: math.Inf(-1), 7: 2.5, 9: 1e-7} {
			if got, found, err := s.Score(ctx, "k", id); err != nil || !found || got != want {
				t.Errorf("Score(%d) = %v, %v, %v; want %v", id, got, found, err, want)
			}
		}
		if _, found, err := s.Score(ctx, "k", 8); err != nil || found {
			t.Errorf("Score of an id not in the set = found %v, %v", found, err)
		}
		mustAdd(t, s, "k", cache.Member{ID: 7, Score: 3})
		if got, _, _ := s.Score(ctx, "k", 7); got != 3 {
			t.Errorf("Score after a rescore = %v, want 3", got)
		}
		if _, _, err := s.Score(ctx, "k", -1); err == nil {
			t.Error("Score of a negative id succeeded")
		}
	})

	t.Run("ReplaceAndRange", func(t *testing.T) {
		s := newSets(t)
		members := []cache.Member{{ID: 10, Score: 3}, {ID: 11, Score: 1}, {ID: 12, Score: 2}, {ID: 13, Score: 5}, {ID: 14, Score: 4}, {ID: 15, Score: 2.5}}
		mustReplace(t, s, "v1", members, longTTL)
		mustReplace(t, s, "v2", []cache.Member{{ID: 99, Score: 1}}, longTTL)
		m := modelOf(members)
		checkAll(t, s, "v1", m)
		checkPage(t, s, "v1", cache.RangeQuery{Desc: true, N: 2}, []cache.Member{{ID: 13, Score: 5}, {ID: 14, Score: 4}})
		checkPage(t, s, "v1", cache.RangeQuery{N: 2}, []cache.Member{{ID: 11, Score: 1}, {ID: 12, Score: 2}})
		after := cache.Member{ID: 14, Score: 4}
		checkPage(t, s, "v1", cache.RangeQuery{Desc: true, After: &after, N: 2}, []cache.Member{{ID: 10, Score: 3}, {ID: 15, Score: 2.5}})
		checkPage(t, s, "v1", cache.RangeQuery{After: &after, N: 2}, []cache.Member{{ID: 13, Score: 5}})
		last := cache.Member{ID: 11, Score: 1}
		checkPage(t, s, "v1", cache.RangeQuery{Desc: true, After: &last, N: 2}, nil)

		// A rebuild replaces the whole set, and a later duplicate id wins.
		mustReplace(t, s, "v1", []cache.Member{{ID: 20, Score: 1}, {ID: 10, Score: 7}, {ID: 20, Score: 9}}, longTTL)
		checkAll(t, s, "v1", model{20: 9, 10: 7})
		checkAll(t, s, "v2", model{99: 1})
	})

	t.Run("TiesPaging", func(t *testing.T) {
		s := newSets(t)
		members := tiedMembers(90, 10_000, 1, 2, 2, 2, 3, math.Inf(1), math.Inf(-1))
		members = append(members, cache.Member{ID: 0, Score: 2}) // the marker id inside a tie group
		mustReplace(t, s, "ties", members, longTTL)
		m := modelOf(members)
		for _, desc := range []bool{true, false} {
			want := m.sorted(desc)
			for n := 1; n <= 7; n++ {
				got := pageThrough(t, s, "ties", desc, n, len(want))
				if !slices.Equal(got, want) {
					t.Errorf("paging by %d, desc=%v:\n got %v\nwant %v", n, desc, got, want)
				}
			}
		}
	})

	t.Run("AfterAnyPosition", func(t *testing.T) {
		// Positions are compared by (score, id), whether or not a member is there: even ids
		// are members, odd ones never are, and some positions name a member's id with
		// another score, as when the member was rescored after the page was read.
		s := newSets(t)
		members := tiedMembers(60, 100, 0, 1, 2, 2, 3) // 0: the Redis sentinel's score
		for i := range members {
			members[i].ID *= 2
		}
		mustReplace(t, s, "pos", members, longTTL)
		m := modelOf(members)
		check := func(stage string) {
			t.Helper()
			ids := []int64{0, 1, 2, 41, 42, 100, 101, 198, 199, 200, 1<<53 - 1}
			for id := range m {
				ids = append(ids, id)
			}
			for _, score := range []float64{math.Inf(-1), 0, 1, 1.5, 2, 3, 4, math.Inf(1)} {
				for _, id := range ids {
					for _, desc := range []bool{true, false} {
						after := cache.Member{ID: id, Score: score}
						q := cache.RangeQuery{Desc: desc, After: &after, N: 4}
						got, ok := mustRange(t, s, "pos", q)
						if want := m.page(q); !ok || !slices.Equal(got, want) {
							t.Fatalf("%s: Range(%s)\n got %v, %v\nwant %v", stage, describe(q), got, ok, want)
						}
					}
				}
			}
		}
		check("as built")
		var removed []int64
		for id := range m {
			if len(removed) == 20 {
				break
			}
			removed = append(removed, id)
		}
		mustRemove(t, s, "pos", removed...)
		for _, id := range removed {
			delete(m, id)
		}
		check("after removals")
		var moved []cache.Member
		for id, score := range m {
			if len(moved) == 15 {
				break
			}
			moved = append(moved, cache.Member{ID: id, Score: 5 - score})
		}
		if !mustAdd(t, s, "pos", moved...) {
			t.Fatal("AddIfExists on an existing set reported it absent")
		}
		m.add(moved...)
		check("after rescoring")
	})

	t.Run("AfterRemovedMember", func(t *testing.T) {
		// A client reads a page; the last comment on it and the first of the next are then
		// deleted; its next page starts where the deleted comment was.
		s := newSets(t)
		var members []cache.Member
		for id := range int64(12) {
			members = append(members, cache.Member{ID: id + 1, Score: float64(id / 4)}) // four per score
		}
		mustReplace(t, s, "removed", members, longTTL)
		m := modelOf(members)
		for _, desc := range []bool{true, false} {
			first, _ := mustRange(t, s, "removed", cache.RangeQuery{Desc: desc, N: 3})
			if len(first) != 3 {
				t.Fatalf("first page = %v", first)
			}
			last := first[2]
			next := m.page(cache.RangeQuery{Desc: desc, After: &last, N: 1})[0]
			mustRemove(t, s, "removed", last.ID, next.ID)
			q := cache.RangeQuery{Desc: desc, After: &last, N: 3}
			mm := maps.Clone(m)
			delete(mm, last.ID)
			delete(mm, next.ID)
			want := mm.page(q)
			checkPage(t, s, "removed", q, want)
			if len(want) != 3 || want[0] == next {
				t.Fatalf("reference page %v is not a meaningful check", want)
			}
			mustReplace(t, s, "removed", members, longTTL) // restore for the other direction
		}
	})

	t.Run("AddIfExists", func(t *testing.T) {
		s := newSets(t)
		if mustAdd(t, s, "absent", cache.Member{ID: 1, Score: 1}) {
			t.Error("AddIfExists on an absent key reported it present")
		}
		if _, ok := mustRange(t, s, "absent", cache.RangeQuery{N: 10}); ok {
			t.Error("AddIfExists on an absent key created it")
		}
		mustReplace(t, s, "k", []cache.Member{{ID: 1, Score: 10}, {ID: 2, Score: 20}}, longTTL)
		if !mustAdd(t, s, "k", cache.Member{ID: 3, Score: 30}, cache.Member{ID: 4, Score: 15}) {
			t.Error("AddIfExists on an existing key reported it absent")
		}
		checkAll(t, s, "k", model{1: 10, 2: 20, 3: 30, 4: 15})
		// A deleted set is absent again.
		if err := s.Delete(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
		if mustAdd(t, s, "k", cache.Member{ID: 5, Score: 5}) {
			t.Error("AddIfExists after Delete reported the key present")
		}
		if _, ok := mustRange(t, s, "k", cache.RangeQuery{N: 10}); ok {
			t.Error("AddIfExists after Delete recreated the key")
		}
	})

	t.Run("AddIfExistsMovesMember", func(t *testing.T) {
		s := newSets(t)
		mustReplace(t, s, "k", []cache.Member{{ID: 1, Score: 1}, {ID: 2, Score: 2}, {ID: 3, Score: 3}}, longTTL)
		mustAdd(t, s, "k", cache.Member{ID: 1, Score: 5})
		checkAll(t, s, "k", model{1: 5, 2: 2, 3: 3})
		// Moved into a tie, it takes its place by id; the same id twice in one call ends at
		// the later score.
		mustAdd(t, s, "k", cache.Member{ID: 3, Score: 9}, cache.Member{ID: 3, Score: 2})
		checkAll(t, s, "k", model{1: 5, 2: 2, 3: 2})
		checkPage(t, s, "k", cache.RangeQuery{Desc: true, N: 3}, []cache.Member{{ID: 1, Score: 5}, {ID: 3, Score: 2}, {ID: 2, Score: 2}})
		// Re-adding a member at its own score changes nothing.
		mustAdd(t, s, "k", cache.Member{ID: 2, Score: 2})
		checkAll(t, s, "k", model{1: 5, 2: 2, 3: 2})
	})

	t.Run("Remove", func(t *testing.T) {
		s := newSets(t)
		mustReplace(t, s, "k", []cache.Member{{ID: 1, Score: 1}, {ID: 2, Score: 2}, {ID: 3, Score: 2}, {ID: 4, Score: 4}}, longTTL)
		mustRemove(t, s, "k", 2, 4, 77)
		checkAll(t, s, "k", model{1: 1, 3: 2})
		mustRemove(t, s, "k")
		checkAll(t, s, "k", model{1: 1, 3: 2})
		mustRemove(t, s, "absent", 1)
		if _, ok := mustRange(t, s, "absent", cache.RangeQuery{N: 10}); ok {
			t.Error("Remove on an absent key created it")
		}
	})

	t.Run("TTLExpiry", func(t *testing.T) {
		s := newSets(t)
		one := []cache.Member{{ID: 1, Score: 1}}
		start := time.Now()
		mustReplace(t, s, "short", one, shortTTL)
		mustReplace(t, s, "empty", nil, shortTTL)
		mustReplace(t, s, "long", one, longTTL)
		mustReplace(t, s, "extended", one, shortTTL)
		mustReplace(t, s, "extended", one, longTTL) // a rebuild resets the lifetime
		mustReplace(t, s, "shortened", one, longTTL)
		mustReplace(t, s, "shortened", one, shortTTL)
		if _, ok := mustRange(t, s, "short", cache.RangeQuery{N: 1}); !ok && time.Since(start) < shortTTL {
			t.Errorf("set missing %v after Replace, before its TTL of %v", time.Since(start), shortTTL)
		}
		for _, k := range []string{"short", "empty", "shortened"} {
			waitForRangeMiss(t, s, k)
		}
		if elapsed := time.Since(start); elapsed < shortTTL-10*time.Millisecond {
			t.Errorf("set expired after %v, before its TTL of %v", elapsed, shortTTL)
		}
		for _, k := range []string{"long", "extended"} {
			checkAll(t, s, k, model{1: 1})
		}
		if mustAdd(t, s, "short", cache.Member{ID: 2, Score: 2}) {
			t.Error("AddIfExists on an expired set reported it present")
		}
	})

	t.Run("AddIfExistsKeepsTTL", func(t *testing.T) {
		// Writes must not keep a set alive past its TTL: it still expires and is rebuilt.
		s := newSets(t)
		mustReplace(t, s, "k", []cache.Member{{ID: 1, Score: 1}}, shortTTL)
		if !mustAdd(t, s, "k", cache.Member{ID: 2, Score: 2}) {
			t.Log("the set expired before AddIfExists; the machine is slow, the check below still holds")
		}
		waitForRangeMiss(t, s, "k")
	})

	t.Run("InfiniteScoresAndMarkers", func(t *testing.T) {
		s := newSets(t)
		members := []cache.Member{
			{ID: 0, Score: math.Inf(1)}, {ID: 5, Score: math.Inf(1)},
			{ID: 3, Score: math.MaxFloat64}, {ID: 9, Score: math.SmallestNonzeroFloat64},
			{ID: 8, Score: 0}, {ID: 6, Score: 1e-300}, {ID: 1, Score: 123456789.123456789},
			{ID: 4, Score: -math.MaxFloat64}, {ID: 7, Score: math.Inf(-1)}, {ID: 2, Score: math.Inf(-1)},
		}
		mustReplace(t, s, "inf", members, longTTL)
		m := modelOf(members)
		checkAll(t, s, "inf", m)
		checkPage(t, s, "inf", cache.RangeQuery{Desc: true, N: 2}, []cache.Member{{ID: 5, Score: math.Inf(1)}, {ID: 0, Score: math.Inf(1)}})
		checkPage(t, s, "inf", cache.RangeQuery{N: 2}, []cache.Member{{ID: 2, Score: math.Inf(-1)}, {ID: 7, Score: math.Inf(-1)}})
		for _, desc := range []bool{true, false} {
			for n := 1; n <= 3; n++ {
				if got, want := pageThrough(t, s, "inf", desc, n, len(m)), m.sorted(desc); !slices.Equal(got, want) {
					t.Errorf("paging by %d, desc=%v:\n got %v\nwant %v", n, desc, got, want)
				}
			}
		}
		// Markers: id 0 at either end, kept after removals around it, and usable as a position.
		mustRemove(t, s, "inf", 5, 7, 2)
		mustAdd(t, s, "inf", cache.Member{ID: 0, Score: math.Inf(-1)})
		delete(m, 5)
		delete(m, 7)
		delete(m, 2)
		m[0] = math.Inf(-1)
		checkAll(t, s, "inf", m)
		top := cache.Member{ID: 0, Score: math.Inf(1)}
		bottom := cache.Member{ID: 0, Score: math.Inf(-1)}
		checkPage(t, s, "inf", cache.RangeQuery{Desc: true, After: &top, N: 2}, []cache.Member{{ID: 3, Score: math.MaxFloat64}, {ID: 1, Score: 123456789.123456789}})
		checkPage(t, s, "inf", cache.RangeQuery{Desc: true, After: &bottom, N: 2}, nil)
		checkPage(t, s, "inf", cache.RangeQuery{After: &bottom, N: 2}, []cache.Member{{ID: 4, Score: -math.MaxFloat64}, {ID: 8, Score: 0}})
		checkPage(t, s, "inf", cache.RangeQuery{After: &top, N: 2}, nil)
		mustReplace(t, s, "marker", []cache.Member{{ID: 0, Score: math.Inf(-1)}}, longTTL)
		checkAll(t, s, "marker", model{0: math.Inf(-1)})
	})

	t.Run("LargeIDs", func(t *testing.T) {
		s := newSets(t)
		ids := []int64{1<<53 - 1, 1<<53 - 2, 1<<52 + 1, 1e15, 1e15 - 1, 99, 100, 9, 10, 1, 0}
		var members []cache.Member
		for i, id := range ids {
			members = append(members, cache.Member{ID: id, Score: float64(7 + i%2)})
		}
		mustReplace(t, s, "big", members, longTTL)
		m := modelOf(members)
		checkAll(t, s, "big", m)
		for _, desc := range []bool{true, false} {
			for n := 1; n <= 2; n++ {
				if got, want := pageThrough(t, s, "big", desc, n, len(m)), m.sorted(desc); !slices.Equal(got, want) {
					t.Errorf("paging by %d, desc=%v:\n got %v\nwant %v", n, desc, got, want)
				}
			}
		}
		mustRemove(t, s, "big", 1<<53-2)
		delete(m, 1<<53-2)
		after := cache.Member{ID: 1<<53 - 2, Score: 7}
		for _, desc := range []bool{true, false} {
			q := cache.RangeQuery{Desc: desc, After: &after, N: 3}
			checkPage(t, s, "big", q, m.page(q))
		}
	})

	t.Run("LargeSet", func(t *testing.T) {
		s := newSets(t)
		members := tiedMembers(3_000, 1<<53, 1, 2, 3, 4)
		mustReplace(t, s, "large", members[:1_000], longTTL)
		if !mustAdd(t, s, "large", members[1_000:]...) {
			t.Fatal("AddIfExists on an existing set reported it absent")
		}
		m := modelOf(members)
		checkAll(t, s, "large", m)
		if got, want := pageThrough(t, s, "large", true, 30, len(m)), m.sorted(true); !slices.Equal(got, want) {
			t.Errorf("paging by 30 read %d members, want %d in order", len(got), len(want))
		}
	})

	t.Run("InvalidArguments", func(t *testing.T) {
		s := newSets(t)
		ctx := t.Context()
		bad := []cache.Member{{ID: -1, Score: 1}, {ID: 1 << 53, Score: 1}, {ID: 1, Score: math.NaN()}}
		for _, b := range bad {
			if err := s.Replace(ctx, "k", []cache.Member{{ID: 2, Score: 2}, b}, longTTL); err == nil {
				t.Errorf("Replace with member %+v succeeded", b)
			}
		}
		for _, ttl := range []time.Duration{0, -time.Second, time.Microsecond} {
			if err := s.Replace(ctx, "k", nil, ttl); err == nil {
				t.Errorf("Replace with ttl %v succeeded", ttl)
			}
		}
		if _, ok := mustRange(t, s, "k", cache.RangeQuery{N: 1}); ok {
			t.Fatal("a Replace with an invalid argument stored a set")
		}
		mustReplace(t, s, "k", []cache.Member{{ID: 2, Score: 2}}, longTTL)
		for _, b := range bad {
			if ok, err := s.AddIfExists(ctx, "k", cache.Member{ID: 3, Score: 3}, b); err == nil || ok {
				t.Errorf("AddIfExists with member %+v = %v, %v; want an error", b, ok, err)
			}
			if _, _, err := s.Range(ctx, "k", cache.RangeQuery{After: &b, N: 1}); err == nil {
				t.Errorf("Range after %+v succeeded", b)
			}
		}
		for _, id := range []int64{-1, 1 << 53} {
			if err := s.Remove(ctx, "k", 2, id); err == nil {
				t.Errorf("Remove of id %d succeeded", id)
			}
		}
		if _, _, err := s.Range(ctx, "k", cache.RangeQuery{N: -1}); err == nil {
			t.Error("Range with N=-1 succeeded")
		}
		checkAll(t, s, "k", model{2: 2}) // nothing partially applied
	})

	t.Run("Delete", func(t *testing.T) {
		s := newSets(t)
		for _, k := range []string{"a", "b", "c"} {
			mustReplace(t, s, k, []cache.Member{{ID: 1, Score: 1}}, longTTL)
		}
		mustReplace(t, s, "empty", nil, longTTL)
		if err := s.Delete(t.Context(), "a", "b", "empty", "never-set"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := s.Delete(t.Context()); err != nil {
			t.Errorf("Delete with no keys: %v", err)
		}
		for _, k := range []string{"a", "b", "empty"} {
			if _, ok := mustRange(t, s, k, cache.RangeQuery{N: 1}); ok {
				t.Errorf("%q survived Delete", k)
			}
		}
		checkAll(t, s, "c", model{1: 1})
	})

	t.Run("InputsAndResultsAreCopies", func(t *testing.T) {
		s := newSets(t)
		members := []cache.Member{{ID: 1, Score: 1}, {ID: 2, Score: 2}}
		mustReplace(t, s, "k", members, longTTL)
		members[0] = cache.Member{ID: 9, Score: 9}
		added := []cache.Member{{ID: 3, Score: 3}}
		mustAdd(t, s, "k", added...)
		added[0] = cache.Member{ID: 8, Score: 8}
		got, _ := mustRange(t, s, "k", cache.RangeQuery{N: 10})
		got[0] = cache.Member{ID: 7, Score: 7}
		checkAll(t, s, "k", model{1: 1, 2: 2, 3: 3})
	})

	t.Run("ConcurrentAddIfExistsAndReplace", func(t *testing.T) {
		// Rebuilds, deletes, appends and reads race on one key; the rebuilder goes on until
		// the writers and the reader have done their rounds and enough appends have found
		// the set, so that all of them overlap however the scheduler runs them. Whatever the interleaving, an existing set holds the whole rebuilt
		// list: an append that found the key absent must not have created it (the set
		// would hold appended ids only), and an append reported as absent must not show up.
		s := newSets(t)
		const key, writers, rounds = "race", 4, 150
		base := []cache.Member{{ID: 1, Score: 1}, {ID: 2, Score: 2}, {ID: 3, Score: 3}}
		start, done := make(chan struct{}), make(chan struct{})
		added := make([][]bool, writers) // added[w][i]: writer w's i-th append found the set
		var appends, found, reads atomic.Int64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					ok, err := s.AddIfExists(t.Context(), key, cache.Member{ID: addedID(w, i), Score: float64(i % 5)})
					if err != nil {
						t.Errorf("AddIfExists: %v", err)
						return
					}
					added[w] = append(added[w], ok)
					appends.Add(1)
					if ok {
						found.Add(1)
					}
				}
			})
		}
		wg.Go(func() {
			defer close(done)
			<-start
			deadline := time.Now().Add(pollDeadline)
			for i := 0; i < rounds || appends.Load() < writers*rounds || reads.Load() < rounds || found.Load() < rounds; i++ {
				if time.Now().After(deadline) {
					t.Errorf("after %v only %d of %d appends found the set", pollDeadline, found.Load(), appends.Load())
					return
				}
				if err := s.Replace(t.Context(), key, base, longTTL); err != nil {
					t.Errorf("Replace: %v", err)
					return
				}
				if i%3 == 2 {
					if err := s.Delete(t.Context(), key); err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
				}
			}
		})
		seen := map[int64]bool{} // ids the reader saw, written by the reader only
		wg.Go(func() {
			<-start
			for {
				select {
				case <-done:
					return
				default:
				}
				got, ok, err := s.Range(t.Context(), key, cache.RangeQuery{Desc: true, N: 100_000})
				if err != nil {
					t.Errorf("Range: %v", err)
					return
				}
				if ok {
					checkRaceState(t, got, base)
				}
				for _, m := range got {
					seen[m.ID] = true
				}
				reads.Add(1)
			}
		})
		close(start)
		wg.Wait()
		for w := range writers {
			for i, ok := range added[w] {
				if !ok && seen[addedID(w, i)] {
					t.Errorf("append %d of writer %d reported the set absent, yet a reader saw it", i, w)
				}
			}
		}
		t.Logf("%d of %d appends found the set; the reader saw %d ids", found.Load(), appends.Load(), len(seen))
		mustReplace(t, s, key, base, longTTL)
		if !mustAdd(t, s, key, cache.Member{ID: 999, Score: 0}) {
			t.Fatal("AddIfExists after the race reported the rebuilt set absent")
		}
		checkAll(t, s, key, modelOf(append(slices.Clone(base), cache.Member{ID: 999, Score: 0})))
	})
}

func addedID(writer, i int) int64 { return int64(1_000_000 + writer*1_000_000 + i) }

// checkRaceState fails the test unless got is in descending order without duplicates and
// holds every member of base.
func checkRaceState(t *testing.T, got, base []cache.Member) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if order(got[i-1], got[i], true) >= 0 {
			t.Errorf("set out of order or with a duplicate: %v", got)
			return
		}
	}
	for _, b := range base {
		if !slices.Contains(got, b) {
			t.Errorf("an existing set lacks rebuilt member %+v: %v", b, got)
			return
		}
	}
}

func TestLocalSortedSetsIsBounded(t *testing.T) {
	// The least recently used set goes first, and reading a set counts as using it.
	const bound = 10
	s := cache.NewLocalSortedSets(bound)
	one := []cache.Member{{ID: 1, Score: 1}}
	mustReplace(t, s, "hot", one, longTTL)
	for i := range 10 * bound {
		mustReplace(t, s, fmt.Sprint(i), one, longTTL)
		if _, ok := mustRange(t, s, "hot", cache.RangeQuery{N: 1}); !ok {
			t.Fatalf("the set read after every write was evicted after %d writes", i+1)
		}
	}
	present := 0
	for i := range 10 * bound {
		_, ok := mustRange(t, s, fmt.Sprint(i), cache.RangeQuery{N: 1})
		if ok {
			present++
		}
		if recent := i >= 10*bound-(bound-1); ok != recent {
			t.Errorf("set %d present = %v; want only the %d most recent besides the hot one", i, ok, bound-1)
		}
	}
	if present != bound-1 {
		t.Errorf("%d sets present besides the hot one, want %d", present, bound-1)
	}
}

func TestNewLocalSortedSetsRejectsNonPositiveSize(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLocalSortedSets(%d) did not panic", n)
				}
			}()
			cache.NewLocalSortedSets(n)
		}()
	}
}

func TestRedisSortedSetsLayout(t *testing.T) {
	// The layout other tools (redis-cli, a later migration) see: zero-padded ids, the
	// sentinel, a TTL that appends leave alone, keys under the prefix.
	client := dialTestRedis(t)
	ctx := t.Context()
	p1, p2 := testPrefix(t, client), testPrefix(t, client)
	s1, s2 := cache.NewRedisSortedSets(client, p1), cache.NewRedisSortedSets(client, p2)
	mustReplace(t, s1, "k", []cache.Member{{ID: 42, Score: 1.5}, {ID: 1<<53 - 1, Score: math.Inf(1)}}, longTTL)
	raw, err := client.ZRangeWithScores(ctx, p1+"k", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, z := range raw {
		got = append(got, fmt.Sprintf("%v=%v", z.Member, z.Score))
	}
	if want := []string{"~=0", "0000000000000042=1.5", "9007199254740991=+Inf"}; !slices.Equal(got, want) {
		t.Errorf("raw set = %v, want %v", got, want)
	}
	ttl, err := client.PTTL(ctx, p1+"k").Result()
	if err != nil || ttl <= 0 || ttl > longTTL {
		t.Fatalf("PTTL after Replace = %v, %v; want a positive TTL up to %v", ttl, err, longTTL)
	}
	// Shorten the TTL behind the cache's back: an append must keep it, not reset it.
	if err := client.PExpire(ctx, p1+"k", 30*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s1, "k", cache.Member{ID: 7, Score: 7})
	if ttl, err := client.PTTL(ctx, p1+"k").Result(); err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Errorf("PTTL after AddIfExists = %v, %v; want the 30s left before it", ttl, err)
	}
	if _, ok := mustRange(t, s2, "k", cache.RangeQuery{N: 1}); ok {
		t.Error("a SortedSets with another prefix sees the set")
	}
	if err := s2.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	checkAll(t, s1, "k", model{42: 1.5, 1<<53 - 1: math.Inf(1), 7: 7})
}

// BenchmarkSortedSetsRange reads a page of 30 from a set of 1,000 ids where scores repeat
// (three ids per score, as comments posted in the same second): the first page, a page
// after a member still in the set (the rank path in Redis), and a page after a removed
// member (the score path with its search through the ties).
func BenchmarkSortedSetsRange(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchRange(b, cache.NewLocalSortedSets(1_000)) })
	b.Run("redis", func(b *testing.B) {
		client, err := cache.DialRedis(b.Context(), testenv.RedisAddr(b), "", 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { client.Close() })
		prefix := "mdouyin_bench:" + strings.ToLower(rand.Text()) + ":"
		s := cache.NewRedisSortedSets(client, prefix)
		b.Cleanup(func() { s.Delete(context.WithoutCancel(b.Context()), "bench") })
		benchRange(b, s)
	})
}

func benchRange(b *testing.B, s cache.SortedSets) {
	ctx := b.Context()
	members := make([]cache.Member, 1_000)
	for i := range members {
		members[i] = cache.Member{ID: int64(1_000_000 + i), Score: float64(1_700_000_000 + i/3)}
	}
	if err := s.Replace(ctx, "bench", members, time.Hour); err != nil {
		b.Fatal(err)
	}
	removed := members[501]
	if err := s.Remove(ctx, "bench", removed.ID); err != nil {
		b.Fatal(err)
	}
	present := members[500]
	for _, c := range []struct {
		name  string
		after *cache.Member
	}{{"first", nil}, {"after-member", &present}, {"after-removed", &removed}} {
		b.Run(c.name, func(b *testing.B) {
			q := cache.RangeQuery{Desc: true, After: c.after, N: 30}
			b.ReportAllocs()
			for b.Loop() {
				got, ok, err := s.Range(ctx, "bench", q)
				if err != nil || !ok || len(got) != 30 {
					b.Fatalf("Range = %d members, %v, %v", len(got), ok, err)
				}
			}
		})
	}
}
