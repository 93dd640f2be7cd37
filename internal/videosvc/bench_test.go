package videosvc_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// benchFeed is a feed on SQLite shaped like the logged-in feed goal of issue 7:
// a viewer who follows 200 authors, five of them in pull mode, with a full
// inbox, among benchVideos videos by benchAuthors authors.
type benchFeed struct {
	svc    *videosvc.Service
	viewer int64
}

const (
	benchVideos    = 20_000
	benchAuthors   = 2_000
	benchFollowees = 200
	benchBig       = 5
	benchInbox     = 1000
)

func newBenchFeed(b *testing.B) *benchFeed {
	b.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(b.TempDir(), "video.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	store, err := videosvc.NewSQLStore(ctx, d, nil)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := idgen.New(3)
	if err != nil {
		b.Fatal(err)
	}
	next := func() int64 {
		id, err := ids.Next()
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	authors := make([]int64, benchAuthors)
	for i := range authors {
		authors[i] = next()
	}
	viewer := next()
	rel := newFakeRelation()
	for i := range benchFollowees {
		rel.set(viewer, authors[i], true)
	}
	for i := range benchBig {
		rel.boost(authors[i], 1_000_000)
	}
	// One video per 10 minutes back from now: every fifth by one of the big
	// authors (so each has hundreds, as popular authors do), the others
	// round-robin over the rest. The push-mode followees' videos go into the
	// viewer's inbox, as fan-out would put them, newest first up to its bound.
	now := int64(1_780_000_000_000)
	var (
		videos []*videosvc.Video
		inbox  []videosvc.InboxEntry
	)
	for i := range benchVideos {
		k := i % benchAuthors
		if i%5 == 0 {
			k = (i / 5) % benchBig
		}
		v := &videosvc.Video{ID: next(), AuthorID: authors[k], Title: "a benchmark video", PlayKey: "videos/ab/cd.mp4",
			CoverKey: "covers/ab/cd.jpg", CreateTime: now - int64(i)*600_000}
		videos = append(videos, v)
		if k >= benchBig && k < benchFollowees && len(inbox) < benchInbox {
			inbox = append(inbox, videosvc.InboxEntry{UserID: viewer, VideoID: v.ID, CreateTime: v.CreateTime})
		}
	}
	if err := store.BulkCreate(ctx, videos); err != nil {
		b.Fatal(err)
	}
	if err := store.BulkFillInboxes(ctx, inbox); err != nil {
		b.Fatal(err)
	}
	svc := videosvc.New(store, nil, nil, ids, slog.New(slog.NewTextHandler(io.Discard, nil)), videosvc.Options{
		Relation: rel, Inbox: store, Feed: videosvc.FeedOptions{PullThreshold: 10_000, InboxSize: benchInbox},
	})
	return &benchFeed{svc: svc, viewer: viewer}
}

func (f *benchFeed) run(b *testing.B, req *video.FeedRequest) {
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := f.svc.Feed(ctx, req)
			if err != nil {
				b.Error(err)
				return
			}
			if len(r.GetVideos()) < 30 {
				b.Errorf("a feed page of %d videos", len(r.GetVideos()))
				return
			}
		}
	})
}

// reportCPU reports the process's CPU time per operation (all threads, the
// garbage collector's included) from the call until the returned function runs:
// on a shared machine it varies far less than ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGlobalFeed measures the video role's part of the guest feed: the
// global timeline's first page.
func BenchmarkGlobalFeed(b *testing.B) {
	newBenchFeed(b).run(b, &video.FeedRequest{Count: 30})
}

// BenchmarkFollowingFeed measures the video role's part of the logged-in feed:
// the viewer's inbox merged with their pull-mode authors.
func BenchmarkFollowingFeed(b *testing.B) {
	f := newBenchFeed(b)
	f.run(b, &video.FeedRequest{ViewerId: f.viewer, Count: 30})
}
