package videosvc_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// countedWorks counts the WorkCounts reads that reach the store.
type countedWorks struct {
	videosvc.Store
	reads atomic.Int64
}

func (c *countedWorks) WorkCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	c.reads.Add(1)
	return c.Store.WorkCounts(ctx, ids)
}

// TestKeepWorkCountsAnswersAsTheStore publishes videos by random authors
// through KeepWorkCounts and, after every one, asks it and the store beneath
// for every author's work count: the answers must be the same, and a second
// read with no publish between must not reach the store.
func TestKeepWorkCountsAnswersAsTheStore(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := open(t)
			ob, err := outbox.New(ctx, d, "video", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			store, err := videosvc.NewSQLStore(ctx, d, ob)
			if err != nil {
				t.Fatal(err)
			}
			counted := &countedWorks{Store: store}
			kept := videosvc.KeepWorkCounts(counted)
			authors := []int64{1 << 40, 2 << 40, 3 << 40, 4 << 40}
			rng := rand.New(rand.NewPCG(5, 6))
			for step := range 40 {
				v := &videosvc.Video{ID: int64(step+1) << 22, AuthorID: authors[rng.IntN(len(authors)-1)], Title: "t",
					PlayKey: "videos/p.mp4", CoverKey: "covers/c.jpg", CreateTime: int64(1_700_000_000_000 + step)}
				if err := kept.Create(ctx, v); err != nil {
					t.Fatal(err)
				}
				for read := range int64(2) {
					before := counted.reads.Load()
					got, err := kept.WorkCounts(ctx, authors)
					if err != nil {
						t.Fatal(err)
					}
					want, err := store.WorkCounts(ctx, authors)
					if err != nil {
						t.Fatal(err)
					}
					maps.DeleteFunc(got, func(_, n int64) bool { return n == 0 }) // no videos: 0 or absent
					if !maps.Equal(got, want) {
						t.Fatalf("step %d: kept work counts %v, store %v", step, got, want)
					}
					if reads := counted.reads.Load() - before; reads != 1-read {
						t.Fatalf("step %d, read %d: %d store reads, want 1 after a publish, 0 for the read after", step, read, reads)
					}
				}
			}
		})
	}
}
