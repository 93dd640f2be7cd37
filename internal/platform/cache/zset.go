package cache

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"
)

// Member is one id in a sorted set with its score.
type Member struct {
	ID    int64
	Score float64
}

// RangeQuery says which page of a sorted set Range returns.
type RangeQuery struct {
	// Desc orders the highest score first, ties by the higher id first; otherwise the lowest
	// score first, ties by the lower id first.
	Desc bool
	// After is the position the page starts strictly after, nil for the first page. It is a
	// position, not a reference to a member: it need not be in the set (the member the
	// previous page ended with may have been removed or rescored since), and members are
	// compared with it by (score, id) in the chosen direction.
	After *Member
	// N is the most members returned. Zero returns none and only reports whether the set
	// exists.
	N int
}

// SortedSets caches ordered id lists: the index caches of seed 004, which keep the order of
// a video's comments (by time, by heat) as ids with scores and leave the content to another
// cache. A set that does not exist is a miss, to be rebuilt from the store; an existing
// empty set is a cached "there is nothing", and stays distinct from a miss.
//
// Ids must lie in [0, 2^53): the Redis implementation pages through ties with Lua, whose
// numbers are doubles. Id 0 is a legal member, which callers use as a marker. Scores may be
// ±Inf but not NaN. Every error is an error of the call: a bad argument or an unreachable
// server; a miss is never an error.
type SortedSets interface {
	// Replace atomically replaces the whole set at key with members and sets its TTL: a
	// rebuild. Zero members store an existing empty set. If an id appears twice, the later
	// score wins.
	Replace(ctx context.Context, key string, members []Member, ttl time.Duration) error
	// AddIfExists adds members (or updates their scores) only if key exists, in one atomic
	// step, and reports whether it existed. Incremental appends must not create a set,
	// because a set holding only the newest ids would pass for the whole list. The TTL is
	// left as it is, so a set kept warm by writes is still rebuilt from the store in time.
	AddIfExists(ctx context.Context, key string, members ...Member) (bool, error)
	// Remove removes ids from the set at key. Absent keys and ids are not errors; removing
	// the last id leaves an existing empty set, not a miss.
	Remove(ctx context.Context, key string, ids ...int64) error
	// Range returns up to q.N members in q's order strictly after q.After. ok is false when
	// the key does not exist (a miss), as opposed to an existing empty set or a page past
	// the end.
	Range(ctx context.Context, key string, q RangeQuery) (members []Member, ok bool, err error)
	// Delete drops whole sets; absent keys are ignored.
	Delete(ctx context.Context, keys ...string) error
	// Score returns the score of id in the set at key; found is false when the
	// set or the id in it does not exist.
	Score(ctx context.Context, key string, id int64) (score float64, found bool, err error)
}

// maxMemberID bounds ids to those a double holds exactly, see SortedSets.
const maxMemberID = 1<<53 - 1

func checkID(id int64) error {
	if id < 0 || id > maxMemberID {
		return fmt.Errorf("cache: sorted set id %d is outside [0, 2^53)", id)
	}
	return nil
}

func checkMember(m Member) error {
	if math.IsNaN(m.Score) {
		return fmt.Errorf("cache: sorted set member %d has a NaN score", m.ID)
	}
	return checkID(m.ID)
}

func checkMembers(members []Member) error {
	for _, m := range members {
		if err := checkMember(m); err != nil {
			return err
		}
	}
	return nil
}

func checkIDs(ids []int64) error {
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return err
		}
	}
	return nil
}

func checkRangeQuery(q RangeQuery) error {
	if q.N < 0 {
		return fmt.Errorf("cache: sorted set range of %d members", q.N)
	}
	if q.After != nil {
		return checkMember(*q.After)
	}
	return nil
}

// compareAsc orders members by score, then id, ascending: the order both implementations
// keep, read backwards for Desc. -0 and 0 compare equal, as in Redis.
func compareAsc(a, b Member) int {
	if c := cmp.Compare(a.Score, b.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
