package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildComment(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.Comment = commentsvc.New()
	return nil
}
