package app

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/platform/db"
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
	// Likes and unlikes are group-committed: concurrent ones share a transaction.
	// SQLite lets one writer in at a time, so one committer; MySQL commits
	// several transactions at once, so a few lanes (one video's likes share one).
	gc := favoritesvc.GroupCommitOptions{Lanes: 1}
	if d.Dialect == db.MySQL {
		gc.Lanes = 4
	}
	var likes favoritesvc.Store = favoritesvc.NewGroupCommit(store, gc)
	if p.everyRole {
		// Every feed page shows thirty videos' like counts and their authors'
		// totals; in one process every like passes here, so they can be kept
		// in memory. Replicas of a role would miss each other's likes.
		likes = favoritesvc.KeepStats(likes)
	}
	s.Favorite = favoritesvc.New(likes, s.Video, p.log)
	return nil
}
