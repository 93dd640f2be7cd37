package videosvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/video"
	"github.com/mdouyin/mdouyin/kitex_gen/video/videoservice"
)

// Remote is the video service behind a Kitex client: the same interface as
// *Service, for processes that do not run the video role themselves.
type Remote struct {
	c videoservice.Client
}

var _ video.VideoService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the video role.
func NewRemote(c videoservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Publish(ctx context.Context, req *video.PublishRequest) (*video.PublishResponse, error) {
	return r.c.Publish(ctx, req)
}

func (r *Remote) Feed(ctx context.Context, req *video.FeedRequest) (*video.FeedResponse, error) {
	return r.c.Feed(ctx, req)
}

func (r *Remote) ListByAuthor(ctx context.Context, req *video.ListByAuthorRequest) (*video.VideoListResponse, error) {
	return r.c.ListByAuthor(ctx, req)
}

func (r *Remote) GetVideos(ctx context.Context, req *video.GetVideosRequest) (*video.GetVideosResponse, error) {
	return r.c.GetVideos(ctx, req)
}

func (r *Remote) WorkCounts(ctx context.Context, req *video.WorkCountsRequest) (*video.WorkCountsResponse, error) {
	return r.c.WorkCounts(ctx, req)
}
