package videosvc

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the video service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
type SQLStore struct {
	db     *db.DB
	outbox *outbox.Outbox
	reads  *db.Reads
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore migrates the schema and returns a store on it. Create records each
// video's SubjectPublished event in ob, in the video's transaction; ob may be nil
// where nobody consumes the events (tools, some tests).
func NewSQLStore(ctx context.Context, d *db.DB, ob *outbox.Outbox) (*SQLStore, error) {
	if err := d.Migrate(ctx, "video", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d, outbox: ob, reads: db.NewReads(d)}, nil
}

const videoColumns = `id, author_id, title, play_key, cover_key, create_time`

func (s *SQLStore) Create(ctx context.Context, v *Video) error {
	var payload []byte
	if s.outbox != nil {
		var err error
		if payload, err = json.Marshal(Published{VideoID: v.ID, AuthorID: v.AuthorID, CreateTime: v.CreateTime}); err != nil {
			return err
		}
	}
	upsert := `INSERT INTO video_work_counts (user_id, work_count) VALUES (?, 1)
		ON CONFLICT (user_id) DO UPDATE SET work_count = work_count + 1`
	if s.db.Dialect == db.MySQL {
		upsert = `INSERT INTO video_work_counts (user_id, work_count) VALUES (?, 1)
		ON DUPLICATE KEY UPDATE work_count = work_count + 1`
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO videos (`+videoColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			v.ID, v.AuthorID, v.Title, v.PlayKey, v.CoverKey, v.CreateTime); err != nil {
			return fmt.Errorf("videosvc: insert video: %w", err)
		}
		if _, err := tx.ExecContext(ctx, upsert, v.AuthorID); err != nil {
			return fmt.Errorf("videosvc: work count: %w", err)
		}
		if s.outbox != nil {
			return s.outbox.Add(ctx, tx, SubjectPublished, publishedMsgID(v.ID), payload)
		}
		return nil
	})
	if err == nil && s.outbox != nil {
		s.outbox.Notify()
	}
	return err
}

func (s *SQLStore) Get(ctx context.Context, ids []int64) (map[int64]*Video, error) {
	out := make(map[int64]*Video, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT `+videoColumns+` FROM videos WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	vs, err := scanVideos(rows, len(ids))
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		out[v.ID] = v
	}
	return out, nil
}

// The listings below bound create_time with a plain range the index can use and
// filter the tie on the boundary millisecond by id. Their LIMIT is written into
// the text (db.Reads.Limit) and they read only the rows asked for.

func (s *SQLStore) Recent(ctx context.Context, before Position, limit int) ([]*Video, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reads.Query(ctx,
		`SELECT `+videoColumns+` FROM videos
		 WHERE create_time <= ? AND (create_time < ? OR id < ?)
		 ORDER BY create_time DESC, id DESC`+s.reads.Limit(limit),
		before.Time, before.Time, before.ID)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows, limit)
}

func (s *SQLStore) AtMillisecond(ctx context.Context, t, beforeID int64, limit int) ([]*Video, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reads.Query(ctx,
		`SELECT `+videoColumns+` FROM videos WHERE create_time = ? AND id < ?
		 ORDER BY create_time DESC, id DESC`+s.reads.Limit(limit), t, beforeID)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows, limit)
}

func (s *SQLStore) ByAuthor(ctx context.Context, authorID int64, before Position, limit int) ([]*Video, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reads.Query(ctx,
		`SELECT `+videoColumns+` FROM videos
		 WHERE author_id = ? AND create_time <= ? AND (create_time < ? OR id < ?)
		 ORDER BY create_time DESC, id DESC`+s.reads.Limit(limit),
		authorID, before.Time, before.Time, before.ID)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows, limit)
}

func (s *SQLStore) WorkCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT user_id, work_count FROM video_work_counts WHERE user_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

func (s *SQLStore) Referenced(ctx context.Context, key string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM videos WHERE play_key = ? OR cover_key = ? LIMIT 1`, key, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// scanVideos reads up to limit videos from rows and closes them.
func scanVideos(rows *sql.Rows, limit int) ([]*Video, error) {
	defer rows.Close()
	var out []*Video
	for len(out) < limit && rows.Next() {
		v := &Video{}
		if err := rows.Scan(&v.ID, &v.AuthorID, &v.Title, &v.PlayKey, &v.CoverKey, &v.CreateTime); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
