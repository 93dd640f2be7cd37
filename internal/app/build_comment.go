package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/token"
)

func buildComment(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "comment")
	if err != nil {
		return err
	}
	if err := commentsvc.EnsureStreams(ctx, p.bus); err != nil {
		return err
	}
	ob, err := outbox.New(ctx, d, "comment", p.bus, p.log)
	if err != nil {
		return err
	}
	p.Background(ob.Run)
	store, err := commentsvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		return err
	}
	c := p.cfg.Comment
	var comments commentsvc.Store = store
	if p.everyRole {
		// As the favorite role's counts (buildFavorite): comments pass here.
		comments = commentsvc.KeepCounts(store)
	}
	svc, err := commentsvc.New(comments, s.Video, p.ids, p.bus, p.cache, p.sets, p.log, commentsvc.Options{
		Partitions: c.Partitions, PublishWait: c.PublishWait, SensitiveWords: c.SensitiveWords, NoHotPages: !c.HotPages,
	})
	if err != nil {
		return err
	}
	p.closers = append(p.closers, svc.Close)
	p.metrics.MustRegister(svc.Collectors()...)
	// The comment job: the serial writers of the write partitions.
	p.Background(svc.RunWriters)
	s.Comment = svc
	return nil
}
