package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
)

// buildFavorite builds the favorite role over its own database. It calls the video
// role (already in s, as a Go implementation or a Kitex client) to check that a
// liked video exists and to learn its author.
func buildFavorite(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "favorite")
	if err != nil {
		return err
	}
	store, err := favoritesvc.NewSQLStore(ctx, d)
	if err != nil {
		return err
	}
	s.Favorite = favoritesvc.New(store, s.Video, p.log)
	return nil
}
