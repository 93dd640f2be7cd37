package favoritesvc_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
)

// BenchmarkLikesOneVideo measures likes per second on one hot video, each by a
// different user, on SQLite, and checks the final count is exact.
func BenchmarkLikesOneVideo(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(b.TempDir(), "fav.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	store, err := favoritesvc.NewSQLStore(ctx, d)
	if err != nil {
		b.Fatal(err)
	}
	videos := svctest.NewVideos()
	const vid, author = 1 << 40, 1 << 41
	videos.Add(vid, author)
	svc := favoritesvc.New(store, videos, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var next atomic.Int64
	next.Store(1 << 42)
	b.ReportAllocs()
	b.SetParallelism(8) // many requests in flight, as under HTTP load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Like(ctx, &favorite.LikeRequest{UserId: next.Add(1), VideoId: vid, Like: true}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st, err := svc.VideoStats(ctx, &favorite.VideoStatsRequest{VideoIds: []int64{vid}})
	if err != nil {
		b.Fatal(err)
	}
	if got := st.Stats[vid].FavoriteCount; got != int64(b.N) {
		b.Fatalf("favorite_count = %d after %d likes", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "likes/s")
}
