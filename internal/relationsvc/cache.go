package relationsvc

import (
	"context"
	"sync"
	"time"
)

// Limits of KeepStats.
const (
	// statsCountsTTL is how long a user's counts are kept: other users'
	// follows show within it.
	statsCountsTTL = time.Second
	// statsFollowsTTL is how long what a viewer follows is kept. Only the
	// viewer's own follows change it, and they drop it at once; the lifetime
	// only bounds memory.
	statsFollowsTTL = time.Minute
	// statsMaxEntries bounds the users with kept counts, and the viewers with
	// kept follows, before expired ones are pruned (all of them if none has
	// expired).
	statsMaxEntries = 100_000
	// statsMaxKnown bounds the users remembered per viewer.
	statsMaxKnown = 4096
)

// KeepStats returns store with Stats answered from this process's memory where it
// can: users' counts for statsCountsTTL, and whether a viewer follows each user
// asked about until that viewer follows or unfollows someone. It is for the
// one-process placement only, where every follow passes through this decorator,
// so a user's own follow drops what it changes (their is_follow, both users'
// counts) before it is acknowledged. With several replicas of the role a follow
// through one would leave another's copy stale: do not use it there.
//
// A comment page shows some hundred authors to every reader; without this each
// read asks the database for every author's counts and edge.
func KeepStats(store Store) Store {
	return &statsCache{Store: store, now: time.Now,
		counts: map[int64]keptCounts{}, follows: map[int64]*keptFollows{}, writing: map[int64]int{}}
}

// statsCache is KeepStats's decorator: Stats reads through it, Follow and
// Unfollow drop what they change; every other method is the store's.
type statsCache struct {
	Store
	now func() time.Time

	mu sync.Mutex
	// epoch counts the follows and unfollows so far: a fill that read the store
	// while one happened is not kept, since it may have read before the change.
	epoch   uint64
	counts  map[int64]keptCounts
	follows map[int64]*keptFollows // by viewer
	// writing counts, per user, the follows and unfollows in progress that
	// involve them. Their kept answers are neither used nor stored meanwhile: a
	// change is visible to others from its commit on (its event is relayed at
	// once, and the video role asks Stats about the edge in answer), before
	// the write returns here.
	writing map[int64]int
}

type keptCounts struct {
	Counts
	until time.Time
}

type keptFollows struct {
	known map[int64]bool // user: whether the viewer follows them
	until time.Time
}

func (c *statsCache) Follow(ctx context.Context, ch Change) (bool, error) {
	c.begin(ch)
	// Ended even on an error: a failed commit may still have committed.
	defer c.end(ch)
	return c.Store.Follow(ctx, ch)
}

func (c *statsCache) Unfollow(ctx context.Context, ch Change) (bool, error) {
	c.begin(ch)
	defer c.end(ch)
	return c.Store.Unfollow(ctx, ch)
}

// begin marks the users of the change ch as being written and forgets what it
// may change; end does it again once the write has returned.
func (c *statsCache) begin(ch Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing[ch.FollowerID]++
	c.writing[ch.FolloweeID]++
	c.dropLocked(ch)
}

func (c *statsCache) end(ch Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range []int64{ch.FollowerID, ch.FolloweeID} {
		if c.writing[id]--; c.writing[id] <= 0 {
			delete(c.writing, id)
		}
	}
	c.dropLocked(ch)
}

func (c *statsCache) dropLocked(ch Change) {
	c.epoch++
	delete(c.counts, ch.FollowerID)
	delete(c.counts, ch.FolloweeID)
	delete(c.follows, ch.FollowerID)
}

func (c *statsCache) Stats(ctx context.Context, viewer int64, ids []int64) ([]Stat, error) {
	out := make([]Stat, len(ids))
	var missing []int64
	var at []int // missing[k] is ids[at[k]]
	c.mu.Lock()
	now := c.now()
	epoch := c.epoch
	var known map[int64]bool
	if f := c.follows[viewer]; viewer != 0 && f != nil && now.Before(f.until) && c.writing[viewer] == 0 {
		known = f.known
	}
	for i, id := range ids {
		kc, ok := c.counts[id]
		followed, fok := known[id]
		if !ok || !now.Before(kc.until) || (viewer != 0 && !fok) || c.writing[id] > 0 {
			missing = append(missing, id)
			at = append(at, i)
			continue
		}
		out[i] = Stat{Counts: kc.Counts, Followed: followed}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	read, err := c.Store.Stats(ctx, viewer, missing)
	if err != nil {
		return nil, err
	}
	for k, i := range at {
		out[i] = read[k]
	}
	c.keep(epoch, viewer, missing, read)
	return out, nil
}

// keep stores what a Stats read of ids found, unless a follow began or ended
// since epoch, and except what a follow in progress may be changing.
func (c *statsCache) keep(epoch uint64, viewer int64, ids []int64, read []Stat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	now := c.now()
	prune(c.counts, len(ids), now, func(k keptCounts) time.Time { return k.until })
	until := now.Add(statsCountsTTL)
	for k, id := range ids {
		if c.writing[id] == 0 {
			c.counts[id] = keptCounts{Counts: read[k].Counts, until: until}
		}
	}
	if viewer == 0 || c.writing[viewer] > 0 {
		return
	}
	f := c.follows[viewer]
	if f == nil || !now.Before(f.until) || len(f.known)+len(ids) > statsMaxKnown {
		prune(c.follows, 1, now, func(k *keptFollows) time.Time { return k.until })
		f = &keptFollows{known: make(map[int64]bool, len(ids)), until: now.Add(statsFollowsTTL)}
		c.follows[viewer] = f
	}
	for k, id := range ids {
		f.known[id] = read[k].Followed
	}
}

// prune makes room for adding entries to m: expired entries go once m would
// pass statsMaxEntries, and every entry if that is not enough.
func prune[V any](m map[int64]V, adding int, now time.Time, until func(V) time.Time) {
	if len(m)+adding <= statsMaxEntries {
		return
	}
	for k, v := range m {
		if !now.Before(until(v)) {
			delete(m, k)
		}
	}
	if len(m)+adding > statsMaxEntries {
		clear(m)
	}
}
