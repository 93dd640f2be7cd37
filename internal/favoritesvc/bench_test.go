package favoritesvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
)

// likers is how many requests are in flight at once in the benchmarks, as under
// HTTP load from 64 connections.
const likers = 64

// BenchmarkLikesOneVideo measures likes per second on one hot video, each by a
// different user, with 64 likers at once, through the service on each database
// (MySQL when MDOUYIN_TEST_MYSQL_DSN is set): a transaction per like ("tx")
// against group commit ("group"). It checks the final count is exact.
func BenchmarkLikesOneVideo(b *testing.B) {
	for _, dbName := range []string{"sqlite", "mysql"} {
		for _, wName := range []string{"tx", "group"} {
			b.Run(dbName+"/"+wName, func(b *testing.B) {
				benchmarkLikes(b, openBenchDB(b, dbName), writePaths[wName])
			})
		}
	}
}

// openBenchDB opens an empty database for a benchmark (svctest.Databases is for
// tests, which take a *testing.T).
func openBenchDB(b *testing.B, engine string) *db.DB {
	b.Helper()
	o := db.Options{Driver: db.SQLite, DSN: filepath.Join(b.TempDir(), "favorite.db")}
	var name string
	if engine == "mysql" {
		dsn := testenv.MySQLDSN(b)
		name = fmt.Sprintf("mdouyin_favoritesvc_bench_%d", time.Now().UnixNano())
		o = db.Options{Driver: db.MySQL, DSN: dsn + name}
	}
	d, err := db.Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if name != "" {
			d.ExecContext(context.Background(), "DROP DATABASE "+name)
		}
		d.Close()
	})
	return d
}

func benchmarkLikes(b *testing.B, d *db.DB, writes func(*favoritesvc.SQLStore) favoritesvc.Store) {
	ctx := context.Background()
	store, err := favoritesvc.NewSQLStore(ctx, d)
	if err != nil {
		b.Fatal(err)
	}
	videos := svctest.NewVideos()
	const vid, author = 1 << 40, 1 << 41
	videos.Add(vid, author)
	svc := favoritesvc.New(writes(store), videos, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var next atomic.Int64
	next.Store(1 << 42)
	b.ReportAllocs()
	b.SetParallelism(max(1, likers/runtime.GOMAXPROCS(0)))
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
