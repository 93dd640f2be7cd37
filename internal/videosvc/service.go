// Package videosvc is the video role: publishing, video metadata, publish lists and the feed.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented, except the
// statistics that other routes join into their answers: nothing can have been
// recorded yet, so those are truthfully zero.
package videosvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Service implements the video role.
type Service struct{}

var _ video.VideoService = (*Service)(nil)

// New returns the video service.
func New() *Service { return &Service{} }

func (s *Service) Publish(ctx context.Context, req *video.PublishRequest) (*video.PublishResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Feed(ctx context.Context, req *video.FeedRequest) (*video.FeedResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) ListByAuthor(ctx context.Context, req *video.ListByAuthorRequest) (*video.VideoListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) GetVideos(ctx context.Context, req *video.GetVideosRequest) (*video.GetVideosResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) WorkCounts(ctx context.Context, req *video.WorkCountsRequest) (*video.WorkCountsResponse, error) {
	out := make(map[int64]int64, len(req.GetUserIds()))
	for _, id := range req.GetUserIds() {
		out[id] = 0
	}
	return &video.WorkCountsResponse{Counts: out}, nil
}
