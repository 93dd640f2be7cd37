// Package relationsvc is the relation role: the follow graph, its counts and friends.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented, except the
// statistics that other routes join into their answers: nothing can have been
// recorded yet, so those are truthfully zero.
package relationsvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// Service implements the relation role.
type Service struct{}

var _ relation.RelationService = (*Service)(nil)

// New returns the relation service.
func New() *Service { return &Service{} }

func (s *Service) Follow(ctx context.Context, req *relation.FollowRequest) (*relation.FollowResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) ListFollowing(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) ListFollowers(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) ListFriends(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) UserStats(ctx context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	out := make(map[int64]*relation.UserStats, len(req.GetUserIds()))
	for _, id := range req.GetUserIds() {
		out[id] = &relation.UserStats{}
	}
	return &relation.UserStatsResponse{Stats: out}, nil
}
