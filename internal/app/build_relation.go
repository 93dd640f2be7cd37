package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/token"
)

// buildRelation builds the relation role over its own database. It calls the user
// role (already in s) to check that a user to follow exists, and announces follows
// and unfollows on its stream through an outbox relayed in the background.
func buildRelation(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "relation")
	if err != nil {
		return err
	}
	if err := relationsvc.EnsureStream(ctx, p.bus); err != nil {
		return err
	}
	ob, err := outbox.New(ctx, d, relationsvc.OutboxService, p.bus, p.log)
	if err != nil {
		return err
	}
	store, err := relationsvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		return err
	}
	p.Background(ob.Run)
	var stats relationsvc.Store = store
	if p.everyRole {
		// Comment pages and feeds show many authors to every reader; in one
		// process every follow passes here, so their counts and is_follow can
		// be kept in memory. Replicas of a role would miss each other's follows.
		stats = relationsvc.KeepStats(store)
	}
	s.Relation = relationsvc.New(stats, s.User, p.ids)
	return nil
}
