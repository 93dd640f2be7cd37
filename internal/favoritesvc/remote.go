package favoritesvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite/favoriteservice"
)

// Remote is the favorite service behind a Kitex client: the same interface as
// *Service, for processes that do not run the favorite role themselves.
type Remote struct {
	c favoriteservice.Client
}

var _ favorite.FavoriteService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the favorite role.
func NewRemote(c favoriteservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Like(ctx context.Context, req *favorite.LikeRequest) (*favorite.LikeResponse, error) {
	return r.c.Like(ctx, req)
}

func (r *Remote) ListLiked(ctx context.Context, req *favorite.ListLikedRequest) (*favorite.ListLikedResponse, error) {
	return r.c.ListLiked(ctx, req)
}

func (r *Remote) VideoStats(ctx context.Context, req *favorite.VideoStatsRequest) (*favorite.VideoStatsResponse, error) {
	return r.c.VideoStats(ctx, req)
}

func (r *Remote) UserStats(ctx context.Context, req *favorite.UserStatsRequest) (*favorite.UserStatsResponse, error) {
	return r.c.UserStats(ctx, req)
}
