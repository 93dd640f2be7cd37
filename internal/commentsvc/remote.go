package commentsvc

import (
	"context"
	"time"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentservice"
)

// Remote is the comment service behind a Kitex client: the same interface as
// *Service, for processes that do not run the comment role themselves.
type Remote struct {
	c commentservice.Client
}

var _ comment.CommentService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the comment role.
func NewRemote(c commentservice.Client) *Remote { return &Remote{c: c} }

// publishTimeout bounds a Publish call whose context has no deadline. The comment
// role answers within comment.publish_wait (at most a minute) plus its own checks,
// which may exceed the client's ordinary RPC timeout; cutting the call short would
// report a failure for a comment that is applied anyway.
const publishTimeout = time.Minute + 15*time.Second

// Publish calls the comment role with the time its context allows (or
// publishTimeout) instead of the client's ordinary RPC timeout.
func (r *Remote) Publish(ctx context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	d := publishTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return r.c.Publish(ctx, req, callopt.WithRPCTimeout(d))
}

func (r *Remote) Delete(ctx context.Context, req *comment.DeleteRequest) (*comment.DeleteResponse, error) {
	return r.c.Delete(ctx, req)
}

func (r *Remote) List(ctx context.Context, req *comment.ListRequest) (*comment.ListResponse, error) {
	return r.c.List(ctx, req)
}

func (r *Remote) Like(ctx context.Context, req *comment.LikeRequest) (*comment.LikeResponse, error) {
	return r.c.Like(ctx, req)
}

func (r *Remote) Pin(ctx context.Context, req *comment.PinRequest) (*comment.PinResponse, error) {
	return r.c.Pin(ctx, req)
}

func (r *Remote) VideoCounts(ctx context.Context, req *comment.VideoCountsRequest) (*comment.VideoCountsResponse, error) {
	return r.c.VideoCounts(ctx, req)
}

func (r *Remote) Moderate(ctx context.Context, req *comment.ModerateRequest) (*comment.ModerateResponse, error) {
	return r.c.Moderate(ctx, req)
}

func (r *Remote) Get(ctx context.Context, req *comment.GetRequest) (*comment.GetResponse, error) {
	return r.c.Get(ctx, req)
}

func (r *Remote) Scan(ctx context.Context, req *comment.ScanRequest) (*comment.ScanResponse, error) {
	return r.c.Scan(ctx, req)
}
