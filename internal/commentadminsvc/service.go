// Package commentadminsvc is the comment-admin role: the search index fed by
// comment change events, and the moderators' review actions.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented.
package commentadminsvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Service implements the comment-admin role.
type Service struct{}

var _ comment.CommentAdminService = (*Service)(nil)

// New returns the comment-admin service.
func New() *Service { return &Service{} }

func (s *Service) Search(ctx context.Context, req *comment.SearchRequest) (*comment.SearchResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Review(ctx context.Context, req *comment.ReviewRequest) (*comment.ReviewResponse, error) {
	return nil, errs.ErrNotImplemented
}
