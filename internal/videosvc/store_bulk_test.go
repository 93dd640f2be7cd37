package videosvc_test

import (
	"context"
	"fmt"
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
