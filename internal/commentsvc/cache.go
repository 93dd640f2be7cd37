package commentsvc

import (
	"context"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/keep"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Limits of KeepCounts.
const (
	// keptCountsTTL bounds what a writer elsewhere (a repair run) leaves
	// stale; comments written through this process drop their video's count
	// at once.
	keptCountsTTL = time.Second
	// keptCountsMax bounds the videos whose counts are kept.
	keptCountsMax = 100_000
)

// KeepCounts returns store with Counts (a video's comment_count) answered from
// this process's memory where it can (package keep). It is for the one-process
// placement only, where every comment and every change of a comment's state
// passes through this decorator and drops its video's count before it is
// acknowledged; replicas of the role would miss each other's writes.
//
// Every feed page shows thirty videos' comment counts.
func KeepCounts(store Store) Store {
	return &countsCache{Store: store, counts: keep.New[int64, int64](keptCountsTTL, keptCountsMax, nil)}
}

type countsCache struct {
	Store
	counts *keep.Table[int64, int64]
}

func (c *countsCache) Insert(ctx context.Context, n NewComment) (Row, error) {
	defer c.counts.Change(n.VideoID)()
	return c.Store.Insert(ctx, n)
}

// SetState names the comment, not its video: the video is known once the
// store answers, and until then no count is served.
func (c *countsCache) SetState(ctx context.Context, id int64, to comment.CommentState, allowed func(from comment.CommentState) bool) (Row, Row, error) {
	done := c.counts.ChangeUnknown()
	before, after, err := c.Store.SetState(ctx, id, to, allowed)
	if v := before.VideoID; v != 0 {
		done(v)
	} else {
		done() // nothing says which video: every count goes
	}
	return before, after, err
}

func (c *countsCache) Counts(ctx context.Context, videoIDs []int64) (map[int64]int64, error) {
	return keep.Read(c.counts, videoIDs, func(missing []int64) (map[int64]int64, error) {
		return c.Store.Counts(ctx, missing)
	})
}
