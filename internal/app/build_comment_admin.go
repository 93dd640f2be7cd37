package app

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/web/admin"
)

// searchDir is where a comment-admin process keeps its search index and the name
// of its event consumer, under the data directory.
func searchDir(dataDir string) string { return filepath.Join(dataDir, "search") }

func buildCommentAdmin(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "comment_admin")
	if err != nil {
		return err
	}
	audit, err := commentadminsvc.NewAuditLog(ctx, d)
	if err != nil {
		return err
	}
	dir := searchDir(p.cfg.DataDir)
	replica, err := commentadminsvc.ReplicaName(dir)
	if err != nil {
		return err
	}
	index, err := commentadminsvc.OpenIndex(filepath.Join(dir, "comments.bleve"))
	if err != nil {
		return err
	}
	p.closers = append(p.closers, func() { index.Close() })
	svc := commentadminsvc.New(index, audit, s.Comment, s.User, p.ids, p.log)
	// The joiner: comment change events into this replica's own index.
	p.Background(func(ctx context.Context) error { return svc.RunIndexer(ctx, p.bus, replica) })
	s.CommentAdmin = svc
	return nil
}

// console returns the admin console's files, embedded in the binary.
func console() fs.FS { return admin.Files }
