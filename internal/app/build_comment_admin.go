package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildCommentAdmin(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.CommentAdmin = commentadminsvc.New()
	return nil
}
