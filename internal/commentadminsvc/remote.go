package commentadminsvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentadminservice"
)

// Remote is the comment-admin service behind a Kitex client.
type Remote struct {
	c commentadminservice.Client
}

var _ comment.CommentAdminService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the comment-admin role.
func NewRemote(c commentadminservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Search(ctx context.Context, req *comment.SearchRequest) (*comment.SearchResponse, error) {
	return r.c.Search(ctx, req)
}

func (r *Remote) Review(ctx context.Context, req *comment.ReviewRequest) (*comment.ReviewResponse, error) {
	return r.c.Review(ctx, req)
}

func (r *Remote) Detail(ctx context.Context, req *comment.DetailRequest) (*comment.DetailResponse, error) {
	return r.c.Detail(ctx, req)
}

func (r *Remote) Audit(ctx context.Context, req *comment.AuditRequest) (*comment.AuditResponse, error) {
	return r.c.Audit(ctx, req)
}
