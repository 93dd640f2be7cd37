package commentsvc

import (
	"context"

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

func (r *Remote) Publish(ctx context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	return r.c.Publish(ctx, req)
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
