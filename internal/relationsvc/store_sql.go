package relationsvc

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"strconv"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the relation service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
//
// Exactness rests on one local transaction per change: the edge
// (relation_follows), both users' counts (relation_counts) and the event for the
// other roles (the outbox) change together or not at all, so a crash at any point,
// kill -9 included, leaves either the whole follow or none of it. The counts move
// and the event is written only when the edge's insert or delete actually affected
// a row, which makes repeats change nothing and emit nothing, and makes concurrent
// follows and unfollows exact: the primary key lets exactly one of two racing
// inserts (or deletes) of the same edge affect a row, and counts change by relative
// updates under the row lock, never read and written back.
type SQLStore struct {
	db     *db.DB
	events *outbox.Outbox
	reads  *db.Reads
}

// NewSQLStore migrates the schema and returns a store on it that records its
// events in events. A nil events records none, for tools that write the graph
// directly and rebuild what depends on it themselves (the dataset seeder).
func NewSQLStore(ctx context.Context, d *db.DB, events *outbox.Outbox) (*SQLStore, error) {
	if err := d.Migrate(ctx, "relation", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d, events: events, reads: db.NewReads(d)}, nil
}

var _ Store = (*SQLStore)(nil)

func (s *SQLStore) Follow(ctx context.Context, c Change) (changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		res, err := tx.ExecContext(ctx, s.db.InsertIgnore()+
			` INTO relation_follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)`,
			c.FollowerID, c.FolloweeID, c.At)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // already following: nothing to count or announce
		}
		if err := s.addCounts(ctx, tx, c.FollowerID, c.FolloweeID, +1); err != nil {
			return err
		}
		if err := s.record(ctx, tx, c, true); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if changed {
		s.notify()
	}
	return changed, nil
}

func (s *SQLStore) Unfollow(ctx context.Context, c Change) (changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		res, err := tx.ExecContext(ctx,
			`DELETE FROM relation_follows WHERE follower_id = ? AND followee_id = ?`, c.FollowerID, c.FolloweeID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // never followed, or a concurrent unfollow removed and counted it
		}
		if err := s.addCounts(ctx, tx, c.FollowerID, c.FolloweeID, -1); err != nil {
			return err
		}
		if err := s.record(ctx, tx, c, false); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, err
	}
	if changed {
		s.notify()
	}
	return changed, nil
}

// record adds the change's event to the outbox inside tx.
func (s *SQLStore) record(ctx context.Context, tx *sql.Tx, c Change, follow bool) error {
	if s.events == nil {
		return nil
	}
	subject, msgID, payload, err := event(c, follow)
	if err != nil {
		return err
	}
	return s.events.Add(ctx, tx, subject, msgID, payload)
}

// notify wakes the relay after a commit, so the event does not wait for its poll.
func (s *SQLStore) notify() {
	if s.events != nil {
		s.events.Notify()
	}
}

// addCounts moves the follower's follow_count and the followee's follower_count by
// delta (+1 or -1). The rows are changed in ascending user id order, so two
// transactions that touch the same two users (A follows B while B follows A) lock
// them in the same order and cannot deadlock. A follow creates a missing row; an
// unfollow only ever follows a follow that created both rows, so it updates.
func (s *SQLStore) addCounts(ctx context.Context, tx *sql.Tx, follower, followee, delta int64) error {
	type change struct{ user, follow, followers int64 }
	changes := []change{{follower, delta, 0}, {followee, 0, delta}}
	if followee < follower {
		changes[0], changes[1] = changes[1], changes[0]
	}
	for _, ch := range changes {
		var err error
		if delta > 0 {
			_, err = tx.ExecContext(ctx, s.upsertCounts(), ch.user, ch.follow, ch.followers)
		} else {
			_, err = tx.ExecContext(ctx,
				`UPDATE relation_counts SET follow_count = follow_count + ?, follower_count = follower_count + ? WHERE user_id = ?`,
				ch.follow, ch.followers, ch.user)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// upsertCounts adds to a user's counts, creating the row on first use. The two
// engines spell an upsert differently; VALUES() rather than MySQL 8's row alias,
// because MariaDB only knows VALUES().
func (s *SQLStore) upsertCounts() string {
	if s.db.Dialect == db.MySQL {
		return `INSERT INTO relation_counts (user_id, follow_count, follower_count) VALUES (?, ?, ?)
			ON DUPLICATE KEY UPDATE follow_count = follow_count + VALUES(follow_count),
				follower_count = follower_count + VALUES(follower_count)`
	}
	return `INSERT INTO relation_counts (user_id, follow_count, follower_count) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET follow_count = follow_count + excluded.follow_count,
			follower_count = follower_count + excluded.follower_count`
}

// List queries. Each reads one page as a range scan of an index that starts with
// the listed user and continues with (created_at, other user), backwards from the
// cursor, and stops after limit rows: memory and time per page stay bounded however
// long the list is. The cursor condition is written as "created_at <= ? AND
// (created_at < ? OR id < ?)" rather than a row comparison, so that both engines
// use created_at for the range.
const (
	followingQuery = `SELECT followee_id, created_at FROM relation_follows
		WHERE follower_id = ?%s ORDER BY created_at DESC, followee_id DESC`
	followingAfter = ` AND created_at <= ? AND (created_at < ? OR followee_id < ?)`

	followersQuery = `SELECT follower_id, created_at FROM relation_follows
		WHERE followee_id = ?%s ORDER BY created_at DESC, follower_id DESC`
	followersAfter = ` AND created_at <= ? AND (created_at < ? OR follower_id < ?)`

	// A friend is a followee who follows back: the user's following list, kept
	// where the reverse edge exists (a primary key lookup per row). A page may
	// pass over followees who do not follow back; it holds at most limit rows.
	friendsQuery = `SELECT f.followee_id, f.created_at FROM relation_follows f
		WHERE f.follower_id = ?%s
		AND EXISTS (SELECT 1 FROM relation_follows b WHERE b.follower_id = f.followee_id AND b.followee_id = f.follower_id)
		ORDER BY f.created_at DESC, f.followee_id DESC`
	friendsAfter = ` AND f.created_at <= ? AND (f.created_at < ? OR f.followee_id < ?)`
)

func (s *SQLStore) Following(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error) {
	return s.page(ctx, followingQuery, followingAfter, userID, after, limit)
}

func (s *SQLStore) Followers(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error) {
	return s.page(ctx, followersQuery, followersAfter, userID, after, limit)
}

func (s *SQLStore) Friends(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error) {
	return s.page(ctx, friendsQuery, friendsAfter, userID, after, limit)
}

// page runs one of the list queries: query's %s takes cond when there is a cursor.
func (s *SQLStore) page(ctx context.Context, query, cond string, userID int64, after *Position, limit int) ([]Entry, error) {
	args := []any{userID}
	if after != nil {
		query = strings.Replace(query, "%s", cond, 1)
		args = append(args, after.CreatedAt, after.CreatedAt, after.UserID)
	} else {
		query = strings.Replace(query, "%s", "", 1)
	}
	if limit <= 0 {
		return []Entry{}, nil
	}
	rows, err := s.reads.Query(ctx, query+s.reads.Limit(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Entry, 0, min(limit, 128))
	for len(out) < limit && rows.Next() {
		var e Entry
		if err := rows.Scan(&e.UserID, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *SQLStore) Counts(ctx context.Context, ids []int64) (map[int64]Counts, error) {
	out := make(map[int64]Counts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT user_id, follow_count, follower_count FROM relation_counts WHERE user_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c Counts
		if err := rows.Scan(&id, &c.Follow, &c.Follower); err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, rows.Err()
}

func (s *SQLStore) Follows(ctx context.Context, viewer int64, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT followee_id FROM relation_follows WHERE follower_id = ? AND followee_id IN (`+in+`)`,
		append([]any{viewer}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// Stats reads the counts and the viewer's edges together: a user the viewer
// follows has at least that follower, so a count row, and the count table can
// drive the join. One statement instead of two is most of the cost saved: each
// costs more to run than the few rows it reads.
func (s *SQLStore) Stats(ctx context.Context, viewer int64, ids []int64) ([]Stat, error) {
	out := make([]Stat, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	first := make(map[int64]int, len(ids)) // each id's first place in ids
	for i := len(ids) - 1; i >= 0; i-- {
		first[ids[i]] = i
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx,
		`SELECT c.user_id, c.follow_count, c.follower_count, f.followee_id
		 FROM relation_counts c
		 LEFT JOIN relation_follows f ON f.follower_id = ? AND f.followee_id = c.user_id
		 WHERE c.user_id IN (`+in+`)`, append([]any{viewer}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id       int64
			st       Stat
			followed sql.NullInt64
		)
		if err := rows.Scan(&id, &st.Follow, &st.Follower, &followed); err != nil {
			return nil, err
		}
		st.Followed = followed.Valid && viewer != 0
		if i, ok := first[id]; ok {
			out[i] = st
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		out[i] = out[first[id]] // repeats
	}
	return out, nil
}

func (s *SQLStore) Popular(ctx context.Context, minFollowers int64, limit int) ([]int64, error) {
	rows, err := s.reads.Query(ctx,
		`SELECT user_id FROM relation_counts WHERE follower_count > ?
		 ORDER BY follower_count DESC, user_id DESC LIMIT `+strconv.Itoa(limit), minFollowers)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// inTx runs fn in a transaction, again when MySQL chose it as a deadlock victim
// (ordered locking cannot prevent every InnoDB deadlock). Running it again is safe:
// every write here is idempotent by key and counts only what it changed.
func (s *SQLStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.db.InTxRetry(ctx, fn)
}
