package cache

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"
)

// LocalSortedSets is an in-process SortedSets for the one-process placement, bounded by the
// number of sets. It never returns an error for valid arguments.
//
// One mutex guards every set. The work done under it is a binary search plus a copy of at
// most N members (or a memmove of a few thousand for a write), which is shorter than the
// bookkeeping per-set locks would need to keep Replace, Delete and eviction atomic with the
// writes to a set.
type LocalSortedSets struct {
	mu      sync.Mutex
	maxSets int
	sets    map[string]*list.Element // each Value is a *localSet
	lru     list.List                // front: most recently used
}

var _ SortedSets = (*LocalSortedSets)(nil)

// localSet is one set, kept as a slice sorted by (score, id) ascending, so a page is a
// binary search and a slice copy: O(log n + N). Writes shift the slice, which is cheap at the
// few thousand members an index cache holds.
type localSet struct {
	key     string
	expires time.Time
	members []Member
	scores  map[int64]float64 // id → score, to find a member's slot from its id
}

// NewLocalSortedSets returns a LocalSortedSets holding at most maxSets sets; beyond that the
// least recently used set (read or written) is dropped. It panics if maxSets is not
// positive, a configuration error that validation should have caught.
func NewLocalSortedSets(maxSets int) *LocalSortedSets {
	if maxSets <= 0 {
		panic("cache: NewLocalSortedSets needs a positive maxSets")
	}
	return &LocalSortedSets{maxSets: maxSets, sets: make(map[string]*list.Element)}
}

// Replace stores a copy of members as the whole set at key for ttl, replacing any set and
// TTL already there.
func (l *LocalSortedSets) Replace(_ context.Context, key string, members []Member, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := checkMembers(members); err != nil {
		return err
	}
	s := &localSet{key: key, scores: make(map[int64]float64, len(members))}
	for _, m := range members {
		s.scores[m.ID] = m.Score // a later duplicate wins, as with ZADD
	}
	s.members = make([]Member, 0, len(s.scores))
	for id, score := range s.scores {
		s.members = append(s.members, Member{ID: id, Score: score})
	}
	slices.SortFunc(s.members, compareAsc)

	l.mu.Lock()
	defer l.mu.Unlock()
	s.expires = time.Now().Add(ttl)
	if e, ok := l.sets[key]; ok {
		e.Value = s
		l.lru.MoveToFront(e)
		return nil
	}
	l.sets[key] = l.lru.PushFront(s)
	for l.lru.Len() > l.maxSets {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.sets, oldest.Value.(*localSet).key)
	}
	return nil
}

// AddIfExists adds members to the live set at key, or moves those already there to their
// new scores, and reports whether the set existed; the check and the writes happen under
// one lock.
func (l *LocalSortedSets) AddIfExists(_ context.Context, key string, members ...Member) (bool, error) {
	if err := checkMembers(members); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.live(key)
	if s == nil {
		return false, nil
	}
	for _, m := range members {
		if old, ok := s.scores[m.ID]; ok {
			if old == m.Score {
				continue
			}
			s.remove(Member{ID: m.ID, Score: old})
		}
		s.scores[m.ID] = m.Score
		i, _ := slices.BinarySearchFunc(s.members, m, compareAsc)
		s.members = slices.Insert(s.members, i, m)
	}
	return true, nil
}

// Remove removes ids from the live set at key, if there is one.
func (l *LocalSortedSets) Remove(_ context.Context, key string, ids ...int64) error {
	if err := checkIDs(ids); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.live(key)
	if s == nil {
		return nil
	}
	for _, id := range ids {
		if score, ok := s.scores[id]; ok {
			delete(s.scores, id)
			s.remove(Member{ID: id, Score: score})
		}
	}
	return nil
}

// Range returns a copy of up to q.N members of the live set at key strictly after q.After.
func (l *LocalSortedSets) Range(_ context.Context, key string, q RangeQuery) ([]Member, bool, error) {
	if err := checkRangeQuery(q); err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.live(key)
	if s == nil {
		return nil, false, nil
	}
	if q.Desc {
		// The members strictly after q.After in descending order are those strictly before
		// it in the ascending slice: s.members[:end].
		end := len(s.members)
		if q.After != nil {
			end, _ = slices.BinarySearchFunc(s.members, *q.After, compareAsc)
		}
		start := end - min(q.N, end)
		out := make([]Member, 0, end-start)
		for i := end - 1; i >= start; i-- {
			out = append(out, s.members[i])
		}
		return out, true, nil
	}
	start := 0
	if q.After != nil {
		i, found := slices.BinarySearchFunc(s.members, *q.After, compareAsc)
		if found {
			i++
		}
		start = i
	}
	end := start + min(q.N, len(s.members)-start)
	return slices.Clone(s.members[start:end:end]), true, nil
}

// Delete drops the sets at keys; absent keys are ignored.
func (l *LocalSortedSets) Delete(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if e, ok := l.sets[k]; ok {
			l.lru.Remove(e)
			delete(l.sets, k)
		}
	}
	return nil
}

// live returns the unexpired set at key and marks it used, dropping it if it has expired.
// Expired sets nobody asks for stay until eviction pushes them out; they count against
// maxSets like any other, so memory stays bounded. The caller holds l.mu.
func (l *LocalSortedSets) live(key string) *localSet {
	e, ok := l.sets[key]
	if !ok {
		return nil
	}
	s := e.Value.(*localSet)
	if !time.Now().Before(s.expires) {
		l.lru.Remove(e)
		delete(l.sets, key)
		return nil
	}
	l.lru.MoveToFront(e)
	return s
}

// remove deletes m, which must be in s.members, from the slice; the caller keeps s.scores.
func (s *localSet) remove(m Member) {
	if i, found := slices.BinarySearchFunc(s.members, m, compareAsc); found {
		s.members = slices.Delete(s.members, i, i+1)
	}
}

// Score returns the score of id in the live set at key.
func (l *LocalSortedSets) Score(_ context.Context, key string, id int64) (float64, bool, error) {
	if err := checkID(id); err != nil {
		return 0, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.live(key)
	if s == nil {
		return 0, false, nil
	}
	score, ok := s.scores[id]
	return score, ok, nil
}
