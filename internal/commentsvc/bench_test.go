package commentsvc

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Benchmarks of the comment role in one process: SQLite, an embedded JetStream
// server and in-process caches, as `mdouyin` runs by default. The server-level
// figures (HTTP, wrk) come from scripts/measure-comments.sh; these isolate the
// service from the gateway.
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/commentsvc/

// benchFixture is the comment role with its writers and outbox relay running.
// newBenchFixture starts the role for a benchmark, writers included.
func newBenchFixture(tb testing.TB, o Options) *internalFixture {
	tb.Helper()
	f := newInternal(tb, o, nil)
	f.run()
	return f
}

// BenchmarkPublishOneVideo publishes comments on one video from many callers:
// every one goes through the video's single serial writer.
func BenchmarkPublishOneVideo(b *testing.B) { benchPublish(b, 1) }

// BenchmarkPublishManyVideos spreads the same load over 100 videos, and so over
// every write partition.
func BenchmarkPublishManyVideos(b *testing.B) { benchPublish(b, 100) }

// benchPublish publishes b.N top-level comments round-robin over nVideos videos
// from 32 callers per CPU (Publish mostly waits for the writer), reports
// comments/s, and checks that every publish was applied exactly once with
// floors 1..N on each video.
func benchPublish(b *testing.B, nVideos int) {
	f := newBenchFixture(b, Options{})
	videos := make([]int64, nVideos)
	for i := range videos {
		videos[i] = f.id(b)
		f.videos.Add(videos[i], f.id(b))
	}
	users := make([]int64, 16)
	for i := range users {
		users[i] = f.id(b)
	}
	ctx := context.Background()
	var next, late atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: users[i%int64(len(users))],
				VideoId: videos[i%int64(nVideos)], Content: "benchmark comment " + strconv.FormatInt(i, 10)})
			if err != nil {
				b.Error(err)
				return
			}
			if r.GetComment().GetFloor() == 0 {
				late.Add(1) // answered past the bound; applied later
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "comments/s")
	b.ReportMetric(float64(late.Load()), "late-answers")

	// Late answers are applied after the loop: wait for all of them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := f.store.Counts(ctx, videos)
		if err != nil {
			b.Fatal(err)
		}
		var total int64
		for _, n := range counts {
			total += n
		}
		if total == int64(b.N) {
			break
		}
		if time.Now().After(deadline) || total > int64(b.N) {
			b.Fatalf("comment_count adds up to %d after %d publishes", total, b.N)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for k, v := range videos {
		want := int64(b.N / nVideos) // round-robin: the first b.N%nVideos videos got one more
		if k < b.N%nVideos {
			want++
		}
		var n, lo, hi int64
		if err := f.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(floor), 0), COALESCE(MAX(floor), 0)
			FROM comment_index WHERE video_id = ? AND root_id = 0`, v).Scan(&n, &lo, &hi); err != nil {
			b.Fatal(err)
		}
		// Floors are unique per video (an index says so): n of them from 1 to n
		// are exactly 1..n.
		if n != want || (n > 0 && (lo != 1 || hi != n)) {
			b.Fatalf("video %d: %d comments with floors %d..%d; want %d with floors 1..%d", v, n, lo, hi, want, want)
		}
	}
}

// BenchmarkListFirstPage reads the first page of a hot video (1,000 top-level
// comments, 1 to 5 replies on every tenth, likes on every fifth, one pinned) from
// concurrent readers, with the caches warm: anonymously with and without the
// hot-page cache, as a logged-in reader, and in hot order.
func BenchmarkListFirstPage(b *testing.B) {
	f := newBenchFixture(b, Options{})
	noHot := f.peer(b, Options{NoHotPages: true})
	ctx := context.Background()
	vid, author := f.id(b), f.id(b)
	f.videos.Add(vid, author)
	users := make([]int64, 8)
	for i := range users {
		users[i] = f.id(b)
	}
	// The logged-in reader likes every fifth comment and writes none, like most
	// readers: what a viewer's own comments cost is not measured here.
	viewer := f.id(b)
	// Straight into the store: the listing, not the writer, is measured here.
	at := time.Now().Add(-time.Hour).UnixMilli()
	roots := make([]int64, 1000)
	for i := range roots {
		roots[i] = f.id(b)
		if _, err := f.store.Insert(ctx, NewComment{ID: roots[i], VideoID: vid, OwnerID: author, UserID: users[i%len(users)],
			Content: "top-level comment " + strconv.Itoa(i), State: comment.CommentState_Visible, CreatedAt: at + int64(i)}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			for j := range 1 + i/10%5 {
				if _, err := f.store.Insert(ctx, NewComment{ID: f.id(b), VideoID: vid, OwnerID: author, UserID: users[(i+j+1)%len(users)],
					ParentID: roots[i], Content: "reply " + strconv.Itoa(j), State: comment.CommentState_Visible, CreatedAt: at + int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		if i%5 == 0 {
			for _, u := range append([]int64{viewer}, users[:1+i/5%len(users)]...) {
				if _, _, err := f.store.Like(ctx, u, roots[i], true, at+int64(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := f.store.Pin(ctx, vid, roots[500]); err != nil {
		b.Fatal(err)
	}

	for _, bc := range []struct {
		name   string
		svc    *Service
		viewer int64
		sort   string
	}{
		{"anonymous", f.svc, 0, ""},
		{"anonymous-no-hot-pages", noHot, 0, ""},
		{"viewer", f.svc, viewer, ""},
		{"viewer-no-hot-pages", noHot, viewer, ""},
		{"hot-order", f.svc, 0, "hot"},
		{"hot-order-no-hot-pages", noHot, 0, "hot"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := &comment.ListRequest{ViewerId: bc.viewer, VideoId: vid, Sort: bc.sort, Page: &base.Page{}}
			warmFirstPage(b, bc.svc, req)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := bc.svc.List(ctx, req)
					if err != nil || len(r.GetComments()) != DefaultPageSize {
						b.Errorf("list: %d comments, %v", len(r.GetComments()), err)
						return
					}
				}
			})
		})
	}
}

// warmFirstPage reads a first page until its index cache has been rebuilt and,
// with hot pages on, the video is hot and its page cached locally. It checks the
// page on the way: full, the pinned comment first.
func warmFirstPage(b *testing.B, svc *Service, req *comment.ListRequest) {
	b.Helper()
	ctx := context.Background()
	order := ByTime
	if req.GetSort() == "hot" {
		order = ByHot
	}
	hotKey := strconv.FormatInt(req.GetVideoId(), 10) + ":" + strconv.Itoa(int(order)) + ":" + strconv.Itoa(DefaultPageSize)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := svc.List(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if cs := r.GetComments(); len(cs) != DefaultPageSize || !cs[0].GetIsPinned() {
			b.Fatalf("first page: %d comments, first pinned %v; want %d, pinned first", len(cs), len(cs) > 0 && cs[0].GetIsPinned(), DefaultPageSize)
		}
		_, built, err := svc.sets.Score(ctx, setKey(req.GetVideoId(), 0, order), 0)
		if err != nil {
			b.Fatal(err)
		}
		hot := svc.o.NoHotPages
		if !hot {
			_, hot = svc.hotPages.Get(hotKey)
		}
		if built && hot {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("caches not warm after 30 s (index built %v, page hot %v)", built, hot)
		}
	}
}
