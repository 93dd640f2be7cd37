package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

func buildVideo(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.Video = videosvc.New()
	return nil
}
