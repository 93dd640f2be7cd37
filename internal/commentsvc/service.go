// Package commentsvc is the comment role: the comment platform of seed 004.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented, except the
// statistics that other routes join into their answers: nothing can have been
// recorded yet, so those are truthfully zero.
package commentsvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Service implements the comment role.
type Service struct{}

var _ comment.CommentService = (*Service)(nil)

// New returns the comment service.
func New() *Service { return &Service{} }

func (s *Service) Publish(ctx context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Delete(ctx context.Context, req *comment.DeleteRequest) (*comment.DeleteResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) List(ctx context.Context, req *comment.ListRequest) (*comment.ListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Like(ctx context.Context, req *comment.LikeRequest) (*comment.LikeResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Pin(ctx context.Context, req *comment.PinRequest) (*comment.PinResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) VideoCounts(ctx context.Context, req *comment.VideoCountsRequest) (*comment.VideoCountsResponse, error) {
	return nil, errs.ErrNotImplemented
}
