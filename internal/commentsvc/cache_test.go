package commentsvc_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// countedCounts counts the Counts reads that reach the store.
type countedCounts struct {
	commentsvc.Store
	reads atomic.Int64
}

func (c *countedCounts) Counts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	c.reads.Add(1)
	return c.Store.Counts(ctx, ids)
}

// TestKeepCountsAnswersAsTheStore posts, replies to, deletes and restores
// comments at random through KeepCounts and, after every write, asks it and the
// store beneath for every video's comment count: the answers must be the same,
// and a second read with no write between must not reach the store.
func TestKeepCountsAnswersAsTheStore(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := open(t)
			ob := svctest.Outbox(t, d, "comment", nil, nil)
			store, err := commentsvc.NewSQLStore(ctx, d, ob)
			if err != nil {
				t.Fatal(err)
			}
			counted := &countedCounts{Store: store}
			kept := commentsvc.KeepCounts(counted)
			videos := []int64{1 << 40, 2 << 40, 3 << 40}
			check := func(step int) {
				t.Helper()
				got, err := kept.Counts(ctx, videos)
				if err != nil {
					t.Fatal(err)
				}
				want, err := store.Counts(ctx, videos)
				if err != nil {
					t.Fatal(err)
				}
				// A video without comments may be listed with 0 or left out.
				maps.DeleteFunc(got, func(_, n int64) bool { return n == 0 })
				maps.DeleteFunc(want, func(_, n int64) bool { return n == 0 })
				if !maps.Equal(got, want) {
					t.Fatalf("step %d: kept counts %v, store %v", step, got, want)
				}
			}
			rng := rand.New(rand.NewPCG(3, 4))
			var posted []int64
			for step := range 120 {
				switch op := rng.IntN(4); {
				case op < 2 || len(posted) == 0:
					id := int64(step+1) << 20
					n := commentsvc.NewComment{ID: id, VideoID: videos[rng.IntN(len(videos))], OwnerID: 7, UserID: 8,
						Content: "hello", State: comment.CommentState_Visible, CreatedAt: int64(step)}
					if op == 1 && len(posted) > 0 { // a reply, on its parent's video
						parent := posted[rng.IntN(len(posted))]
						rows, err := store.Rows(ctx, []int64{parent})
						if err != nil {
							t.Fatal(err)
						}
						n.ParentID, n.VideoID = parent, rows[parent].VideoID
					}
					if _, err := kept.Insert(ctx, n); err != nil && n.ParentID == 0 {
						t.Fatal(err) // a reply to a deleted comment is refused
					} else if err == nil {
						posted = append(posted, id)
					}
				default:
					to := comment.CommentState_Deleted
					if op == 3 {
						to = comment.CommentState_Visible
					}
					id := posted[rng.IntN(len(posted))]
					if _, _, err := kept.SetState(ctx, id, to, func(comment.CommentState) bool { return true }); err != nil {
						t.Fatal(err)
					}
				}
				check(step)
				before := counted.reads.Load()
				check(step)
				if n := counted.reads.Load() - before; n != 0 {
					t.Fatalf("step %d: %d store reads for counts read just before, want 0", step, n)
				}
			}
		})
	}
}
