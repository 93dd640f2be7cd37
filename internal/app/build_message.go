package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildMessage(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "message")
	if err != nil {
		return err
	}
	store, err := messagesvc.NewSQLStore(ctx, d)
	if err != nil {
		return err
	}
	s.Message = messagesvc.New(store, p.ids, s.User, s.Relation,
		messagesvc.Options{RequireFriends: p.cfg.Message.RequireFriends})
	return nil
}
