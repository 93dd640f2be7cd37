package usersvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

// Remote is the user service behind a Kitex client: the same interface as
// *Service, for processes that do not run the user role themselves.
type Remote struct {
	c userservice.Client
}

var _ user.UserService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the user role.
func NewRemote(c userservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Register(ctx context.Context, req *user.RegisterRequest) (*user.AuthResponse, error) {
	return r.c.Register(ctx, req)
}

func (r *Remote) Login(ctx context.Context, req *user.LoginRequest) (*user.AuthResponse, error) {
	return r.c.Login(ctx, req)
}

func (r *Remote) VerifyToken(ctx context.Context, req *user.VerifyTokenRequest) (*user.VerifyTokenResponse, error) {
	return r.c.VerifyToken(ctx, req)
}

func (r *Remote) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	return r.c.GetProfiles(ctx, req)
}
