package favoritesvc_test

import (
	"context"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/svctest"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
)

// bulkTestDBs opens an empty database on each engine under test; MySQL is opened
// inside the subtest, so SQLite runs without it.
var bulkTestDBs = svctest.Databases("favoritesvc_bulk")

func TestBulkLike(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := favoritesvc.NewSQLStore(ctx, open(t))
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := s.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			// User 1 likes video 500 (by author 2) live first.
			if _, err := s.Like(ctx, favoritesvc.Like{UserID: 1, VideoID: 500, AuthorID: 2, CreatedAt: 1}); err != nil {
				t.Fatal(err)
			}
			// Users 1..60 like videos 501..520 (author 2 for odd, 3 for even): 1,200
			// likes, more than one statement; user 2 likes its own videos too.
			var likes []favoritesvc.Like
			for u := int64(1); u <= 60; u++ {
				for v := int64(501); v <= 520; v++ {
					likes = append(likes, favoritesvc.Like{UserID: u, VideoID: v, AuthorID: 2 + (v+1)%2, CreatedAt: u*1000 + v})
				}
			}
			if err := s.BulkLike(ctx, likes); err != nil {
				t.Fatal(err)
			}
			if err := s.BulkLike(ctx, nil); err != nil {
				t.Fatal(err)
			}
			wantUsers := map[int64]favoritesvc.UserStat{1: {Given: 21}, 2: {Given: 20, Received: 601}, 3: {Given: 20, Received: 600}, 60: {Given: 20}}
			wantVideos := map[int64]int64{500: 1, 501: 60, 520: 60}
			check := func() {
				t.Helper()
				users, err := s.UserStats(ctx, []int64{1, 2, 3, 60})
				if err != nil {
					t.Fatal(err)
				}
				for id, w := range wantUsers {
					if users[id] != w {
						t.Errorf("user %d: %+v, want %+v", id, users[id], w)
					}
				}
				videos, err := s.VideoStats(ctx, 1, []int64{500, 501, 520})
				if err != nil {
					t.Fatal(err)
				}
				for id, w := range wantVideos {
					if videos[id].Count != w || !videos[id].Liked {
						t.Errorf("video %d: %+v, want %d liked", id, videos[id], w)
					}
				}
			}
			check()
			// A repeated like fails the whole call: nothing written, no count moved.
			if err := s.BulkLike(ctx, []favoritesvc.Like{{UserID: 61, VideoID: 501, AuthorID: 2, CreatedAt: 9}, {UserID: 1, VideoID: 501, AuthorID: 2, CreatedAt: 9}}); err == nil {
				t.Fatal("a repeated like was accepted")
			}
			check()
			// The live path still works on top.
			if changed, err := s.Unlike(ctx, 1, 501); err != nil || !changed {
				t.Fatalf("unlike: %v, %v", changed, err)
			}
			wantUsers[1], wantUsers[2] = favoritesvc.UserStat{Given: 20}, favoritesvc.UserStat{Given: 20, Received: 600}
			wantVideos[501] = 59
			users, err := s.UserStats(ctx, []int64{1, 2})
			if err != nil || users[1] != wantUsers[1] || users[2] != wantUsers[2] {
				t.Fatalf("after unlike: %+v, %v", users, err)
			}
		})
	}
}
