package favoritesvc

import (
	"context"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/keep"
)

// Limits of KeepStats.
const (
	// keptCountsTTL is how long a count is kept. Every like through this
	// process drops the counts it changes at once; the lifetime bounds what
	// a writer elsewhere (a repair run) leaves stale.
	keptCountsTTL = time.Second
	// keptLikedTTL is how long whether a viewer likes a video is kept: only
	// the viewer's own likes change it, and they drop it at once.
	keptLikedTTL = time.Minute
	// keptMaxEntries bounds each table of KeepStats.
	keptMaxEntries = 100_000
)

// KeepStats returns store with VideoStats and UserStats answered from this
// process's memory where it can (package keep). It is for the one-process
// placement only, where every like and unlike passes through this decorator
// and drops what it changes before it is acknowledged. With several replicas
// of the role a like through one would leave another's copy stale: do not use
// it there.
//
// Every feed page shows thirty videos' like counts, whether the reader likes
// each, and their authors' likes given and received; without this each page
// asks the database for all of them.
func KeepStats(store Store) Store {
	return &statsCache{Store: store,
		videos:  keep.New[int64, int64](keptCountsTTL, keptMaxEntries, nil),
		liked:   keep.New[likeKey, bool](keptLikedTTL, keptMaxEntries, nil),
		users:   keep.New[int64, UserStat](keptCountsTTL, keptMaxEntries, nil),
		authors: keep.New[int64, int64](keptLikedTTL, keptMaxEntries, nil),
	}
}

// statsCache is KeepStats's decorator.
type statsCache struct {
	Store
	videos *keep.Table[int64, int64]  // a video's like count
	liked  *keep.Table[likeKey, bool] // whether a user likes a video
	users  *keep.Table[int64, UserStat]
	// authors remembers the author of each video liked through here, which
	// never changes, for the unlikes that follow: an unlike names only the
	// video, and takes one off its author's likes received.
	authors *keep.Table[int64, int64]
}

type likeKey struct{ user, video int64 }

func (c *statsCache) Like(ctx context.Context, l Like) (bool, error) {
	done := c.change(l.UserID, l.VideoID)
	defer done()
	doneUsers := c.users.Change(l.UserID, l.AuthorID)
	defer doneUsers()
	c.authors.Put(l.VideoID, l.AuthorID)
	return c.Store.Like(ctx, l)
}

func (c *statsCache) Unlike(ctx context.Context, userID, videoID int64) (bool, error) {
	done := c.change(userID, videoID)
	defer done()
	found := make(map[int64]int64, 1)
	if c.authors.Get([]int64{videoID}, found); found[videoID] != 0 {
		doneUsers := c.users.Change(userID, found[videoID])
		defer doneUsers()
		return c.Store.Unlike(ctx, userID, videoID)
	}
	// The author is not known here: every user's likes received may change.
	doneUsers := c.users.ChangeUnknown()
	changed, err := c.Store.Unlike(ctx, userID, videoID)
	doneUsers()
	return changed, err
}

// change begins a like or unlike of video by user in the video tables.
func (c *statsCache) change(user, video int64) (done func()) {
	doneVideo := c.videos.Change(video)
	doneLiked := c.liked.Change(likeKey{user, video})
	return func() {
		doneLiked()
		doneVideo()
	}
}

func (c *statsCache) VideoStats(ctx context.Context, viewer int64, ids []int64) (map[int64]VideoStat, error) {
	counts := make(map[int64]int64, len(ids))
	missing, countsGen := c.videos.Get(ids, counts)
	var (
		liked    map[likeKey]bool
		likedGen uint64
	)
	if viewer != 0 {
		keys := make([]likeKey, len(ids))
		for i, id := range ids {
			keys[i] = likeKey{viewer, id}
		}
		liked = make(map[likeKey]bool, len(ids))
		var missingLiked []likeKey
		missingLiked, likedGen = c.liked.Get(keys, liked)
		missing = union(missing, missingLiked)
	}
	out := make(map[int64]VideoStat, len(ids))
	for _, id := range ids {
		if st := (VideoStat{Count: counts[id], Liked: liked[likeKey{viewer, id}]}); st != (VideoStat{}) {
			out[id] = st
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	read, err := c.Store.VideoStats(ctx, viewer, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		if st, ok := read[id]; ok {
			out[id] = st
		} else {
			delete(out, id)
		}
	}
	c.videos.Keep(countsGen, missing, func(id int64) int64 { return read[id].Count })
	if viewer != 0 {
		keys := make([]likeKey, len(missing))
		for i, id := range missing {
			keys[i] = likeKey{viewer, id}
		}
		c.liked.Keep(likedGen, keys, func(k likeKey) bool { return read[k.video].Liked })
	}
	return out, nil
}

func (c *statsCache) UserStats(ctx context.Context, ids []int64) (map[int64]UserStat, error) {
	return keep.Read(c.users, ids, func(missing []int64) (map[int64]UserStat, error) {
		return c.Store.UserStats(ctx, missing)
	})
}

// union returns the video ids of a and of b's keys, each once: what either
// table lacks is read again for both.
func union(a []int64, b []likeKey) []int64 {
	if len(b) == 0 {
		return a
	}
	seen := make(map[int64]bool, len(a)+len(b))
	out := make([]int64, 0, len(a)+len(b))
	for _, id := range a {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, k := range b {
		if !seen[k.video] {
			seen[k.video] = true
			out = append(out, k.video)
		}
	}
	return out
}
