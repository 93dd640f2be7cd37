package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildFavorite(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.Favorite = favoritesvc.New()
	return nil
}
