package commentadminsvc

import (
	"context"
	"embed"
	"io/fs"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the comment-admin role's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// AuditLog keeps the review actions in the role's own table.
type AuditLog struct {
	db *db.DB
}

// NewAuditLog migrates the schema and returns the log.
func NewAuditLog(ctx context.Context, d *db.DB) (*AuditLog, error) {
	if err := d.Migrate(ctx, "comment_admin", Migrations()); err != nil {
		return nil, err
	}
	return &AuditLog{db: d}, nil
}

// Add records one action; id is a fresh unique id.
func (a *AuditLog) Add(ctx context.Context, id int64, e *comment.AuditEntry) error {
	_, err := a.db.ExecContext(ctx, `INSERT INTO comment_admin_audit (id, at, admin, action, comment_id, from_state, to_state)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, e.At, e.Admin, e.Action, e.CommentId, e.FromState, e.ToState)
	return err
}

// Recent returns the newest limit entries, newest first.
func (a *AuditLog) Recent(ctx context.Context, limit int) ([]*comment.AuditEntry, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT at, admin, action, comment_id, from_state, to_state
		FROM comment_admin_audit ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*comment.AuditEntry{}
	for rows.Next() {
		e := &comment.AuditEntry{}
		if err := rows.Scan(&e.At, &e.Admin, &e.Action, &e.CommentId, &e.FromState, &e.ToState); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
