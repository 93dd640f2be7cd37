package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildRelation(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	s.Relation = relationsvc.New()
	return nil
}
