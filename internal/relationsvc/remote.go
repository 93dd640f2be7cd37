package relationsvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/relation/relationservice"
)

// Remote is the relation service behind a Kitex client: the same interface as
// *Service, for processes that do not run the relation role themselves.
type Remote struct {
	c relationservice.Client
}

var _ relation.RelationService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the relation role.
func NewRemote(c relationservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Follow(ctx context.Context, req *relation.FollowRequest) (*relation.FollowResponse, error) {
	return r.c.Follow(ctx, req)
}

func (r *Remote) ListFollowing(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return r.c.ListFollowing(ctx, req)
}

func (r *Remote) ListFollowers(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return r.c.ListFollowers(ctx, req)
}

func (r *Remote) ListFriends(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return r.c.ListFriends(ctx, req)
}

func (r *Remote) UserStats(ctx context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	return r.c.UserStats(ctx, req)
}

func (r *Remote) ListPopular(ctx context.Context, req *relation.PopularRequest) (*relation.PopularResponse, error) {
	return r.c.ListPopular(ctx, req)
}
