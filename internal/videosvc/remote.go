package videosvc

import (
	"context"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
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

// publishTimeout bounds a Publish call whose context has no deadline. Publishing
// runs ffmpeg, possibly after queueing for a worker, so it gets far longer than
// the client's ordinary RPC timeout.
const publishTimeout = 30 * time.Minute

// Publish calls the video role with the time its context allows (or
// publishTimeout) instead of the client's ordinary RPC timeout.
func (r *Remote) Publish(ctx context.Context, req *video.PublishRequest) (*video.PublishResponse, error) {
	d := publishTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return r.c.Publish(ctx, req, callopt.WithRPCTimeout(d))
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

// Find asks the video role for one video, for the roles that hang their facts
// on videos (likes, comments). It answers nil without an error for a video that
// does not exist, so each caller reports that in its own words.
func Find(ctx context.Context, vs video.VideoService, id int64) (*video.Video, error) {
	resp, err := vs.GetVideos(ctx, &video.GetVideosRequest{VideoIds: []int64{id}})
	if errs.CodeOf(err) == base.ErrCode_VideoNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return resp.GetVideos()[id], nil
}
