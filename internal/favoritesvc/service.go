// Package favoritesvc is the favorite role: video likes and the counts derived from them.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented, except the
// statistics that other routes join into their answers: nothing can have been
// recorded yet, so those are truthfully zero.
package favoritesvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
)

// Service implements the favorite role.
type Service struct{}

var _ favorite.FavoriteService = (*Service)(nil)

// New returns the favorite service.
func New() *Service { return &Service{} }

func (s *Service) Like(ctx context.Context, req *favorite.LikeRequest) (*favorite.LikeResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) ListLiked(ctx context.Context, req *favorite.ListLikedRequest) (*favorite.ListLikedResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) VideoStats(ctx context.Context, req *favorite.VideoStatsRequest) (*favorite.VideoStatsResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) UserStats(ctx context.Context, req *favorite.UserStatsRequest) (*favorite.UserStatsResponse, error) {
	out := make(map[int64]*favorite.UserStats, len(req.GetUserIds()))
	for _, id := range req.GetUserIds() {
		out[id] = &favorite.UserStats{}
	}
	return &favorite.UserStatsResponse{Stats: out}, nil
}
