package usersvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the user service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore migrates the schema and returns a store on it.
func NewSQLStore(ctx context.Context, d *db.DB) (*SQLStore, error) {
	if err := d.Migrate(ctx, "user", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d}, nil
}

var _ Store = (*SQLStore)(nil)

func (s *SQLStore) Create(ctx context.Context, a *Account) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, name, name_key, password_hash, avatar, background_image, signature, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.NameKey, a.PasswordHash, a.Avatar, a.BackgroundImage, a.Signature, a.CreatedAt)
	if db.IsUniqueViolation(err) {
		return ErrNameTaken
	}
	return err
}

func (s *SQLStore) ByNameKey(ctx context.Context, nameKey string) (*Account, error) {
	a := &Account{}
	err := s.db.QueryRowContext(ctx,
		`SELECT id, name, name_key, password_hash, avatar, background_image, signature, created_at
		 FROM users WHERE name_key = ?`, nameKey).
		Scan(&a.ID, &a.Name, &a.NameKey, &a.PasswordHash, &a.Avatar, &a.BackgroundImage, &a.Signature, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (s *SQLStore) Profiles(ctx context.Context, ids []int64) (map[int64]*Account, error) {
	out := make(map[int64]*Account, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, name, name_key, avatar, background_image, signature, created_at
		 FROM users WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a := &Account{}
		if err := rows.Scan(&a.ID, &a.Name, &a.NameKey, &a.Avatar, &a.BackgroundImage, &a.Signature, &a.CreatedAt); err != nil {
			return nil, err
		}
		out[a.ID] = a
	}
	return out, rows.Err()
}

func (s *SQLStore) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
	return err
}
