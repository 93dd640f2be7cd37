package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildMessage(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.Message = messagesvc.New()
	return nil
}
