package videosvc_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/svctest"

	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// bulkTestDBs opens an empty database on each engine under test; MySQL is opened
// inside the subtest, so SQLite runs without it.
var bulkTestDBs = svctest.Databases("videosvc_bulk")

func TestBulkCreate(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := videosvc.NewSQLStore(ctx, open(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := s.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			video := func(id, author int64) *videosvc.Video {
				return &videosvc.Video{ID: id, AuthorID: author, Title: fmt.Sprint("v", id), PlayKey: "videos/p.mp4", CoverKey: "covers/c.jpg", CreateTime: id}
			}
			if err := s.Create(ctx, video(1, 7)); err != nil {
				t.Fatal(err)
			}
			// 1,100 videos by three authors, more than one statement.
			var batch []*videosvc.Video
			for id := int64(10); id < 1110; id++ {
				batch = append(batch, video(id, 7+id%3))
			}
			if err := s.BulkCreate(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := s.BulkCreate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			want := map[int64]int64{7: 367, 8: 367, 9: 367}
			check := func() {
				t.Helper()
				got, err := s.WorkCounts(ctx, []int64{7, 8, 9})
				if err != nil {
					t.Fatal(err)
				}
				for a, w := range want {
					if got[a] != w {
						t.Errorf("author %d: work_count %d, want %d", a, got[a], w)
					}
				}
			}
			check()
			got, err := s.Get(ctx, []int64{10, 1109})
			if err != nil || len(got) != 2 || got[1109].AuthorID != 7+1109%3 || got[1109].Title != "v1109" {
				t.Fatalf("get: %+v, %v", got, err)
			}
			// A repeated id fails the whole call: nothing written, no count moved.
			if err := s.BulkCreate(ctx, []*videosvc.Video{video(5000, 8), video(10, 8)}); err == nil {
				t.Fatal("a repeated id was accepted")
			}
			check()
			if got, err := s.Get(ctx, []int64{5000}); err != nil || len(got) != 0 {
				t.Fatalf("a failed bulk call kept a video: %+v, %v", got, err)
			}
		})
	}
}

func TestBulkFillInboxes(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := open(t)
			s, err := videosvc.NewSQLStore(ctx, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			// 700 videos by one author; user 1's inbox gets the newest 600 of them
			// over two calls (its entries span the calls, as a seeder's batches
			// do), user 2's the oldest 3.
			var videos []*videosvc.Video
			for id := int64(1); id <= 700; id++ {
				videos = append(videos, &videosvc.Video{ID: id, AuthorID: 9, Title: "t", PlayKey: "videos/p.mp4", CoverKey: "covers/c.jpg", CreateTime: 1000 + id})
			}
			if err := s.BulkCreate(ctx, videos); err != nil {
				t.Fatal(err)
			}
			entry := func(user, id int64) videosvc.InboxEntry {
				return videosvc.InboxEntry{UserID: user, VideoID: id, CreateTime: 1000 + id}
			}
			var first, second []videosvc.InboxEntry
			for id := int64(101); id <= 600; id++ {
				first = append(first, entry(1, id))
			}
			for id := int64(601); id <= 700; id++ {
				second = append(second, entry(1, id))
			}
			second = append(second, entry(2, 1), entry(2, 2), entry(2, 3))
			for _, batch := range [][]videosvc.InboxEntry{first, second, nil} {
				if err := s.BulkFillInboxes(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			checkInbox := func(user int64, want []int64) {
				t.Helper()
				got, err := s.Inbox(ctx, user, videosvc.Position{Time: 1 << 62}, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int64, len(got))
				for i, v := range got {
					ids[i] = v.ID
				}
				if !slices.Equal(ids, want) {
					t.Fatalf("user %d: inbox %v, want %v", user, ids, want)
				}
			}
			newest := func(from, to int64) []int64 {
				var ids []int64
				for id := to; id >= from; id-- {
					ids = append(ids, id)
				}
				return ids
			}
			checkInbox(1, newest(101, 700))
			checkInbox(2, []int64{3, 2, 1})
			sizes := func() map[int64]int64 {
				t.Helper()
				rows, err := d.QueryContext(ctx, "SELECT user_id, size FROM video_inbox_sizes")
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				out := map[int64]int64{}
				for rows.Next() {
					var u, n int64
					if err := rows.Scan(&u, &n); err != nil {
						t.Fatal(err)
					}
					out[u] = n
				}
				return out
			}
			if got := sizes(); !maps.Equal(got, map[int64]int64{1: 600, 2: 3}) {
				t.Fatalf("sizes %v", got)
			}
			// An entry already there fails the whole call: nothing written.
			if err := s.BulkFillInboxes(ctx, []videosvc.InboxEntry{entry(3, 5), entry(2, 3)}); err == nil {
				t.Fatal("an existing entry was accepted")
			}
			checkInbox(3, nil)
			if got := sizes(); !maps.Equal(got, map[int64]int64{1: 600, 2: 3}) {
				t.Fatalf("sizes after a failed call %v", got)
			}
			// The live fan-out trims from the sizes the bulk load kept: with a
			// bound of 500 (slack 62), user 1's 600 entries plus one are cut
			// back to the newest 500.
			if _, err := s.AddToInboxes(ctx, []videosvc.InboxEntry{entry(1, 50)}, 500); err != nil {
				t.Fatal(err)
			}
			checkInbox(1, newest(201, 700))
			if got := sizes(); got[1] != 500 {
				t.Fatalf("size of user 1 after the trim: %d", got[1])
			}
		})
	}
}
