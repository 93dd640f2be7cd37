package svctest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Videos is the video role as the roles that depend on it see it: GetVideos over a
// map the test fills. Videos can be removed to play a video deleted later; the
// other methods are not needed by dependants and answer NotImplemented.
type Videos struct {
	mu     sync.Mutex
	videos map[int64]*video.Video
	calls  atomic.Int64
}

var _ video.VideoService = (*Videos)(nil)

// NewVideos returns an empty fake video role.
func NewVideos() *Videos { return &Videos{videos: map[int64]*video.Video{}} }

// Add publishes video id by author.
func (f *Videos) Add(id, author int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.videos[id] = &video.Video{Id: id, AuthorId: author, Title: "v", CreateTime: time.Now().UnixMilli()}
}

// Remove deletes video id.
func (f *Videos) Remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.videos, id)
}

// Calls counts GetVideos calls so far.
func (f *Videos) Calls() int64 { return f.calls.Load() }

func (f *Videos) GetVideos(ctx context.Context, req *video.GetVideosRequest) (*video.GetVideosResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]*video.Video{}
	for _, id := range req.GetVideoIds() {
		if v, ok := f.videos[id]; ok {
			out[id] = v
		}
	}
	return &video.GetVideosResponse{Videos: out}, nil
}

func (f *Videos) Publish(context.Context, *video.PublishRequest) (*video.PublishResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (f *Videos) Feed(context.Context, *video.FeedRequest) (*video.FeedResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (f *Videos) ListByAuthor(context.Context, *video.ListByAuthorRequest) (*video.VideoListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (f *Videos) WorkCounts(context.Context, *video.WorkCountsRequest) (*video.WorkCountsResponse, error) {
	return nil, errs.ErrNotImplemented
}
