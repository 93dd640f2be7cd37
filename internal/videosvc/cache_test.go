package videosvc_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// openStore returns the video store on d, with its outbox.
func openStore(t *testing.T, d *db.DB) *videosvc.SQLStore {
	t.Helper()
	ctx := context.Background()
	ob := svctest.Outbox(t, d, "video", nil, nil)
	store, err := videosvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// onEachDatabase runs test on a new store of every database, each in a subtest.
func onEachDatabase(t *testing.T, test func(t *testing.T, ctx context.Context, store *videosvc.SQLStore)) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) { test(t, context.Background(), openStore(t, open(t))) })
	}
}

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
	onEachDatabase(t, func(t *testing.T, ctx context.Context, store *videosvc.SQLStore) {
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

// countedTimelines counts the inbox and author reads that reach the store.
type countedTimelines struct {
	*videosvc.SQLStore
	reads atomic.Int64
}

func (c *countedTimelines) Inbox(ctx context.Context, user int64, before videosvc.Position, since int64, limit int) ([]*videosvc.Video, error) {
	c.reads.Add(1)
	return c.SQLStore.Inbox(ctx, user, before, since, limit)
}

func (c *countedTimelines) ByAuthors(ctx context.Context, authors []int64, before videosvc.Position, since int64, limit int) ([]*videosvc.Video, error) {
	c.reads.Add(1)
	return c.SQLStore.ByAuthors(ctx, authors, before, since, limit)
}

func (c *countedTimelines) Timeline(ctx context.Context, user int64, authors []int64, before videosvc.Position, since int64, limit int) ([]*videosvc.Video, error) {
	c.reads.Add(1)
	return c.SQLStore.Timeline(ctx, user, authors, before, since, limit)
}

// TestKeepTimelinesAnswersAsTheStore writes at random through KeepTimelines
// (publishes, inbox entries with trims, an author's removal from an inbox)
// and after every write asks it and the store beneath for many windows of
// every reader's timeline: first pages of several sizes, deeper pages, the
// rest of a millisecond (since), with and without merged authors. The answers
// must be the same, videos in the same order; a first page read again with no
// write between must not reach the store.
func TestKeepTimelinesAnswersAsTheStore(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, ctx context.Context, store *videosvc.SQLStore) {
		counted := &countedTimelines{SQLStore: store}
		videos, inbox := videosvc.KeepTimelines(counted, counted)
		readers := []int64{1 << 30, 2 << 30, 3 << 30}
		// Few authors and many steps, so that inboxes and authors outgrow a
		// kept head.
		authors := []int64{1 << 40, 2 << 40, 3 << 40}
		rng := rand.New(rand.NewPCG(7, 8))
		var published []*videosvc.Video
		ms := int64(1_700_000_000_000)
		const inboxKeep = 50 // above a kept head (40), so trims and deep pages both happen
		windows := func() []videosvc.Position {
			ps := []videosvc.Position{{Time: 1<<63 - 1}, {Time: ms + 1}}
			for range 3 {
				if len(published) > 0 {
					v := published[rng.IntN(len(published))]
					ps = append(ps, videosvc.Position{Time: v.CreateTime, ID: v.ID}, videosvc.Position{Time: v.CreateTime})
				}
			}
			return ps
		}
		for step := range 300 {
			switch op := rng.IntN(20); {
			case op < 9: // publish, often in a millisecond shared with the last one
				if rng.IntN(3) > 0 {
					ms++
				}
				v := &videosvc.Video{ID: int64(step+1) << 22, AuthorID: authors[rng.IntN(len(authors))], Title: "t",
					PlayKey: "videos/p.mp4", CoverKey: "covers/c.jpg", CreateTime: ms}
				if err := videos.Create(ctx, v); err != nil {
					t.Fatal(err)
				}
				published = append(published, v)
			case op < 19: // fan a few published videos out to random readers
				var entries []videosvc.InboxEntry
				for range 1 + rng.IntN(6) {
					if len(published) == 0 {
						break
					}
					v := published[rng.IntN(len(published))]
					entries = append(entries, videosvc.InboxEntry{UserID: readers[rng.IntN(len(readers))], VideoID: v.ID, CreateTime: v.CreateTime})
				}
				if _, err := inbox.AddToInboxes(ctx, entries, inboxKeep); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := inbox.RemoveAuthorFromInbox(ctx, readers[rng.IntN(len(readers))], authors[rng.IntN(len(authors))]); err != nil {
					t.Fatal(err)
				}
			}
			// One reader a step (0: no inbox, only merged authors).
			for _, r := range []int64{append([]int64{0}, readers...)[rng.IntN(len(readers)+1)]} {
				merged := authors[:rng.IntN(len(authors)+1)]
				if r == 0 && len(merged) == 0 {
					continue
				}
				for _, before := range windows() {
					for _, limit := range []int{1, 31, 60} {
						since := int64(0)
						if rng.IntN(4) == 0 {
							since = before.Time - int64(rng.IntN(3))
						}
						got, err := inbox.Timeline(ctx, r, merged, before, since, limit)
						if err != nil {
							t.Fatal(err)
						}
						want, err := store.Timeline(ctx, r, merged, before, since, limit)
						if err != nil {
							t.Fatal(err)
						}
						if g, w := ids(got), ids(want); !slices.Equal(g, w) {
							t.Fatalf("step %d, reader %d, authors %v, before %+v, since %d, limit %d:\nkept  %v\nstore %v",
								step, r, merged, before, since, limit, g, w)
						}
					}
				}
				// A first page read again, nothing written since: from memory.
				first := videosvc.Position{Time: 1<<63 - 1}
				if _, err := inbox.Timeline(ctx, r, merged, first, 0, 31); err != nil {
					t.Fatal(err)
				}
				before := counted.reads.Load()
				if _, err := inbox.Timeline(ctx, r, merged, first, 0, 31); err != nil {
					t.Fatal(err)
				}
				if n := counted.reads.Load() - before; n != 0 {
					t.Fatalf("step %d, reader %d: a repeated first page made %d store reads", step, r, n)
				}
			}
		}
	})
}

func ids(vs []*videosvc.Video) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}
