package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/platform/progress"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Reindex rebuilds the comment search index of this data directory from the
// comment role: in one process (o.Role "") from the local database, or, with
// o.Role "comment-admin", from the comment and user roles named in rpc.peers. The
// server that uses the index must be stopped; the old index is replaced. Progress
// goes to out (a terminal when tty). It returns how many comments were indexed.
func Reindex(ctx context.Context, o Options, out io.Writer, tty bool) (int64, error) {
	if o.Role != "" && o.Role != "comment-admin" {
		return 0, fmt.Errorf("reindex runs for the comment-admin role (or every role in one process), not %q", o.Role)
	}
	cfg := o.Config
	if err := cfg.Validate(o.Role); err != nil {
		return 0, err
	}
	dir := filepath.Join(searchDir(cfg.DataDir), "comments.bleve")
	// Opening the index first finds a running server holding it, before anything
	// is removed under that server's feet.
	old, err := commentadminsvc.OpenIndex(dir)
	if err != nil {
		return 0, fmt.Errorf("the search index %s cannot be opened (is a server using it? stop it first): %w", dir, err)
	}
	if err := old.Close(); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}

	p, err := openRolePlatform(ctx, cfg, o.Role, o.Log)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	secret, err := jwtSecret(cfg, o.Log)
	if err != nil {
		return 0, err
	}
	tokens, err := newTokens(cfg, secret)
	if err != nil {
		return 0, err
	}
	svcs, _, err := services(ctx, p, tokens, o.Role)
	if err != nil {
		return 0, err
	}
	admin, ok := svcs.CommentAdmin.(*commentadminsvc.Service)
	if !ok {
		return 0, errors.New("reindex: the comment-admin role is not built in this process")
	}
	first, err := svcs.Comment.Scan(ctx, &comment.ScanRequest{Limit: 1})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	phase := progress.New(out, tty).Start("comments indexed", first.GetTotal())
	n, err := admin.Reindex(ctx, phase)
	phase.Finish()
	if err != nil {
		return n, err
	}
	o.Log.Info("search index rebuilt", "comments", n, "took", time.Since(start).Round(time.Millisecond), "dir", dir)
	return n, nil
}
