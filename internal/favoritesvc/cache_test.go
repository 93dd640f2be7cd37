package favoritesvc_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
)

// countedReads counts the stats reads that reach the store.
type countedReads struct {
	favoritesvc.Store
	reads atomic.Int64
}

func (c *countedReads) VideoStats(ctx context.Context, viewer int64, ids []int64) (map[int64]favoritesvc.VideoStat, error) {
	c.reads.Add(1)
	return c.Store.VideoStats(ctx, viewer, ids)
}

func (c *countedReads) UserStats(ctx context.Context, ids []int64) (map[int64]favoritesvc.UserStat, error) {
	c.reads.Add(1)
	return c.Store.UserStats(ctx, ids)
}

// TestKeepStatsAnswersAsTheStore plays random likes and unlikes through
// KeepStats (self-likes, repeats, unlikes of likes it never saw given) and,
// after every one, asks it and the store beneath for every video's and user's
// stats as every viewer: the answers must be the same, and a second read with
// no write between must not reach the store.
func TestKeepStatsAnswersAsTheStore(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, err := favoritesvc.NewSQLStore(ctx, open(t))
			if err != nil {
				t.Fatal(err)
			}
			const users, firstVideo, videos = 4, 100, 5
			author := func(video int64) int64 { return video%users + 1 }
			userIDs, videoIDs := []int64{1, 2, 3, 4}, []int64{100, 101, 102, 103, 104}
			// Likes given before this process started: their unlikes find no
			// author remembered.
			unseen := [][2]int64{{2, 100}, {3, 101}, {1, 103}} // none a self-like
			for _, l := range unseen {
				if _, err := store.Like(ctx, favoritesvc.Like{UserID: l[0], VideoID: l[1], AuthorID: author(l[1]), CreatedAt: 1}); err != nil {
					t.Fatal(err)
				}
			}
			counted := &countedReads{Store: store}
			kept := favoritesvc.KeepStats(counted)
			check := func(step int) {
				t.Helper()
				for viewer := range int64(users + 1) { // 0: anonymous
					got, err := kept.VideoStats(ctx, viewer, videoIDs)
					if err != nil {
						t.Fatal(err)
					}
					want, err := store.VideoStats(ctx, viewer, videoIDs)
					if err != nil {
						t.Fatal(err)
					}
					if !maps.Equal(nonZero(got), nonZero(want)) {
						t.Fatalf("step %d, viewer %d: kept video stats %v, store %v", step, viewer, got, want)
					}
				}
				got, err := kept.UserStats(ctx, userIDs)
				if err != nil {
					t.Fatal(err)
				}
				want, err := store.UserStats(ctx, userIDs)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(nonZero(got), nonZero(want)) {
					t.Fatalf("step %d: kept user stats %v, store %v", step, got, want)
				}
			}
			check(-1)
			rng := rand.New(rand.NewPCG(1, 2))
			for step := range 150 {
				u, v := int64(1+rng.IntN(users)), int64(firstVideo+rng.IntN(videos))
				if step < 2 { // the likes it did not see given, with their counts kept
					u, v = unseen[step][0], unseen[step][1]
				}
				if step < 2 || rng.IntN(2) == 0 {
					_, err = kept.Unlike(ctx, u, v)
				} else {
					_, err = kept.Like(ctx, favoritesvc.Like{UserID: u, VideoID: v, AuthorID: author(v), CreatedAt: int64(step + 2)})
				}
				if err != nil {
					t.Fatal(err)
				}
				check(step)
				before := counted.reads.Load()
				check(step)
				if n := counted.reads.Load() - before; n != 0 {
					t.Fatalf("step %d: %d store reads for stats read just before, want 0", step, n)
				}
			}
		})
	}
}

// nonZero returns m without its zero values: a store may list a video liked
// once and no more, or leave it out, which say the same.
func nonZero[V comparable](m map[int64]V) map[int64]V {
	var zero V
	maps.DeleteFunc(m, func(_ int64, v V) bool { return v == zero })
	return m
}
