package favoritesvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the favorite service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
//
// Exactness rests on one local transaction per write: the fact (favorite_likes) and
// the three counts it feeds (the video's, the liker's given, the author's received)
// change together or not at all, so a crash at any point, kill -9 included, leaves
// either the whole like or none of it. The counts move only when the fact's insert
// or delete actually affected a row, which makes repeats (a double tap, a Kitex
// retry) change nothing, and which makes concurrent likes and unlikes of one video
// exact: the primary key on (user_id, video_id) lets exactly one of two racing
// inserts of the same fact affect a row, and counts are changed with relative
// updates (count = count ± 1) under the row lock, never read and written back.
//
// An outbox with an asynchronous consumer would also be exact, but all four rows
// belong to this role, so a single transaction is simpler and makes the caller's
// next read reflect the write at once.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore migrates the schema and returns a store on it.
func NewSQLStore(ctx context.Context, d *db.DB) (*SQLStore, error) {
	if err := d.Migrate(ctx, "favorite", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d}, nil
}

var _ Store = (*SQLStore)(nil)

func (s *SQLStore) Like(ctx context.Context, l Like) (changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		res, err := tx.ExecContext(ctx, s.db.InsertIgnore()+
			` INTO favorite_likes (user_id, video_id, author_id, created_at) VALUES (?, ?, ?, ?)`,
			l.UserID, l.VideoID, l.AuthorID, l.CreatedAt)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // already liked: nothing to count
		}
		if _, err := tx.ExecContext(ctx, s.upsertVideoCount(), l.VideoID); err != nil {
			return err
		}
		if err := s.addUserCounts(ctx, tx, l.UserID, l.AuthorID, +1); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

func (s *SQLStore) Unlike(ctx context.Context, userID, videoID int64) (changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		// A plain read is enough: the fact's author is the video's, which never
		// changes, so whichever transaction's delete removes the row below, the
		// author read here is that row's.
		var author int64
		err := tx.QueryRowContext(ctx,
			`SELECT author_id FROM favorite_likes WHERE user_id = ? AND video_id = ?`, userID, videoID).Scan(&author)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // never liked, or already taken back
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM favorite_likes WHERE user_id = ? AND video_id = ?`, userID, videoID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // a concurrent unlike removed it first and counted it
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE favorite_video_counts SET favorite_count = favorite_count - 1 WHERE video_id = ?`, videoID); err != nil {
			return err
		}
		if err := s.addUserCounts(ctx, tx, userID, author, -1); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

// upsertVideoCount adds one like to a video's count, creating the row on the
// video's first like. The two engines spell an upsert differently.
func (s *SQLStore) upsertVideoCount() string {
	if s.db.Dialect == db.MySQL {
		return `INSERT INTO favorite_video_counts (video_id, favorite_count) VALUES (?, 1)
			ON DUPLICATE KEY UPDATE favorite_count = favorite_count + 1`
	}
	return `INSERT INTO favorite_video_counts (video_id, favorite_count) VALUES (?, 1)
		ON CONFLICT (video_id) DO UPDATE SET favorite_count = favorite_count + 1`
}

// upsertUserCounts adds to a user's given and received counts, creating the row
// on first use. VALUES() rather than MySQL 8's row alias, because MariaDB only
// knows VALUES().
func (s *SQLStore) upsertUserCounts() string {
	if s.db.Dialect == db.MySQL {
		return `INSERT INTO favorite_user_counts (user_id, given, received) VALUES (?, ?, ?)
			ON DUPLICATE KEY UPDATE given = given + VALUES(given), received = received + VALUES(received)`
	}
	return `INSERT INTO favorite_user_counts (user_id, given, received) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET given = given + excluded.given, received = received + excluded.received`
}

// addUserCounts moves the liker's likes given and the author's likes received by
// delta (+1 or -1). The rows are changed in ascending user id order, so two
// transactions that touch the same two users (A likes B's video while B likes A's)
// lock them in the same order and cannot deadlock; a self-like is one row changed
// once. An unlike only ever follows a like that created the rows, so it updates.
func (s *SQLStore) addUserCounts(ctx context.Context, tx *sql.Tx, liker, author, delta int64) error {
	type change struct{ user, given, received int64 }
	var changes []change
	switch {
	case liker == author:
		changes = []change{{liker, delta, delta}}
	case liker < author:
		changes = []change{{liker, delta, 0}, {author, 0, delta}}
	default:
		changes = []change{{author, 0, delta}, {liker, delta, 0}}
	}
	for _, c := range changes {
		var err error
		if delta > 0 {
			_, err = tx.ExecContext(ctx, s.upsertUserCounts(), c.user, c.given, c.received)
		} else {
			_, err = tx.ExecContext(ctx,
				`UPDATE favorite_user_counts SET given = given + ?, received = received + ? WHERE user_id = ?`,
				c.given, c.received, c.user)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction, again when MySQL chose it as a deadlock victim
// (ordered locking cannot prevent every InnoDB deadlock). Running it again is safe:
// every write here is idempotent by key and counts only what it changed.
func (s *SQLStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.db.InTxRetry(ctx, fn)
}

func (s *SQLStore) Liked(ctx context.Context, userID int64, after *Position, limit int) ([]Like, error) {
	q := `SELECT user_id, video_id, author_id, created_at FROM favorite_likes WHERE user_id = ?`
	args := []any{userID}
	if after != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND video_id < ?))`
		args = append(args, after.CreatedAt, after.CreatedAt, after.VideoID)
	}
	q += ` ORDER BY created_at DESC, video_id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Like, 0, limit)
	for rows.Next() {
		var l Like
		if err := rows.Scan(&l.UserID, &l.VideoID, &l.AuthorID, &l.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (s *SQLStore) VideoStats(ctx context.Context, viewer int64, ids []int64) (map[int64]VideoStat, error) {
	out := make(map[int64]VideoStat, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// One statement reads counts and the viewer's likes together: a video the
	// viewer likes has a count row, so the count table can drive the join.
	args := append([]any{viewer}, db.Int64Args(ids)...)
	rows, err := s.db.QueryContext(ctx,
		`SELECT c.video_id, c.favorite_count, l.video_id
		 FROM favorite_video_counts c
		 LEFT JOIN favorite_likes l ON l.user_id = ? AND l.video_id = c.video_id
		 WHERE c.video_id IN (`+db.Placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			st    VideoStat
			liked sql.NullInt64
		)
		if err := rows.Scan(&id, &st.Count, &liked); err != nil {
			return nil, err
		}
		st.Liked = liked.Valid
		out[id] = st
	}
	return out, rows.Err()
}

func (s *SQLStore) UserStats(ctx context.Context, ids []int64) (map[int64]UserStat, error) {
	out := make(map[int64]UserStat, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT user_id, given, received FROM favorite_user_counts WHERE user_id IN (`+db.Placeholders(len(ids))+`)`,
		db.Int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			st UserStat
		)
		if err := rows.Scan(&id, &st.Given, &st.Received); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}
