package app

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

func buildVideo(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "video")
	if err != nil {
		return err
	}
	if err := videosvc.EnsureStream(ctx, p.bus); err != nil {
		return err
	}
	ob, err := outbox.New(ctx, d, "video", p.bus, p.log)
	if err != nil {
		return err
	}
	p.Background(ob.Run)
	store, err := videosvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		return err
	}
	v := p.cfg.Video
	media, err := videosvc.NewPipeline(videosvc.PipelineOptions{
		FFmpegPath:  v.FFmpegPath,
		FFprobePath: v.FFprobePath,
		Workers:     v.FFmpegWorkers,
		Timeout:     v.FFmpegTimeout,
		// Share the machine's cores among the workers, so that a full pool
		// does not oversubscribe the CPU that requests also need.
		Threads:     max(1, runtime.GOMAXPROCS(0)/v.FFmpegWorkers),
		MemoryLimit: int64(v.FFmpegMemoryMiB) << 20,
	})
	if err != nil {
		return err
	}
	p.metrics.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_ffmpeg_jobs_in_flight",
			Help: "Uploads being processed by ffmpeg now (bounded by video.ffmpeg_workers)."},
			func() float64 { return float64(media.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_ffmpeg_jobs_queued",
			Help: "Uploads waiting for an ffmpeg worker."},
			func() float64 { return float64(media.Queued()) }),
	)
	// Work files live beside the blob store so that storing the results is a
	// rename, not a copy of the whole video.
	tmp := filepath.Join(p.cfg.DataDir, "tmp", "video")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return err
	}
	f := p.cfg.Feed
	var videos videosvc.Store = store
	var inbox videosvc.InboxStore = store
	if p.everyRole {
		// As the favorite role's counts (buildFavorite): publishes and every
		// inbox write pass here.
		videos, inbox = videosvc.KeepTimelines(videosvc.KeepWorkCounts(store), store)
	}
	svc := videosvc.New(videos, p.blobs, media, p.ids, p.log, videosvc.Options{
		TempDir:        tmp,
		MaxUploadBytes: p.cfg.HTTP.MaxUploadBytes,
		Relation:       s.Relation,
		Inbox:          inbox,
		Feed:           videosvc.FeedOptions{PullThreshold: f.PullThreshold, InboxSize: f.InboxSize, BackfillCount: f.BackfillCount},
	})
	// The fan-out and follow consumers keep inboxes up to date off the request
	// path: publishing answers once the video row commits, not once it reached
	// every follower.
	p.Background(func(ctx context.Context) error { return svc.RunConsumers(ctx, p.bus) })
	s.Video = svc
	return nil
}
