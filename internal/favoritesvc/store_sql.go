package favoritesvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the favorite service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
//
// Exactness rests on one local transaction per write, or per batch of writes
// (Apply): the facts (favorite_likes) and the three counts each feeds (the video's,
// the liker's given, the author's received) change together or not at all, so a
// crash at any point, kill -9 included, leaves either the whole write or none of it.
// The counts move only when the fact's insert or delete actually affected a row,
// which makes repeats (a double tap, a Kitex retry) change nothing, and which makes
// concurrent likes and unlikes of one video exact: the primary key on (user_id,
// video_id) lets exactly one of two racing inserts of the same fact affect a row,
// and counts are changed with relative updates (count = count + n) under the row
// lock, never read and written back.
//
// An outbox with an asynchronous consumer would also be exact, but all four rows
// belong to this role, so a single transaction is simpler and makes the caller's
// next read reflect the write at once.
type SQLStore struct {
	db    *db.DB
	reads *db.Reads
	q     writeQueries
	// stmts holds the write statements prepared on SQLite, where parsing a short
	// statement costs about as much as running it (see db.Reads); each is
	// prepared once per connection. MySQL's driver sends them as text.
	stmts map[string]*sql.Stmt // query text → statement

	oneByOne  bool         // MySQL: write a batch's facts one statement each (tests compare the two)
	raced     atomic.Int64 // batches made again one by one after errRaced
	afterRead func()       // tests: called between a batch's read of its facts and its writes
}

// Upserts add to a count, creating its row on the first like: appended to an
// INSERT of rows (key, changes...). MySQL's use VALUES() rather than MySQL
// 8's row alias, because MariaDB only knows VALUES().
const (
	sqliteVideoUpsert = ` ON CONFLICT (video_id) DO UPDATE SET favorite_count = favorite_count + excluded.favorite_count`
	sqliteUserUpsert  = ` ON CONFLICT (user_id) DO UPDATE SET given = given + excluded.given, received = received + excluded.received`
	mysqlVideoUpsert  = ` ON DUPLICATE KEY UPDATE favorite_count = favorite_count + VALUES(favorite_count)`
	mysqlUserUpsert   = ` ON DUPLICATE KEY UPDATE given = given + VALUES(given), received = received + VALUES(received)`
)

// writeQueries are the statements of a write. The count statements are SQLite's,
// one row each (prepared once); MySQL's are built per batch (applyDeltasMySQL).
type writeQueries struct {
	insertLike, authorOf, deleteLike string
	addVideo, subVideo               string
	addUser, subUser                 string
}

// NewSQLStore migrates the schema and returns a store on it.
func NewSQLStore(ctx context.Context, d *db.DB) (*SQLStore, error) {
	if err := d.Migrate(ctx, "favorite", Migrations()); err != nil {
		return nil, err
	}
	s := &SQLStore{db: d, reads: db.NewReads(d)}
	s.q = writeQueries{
		insertLike: d.InsertIgnore() + ` INTO favorite_likes (user_id, video_id, author_id, created_at) VALUES (?, ?, ?, ?)`,
		authorOf:   `SELECT author_id FROM favorite_likes WHERE user_id = ? AND video_id = ?`,
		deleteLike: `DELETE FROM favorite_likes WHERE user_id = ? AND video_id = ?`,
		// The upserts create a count's row on its first like.
		addVideo: `INSERT INTO favorite_video_counts (video_id, favorite_count) VALUES (?, ?)` + sqliteVideoUpsert,
		addUser:  `INSERT INTO favorite_user_counts (user_id, given, received) VALUES (?, ?, ?)` + sqliteUserUpsert,
		// Counts that only go down belong to likes counted before, whose rows
		// exist: a plain update.
		subVideo: `UPDATE favorite_video_counts SET favorite_count = favorite_count + ? WHERE video_id = ?`,
		subUser:  `UPDATE favorite_user_counts SET given = given + ?, received = received + ? WHERE user_id = ?`,
	}
	if d.Dialect == db.MySQL {
		return s, nil
	}
	// Prepared here, not on first use: preparing inside a write would take a
	// second connection while the transaction holds SQLite's write lock.
	s.stmts = make(map[string]*sql.Stmt)
	for _, q := range []string{s.q.insertLike, s.q.authorOf, s.q.deleteLike, s.q.addVideo, s.q.subVideo, s.q.addUser, s.q.subUser} {
		st, err := d.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range s.stmts {
				st.Close()
			}
			return nil, fmt.Errorf("favoritesvc: prepare: %w", err)
		}
		s.stmts[q] = st
	}
	return s, nil
}

var _ BatchStore = (*SQLStore)(nil)

func (s *SQLStore) Like(ctx context.Context, l Like) (bool, error) {
	changed, err := s.Apply(ctx, []Write{{Like: l}})
	if err != nil {
		return false, err
	}
	return changed[0], nil
}

func (s *SQLStore) Unlike(ctx context.Context, userID, videoID int64) (bool, error) {
	changed, err := s.Apply(ctx, []Write{{Like: Like{UserID: userID, VideoID: videoID}, Unlike: true}})
	if err != nil {
		return false, err
	}
	return changed[0], nil
}

// Apply makes the writes in order in one transaction, each exactly as Like or
// Unlike alone would (a later write sees what an earlier one did), and reports
// per write whether it changed anything. The count changes of all the writes are
// summed per row and applied once each, after the facts: a batch of likes of one
// video updates its count row once, which is what lets group commit (GroupCommit)
// relieve a hot video. On MySQL a batch writes its facts in multi-row
// statements too (applyBatch). If Apply fails, none of the writes is made.
func (s *SQLStore) Apply(ctx context.Context, ws []Write) ([]bool, error) {
	changed := make([]bool, len(ws))
	if len(ws) == 0 {
		return changed, nil
	}
	if s.db.Dialect == db.MySQL && len(ws) > 1 && !s.oneByOne {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			clear(changed)
			t := s.begin(ctx, tx)
			d, err := t.applyBatch(ws, changed)
			if err != nil {
				return err
			}
			return t.applyDeltas(&d)
		})
		if !errors.Is(err, errRaced) {
			if err != nil {
				return nil, err
			}
			return changed, nil
		}
		s.raced.Add(1)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		clear(changed) // a deadlock victim runs again from the start
		t := s.begin(ctx, tx)
		var d deltas
		for i, w := range ws {
			l := w.Like
			var (
				ok  bool
				err error
			)
			if w.Unlike {
				ok, l.AuthorID, err = t.removeFact(l.UserID, l.VideoID)
			} else {
				ok, err = t.addFact(l)
			}
			if err != nil {
				return err
			}
			if ok {
				changed[i] = true
				delta := int64(1)
				if w.Unlike {
					delta = -1
				}
				d.add(l.VideoID, l.UserID, l.AuthorID, delta)
			}
		}
		return t.applyDeltas(&d)
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// inTx runs fn in a transaction, again when MySQL chose it as a deadlock victim
// (ordered locking cannot prevent every InnoDB deadlock). Running it again is safe:
// every write here is idempotent by key and counts only what it changed.
func (s *SQLStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.db.InTxRetry(ctx, fn)
}

// writeTx is one transaction's view of the write statements.
type writeTx struct {
	s     *SQLStore
	ctx   context.Context
	tx    *sql.Tx
	bound map[string]*sql.Stmt // SQLite: the prepared statements bound to tx
}

func (s *SQLStore) begin(ctx context.Context, tx *sql.Tx) *writeTx {
	return &writeTx{s: s, ctx: ctx, tx: tx}
}

// stmt returns q prepared and bound to the transaction, or nil on MySQL.
func (t *writeTx) stmt(q string) (*sql.Stmt, error) {
	if t.s.db.Dialect != db.SQLite {
		return nil, nil
	}
	if st := t.bound[q]; st != nil {
		return st, nil
	}
	shared := t.s.stmts[q]
	if shared == nil {
		return nil, fmt.Errorf("favoritesvc: statement not prepared: %.60s", q)
	}
	// The transaction's copy reuses the connection's prepared statement, and
	// closes with the transaction.
	st := t.tx.StmtContext(t.ctx, shared)
	if t.bound == nil {
		t.bound = make(map[string]*sql.Stmt, 4)
	}
	t.bound[q] = st
	return st, nil
}

func (t *writeTx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.tx.ExecContext(t.ctx, q, args...)
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *writeTx) queryRow(q string, args ...any) (*sql.Row, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.tx.QueryRowContext(t.ctx, q, args...), nil
	}
	return st.QueryRowContext(t.ctx, args...), nil
}

// addFact records l unless the user already likes the video, and reports whether
// it did.
func (t *writeTx) addFact(l Like) (bool, error) {
	res, err := t.exec(t.s.q.insertLike, l.UserID, l.VideoID, l.AuthorID, l.CreatedAt)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// removeFact deletes the user's like of the video if there is one, and reports
// whether it did and the author the like credited.
func (t *writeTx) removeFact(userID, videoID int64) (bool, int64, error) {
	// A plain read is enough: the fact's author is the video's, which never
	// changes, so whichever transaction's delete removes the row below, the
	// author read here is that row's.
	row, err := t.queryRow(t.s.q.authorOf, userID, videoID)
	if err != nil {
		return false, 0, err
	}
	var author int64
	if err := row.Scan(&author); errors.Is(err, sql.ErrNoRows) {
		return false, 0, nil // never liked, or already taken back
	} else if err != nil {
		return false, 0, err
	}
	res, err := t.exec(t.s.q.deleteLike, userID, videoID)
	if err != nil {
		return false, 0, err
	}
	n, err := res.RowsAffected()
	// n == 0: a concurrent unlike removed it first and counted it.
	return n > 0, author, err
}

// deltas sums the count changes of a transaction's writes per row.
type deltas struct {
	videos map[int64]int64
	users  map[int64]*userDelta
}

type userDelta struct{ given, received int64 }

// add counts one like (delta +1) or unlike (-1) of video by liker, published by
// author; a self-like moves one user's two counts.
func (d *deltas) add(video, liker, author, delta int64) {
	if d.videos == nil {
		d.videos = make(map[int64]int64, 1)
		d.users = make(map[int64]*userDelta, 2)
	}
	d.videos[video] += delta
	d.user(liker).given += delta
	d.user(author).received += delta
}

func (d *deltas) user(id int64) *userDelta {
	u := d.users[id]
	if u == nil {
		u = &userDelta{}
		d.users[id] = u
	}
	return u
}

// applyDeltas changes every count row once, videos then users, each in ascending
// key order: two transactions that touch the same rows (A likes B's video while B
// likes A's, two batches sharing users) lock them in the same order and cannot
// deadlock on them. Rows whose changes cancel out are left alone.
func (t *writeTx) applyDeltas(d *deltas) error {
	if t.s.db.Dialect == db.MySQL {
		return t.applyDeltasMySQL(d)
	}
	for _, v := range sortedKeys(d.videos) {
		var err error
		switch n := d.videos[v]; {
		case n > 0:
			_, err = t.exec(t.s.q.addVideo, v, n)
		case n < 0:
			_, err = t.exec(t.s.q.subVideo, n, v)
		}
		if err != nil {
			return err
		}
	}
	for _, id := range sortedKeys(d.users) {
		u := d.users[id]
		var err error
		switch {
		case u.given > 0 || u.received > 0:
			_, err = t.exec(t.s.q.addUser, id, u.given, u.received)
		case u.given < 0 || u.received < 0:
			_, err = t.exec(t.s.q.subUser, u.given, u.received, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLStore) Liked(ctx context.Context, userID int64, after *Position, limit int) ([]Like, error) {
	q := `SELECT user_id, video_id, author_id, created_at FROM favorite_likes WHERE user_id = ?`
	args := []any{userID}
	if after != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND video_id < ?))`
		args = append(args, after.CreatedAt, after.CreatedAt, after.VideoID)
	}
	if limit <= 0 {
		return []Like{}, nil
	}
	q += ` ORDER BY created_at DESC, video_id DESC` + s.reads.Limit(limit)
	rows, err := s.reads.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Like, 0, limit)
	for len(out) < limit && rows.Next() {
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
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx,
		`SELECT c.video_id, c.favorite_count, l.video_id
		 FROM favorite_video_counts c
		 LEFT JOIN favorite_likes l ON l.user_id = ? AND l.video_id = c.video_id
		 WHERE c.video_id IN (`+in+`)`, append([]any{viewer}, args...)...)
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
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT user_id, given, received FROM favorite_user_counts WHERE user_id IN (`+in+`)`, args...)
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

// applyDeltasMySQL is applyDeltas in one multi-row upsert per table, where every
// statement is a round trip to the server. Rows are listed, and so locked, in
// ascending key order. A change may be negative here: it then belongs to likes
// counted before, so the row exists and the upsert is an update.
func (t *writeTx) applyDeltasMySQL(d *deltas) error {
	var rows []any
	for _, v := range sortedKeys(d.videos) {
		if n := d.videos[v]; n != 0 {
			rows = append(rows, v, n)
		}
	}
	if err := t.upsertRows(`INSERT INTO favorite_video_counts (video_id, favorite_count) VALUES `, mysqlVideoUpsert, 2, rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, id := range sortedKeys(d.users) {
		if u := d.users[id]; u.given != 0 || u.received != 0 {
			rows = append(rows, id, u.given, u.received)
		}
	}
	return t.upsertRows(`INSERT INTO favorite_user_counts (user_id, given, received) VALUES `, mysqlUserUpsert, 3, rows)
}

// upsertRows runs insert + rows + upsert for args, cols per row, in statements of
// at most bulkRowsPerStatement rows.
func (t *writeTx) upsertRows(insert, upsert string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, bulkRowsPerStatement)
		if _, err := t.tx.ExecContext(t.ctx, insert+rowsOf(n, cols)+upsert, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}
