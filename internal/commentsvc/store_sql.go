package commentsvc

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the comment service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// previewSize is how many replies a top-level comment carries (api.md B.1).
const previewSize = 3

// SQLStore is the Store on SQLite or MySQL.
//
// Every write is one local transaction that changes the facts, every count they
// feed and the outbox together, so counts never disagree with the comments, even
// across kill -9. Counts change by relative updates under row locks, taken in one
// order everywhere (a thread's top-level row, then a reply's row, then the
// subject) so that concurrent writes wait for each other instead of deadlocking;
// a deadlock that still happens is retried.
//
// The text is written in the same transaction as the index (the seed allows
// writing it first and living with ghost rows; with one local database there is
// no reason to).
type SQLStore struct {
	db    *db.DB
	reads *db.Reads // the hot reads, prepared on SQLite
	ob    *outbox.Outbox
	now   func() time.Time
}

// NewSQLStore migrates the schema and returns a store on it that records its
// events in ob.
func NewSQLStore(ctx context.Context, d *db.DB, ob *outbox.Outbox) (*SQLStore, error) {
	if err := d.Migrate(ctx, "comment", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d, reads: db.NewReads(d), ob: ob, now: time.Now}, nil
}

var _ Store = (*SQLStore)(nil)

// forUpdate locks the rows a SELECT reads on MySQL. SQLite runs one write
// transaction at a time, so it needs (and has) no row locks.
func (s *SQLStore) forUpdate() string {
	if s.db.Dialect == db.MySQL {
		return " FOR UPDATE"
	}
	return ""
}

const indexColumns = `i.id, i.video_id, i.user_id, i.root_id, i.parent_id, i.floor, i.state,
	i.like_count, i.reply_count, i.hot, i.version, i.created_at`

type scanner interface{ Scan(dest ...any) error }

func scanIndex(sc scanner, r *Row, extra ...any) error {
	return sc.Scan(append([]any{&r.ID, &r.VideoID, &r.UserID, &r.RootID, &r.ParentID, &r.Floor, &r.State,
		&r.LikeCount, &r.ReplyCount, &r.Hot, &r.Version, &r.CreatedAt}, extra...)...)
}

// lockRow reads a comment's index row, locked for the rest of tx.
func (s *SQLStore) lockRow(ctx context.Context, tx *sql.Tx, id int64) (Row, error) {
	var r Row
	err := scanIndex(tx.QueryRowContext(ctx, `SELECT `+indexColumns+` FROM comment_index i WHERE i.id = ?`+s.forUpdate(), id), &r)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errGone
	}
	return r, err
}

func (s *SQLStore) emit(ctx context.Context, tx *sql.Tx, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.ob.Add(ctx, tx, eventSubject(e.VideoID), eventMsgID(e), payload)
}

// inTx runs fn in a transaction retried on deadlocks, and wakes the outbox relay
// after a commit.
func (s *SQLStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.db.InTxRetry(ctx, fn); err != nil {
		return err
	}
	s.ob.Notify()
	return nil
}

func (s *SQLStore) Insert(ctx context.Context, c NewComment) (Row, error) {
	var out Row
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Idempotence: a redelivered write finds its comment applied.
		existing, err := s.lockRow(ctx, tx, c.ID)
		if err == nil {
			existing.Content = c.Content // the same write: the same text
			out = existing
			return nil
		}
		if !errors.Is(err, errGone) {
			return err
		}
		r := Row{ID: c.ID, VideoID: c.VideoID, UserID: c.UserID, ParentID: c.ParentID, State: c.State,
			Hot: HotScore(0, 0, c.CreatedAt), Version: 1, CreatedAt: c.CreatedAt, Content: c.Content}
		visible := c.State == comment.CommentState_Visible

		if c.ParentID == 0 {
			r.Floor, err = s.nextTopFloor(ctx, tx, c, visible)
			if err != nil {
				return err
			}
		} else {
			if r.RootID, r.Floor, err = s.nextReplyFloor(ctx, tx, c, visible); err != nil {
				return err
			}
			if visible {
				if _, err := tx.ExecContext(ctx, `UPDATE comment_subject SET comment_count = comment_count + 1, updated_at = ?
					WHERE video_id = ?`, c.CreatedAt, c.VideoID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO comment_content (comment_id, content, created_at) VALUES (?, ?, ?)`,
			r.ID, r.Content, r.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO comment_index
			(id, video_id, user_id, root_id, parent_id, floor, state, hot, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			r.ID, r.VideoID, r.UserID, r.RootID, r.ParentID, r.Floor, r.State, r.Hot, r.CreatedAt, r.CreatedAt); err != nil {
			return err
		}
		out = r
		return s.emit(ctx, tx, eventFor(EventCreated, r, 0, r.CreatedAt))
	})
	if err != nil {
		return Row{}, err
	}
	return out, nil
}

// nextTopFloor allocates the next top-level floor of the comment's video,
// creating its subject on the first comment, and counts the comment if visible.
// Only the video's serial writer calls it, so the subject row is not contended.
func (s *SQLStore) nextTopFloor(ctx context.Context, tx *sql.Tx, c NewComment, visible bool) (int64, error) {
	add := 0
	if visible {
		add = 1
	}
	res, err := tx.ExecContext(ctx, `UPDATE comment_subject SET top_floor = top_floor + 1,
		root_count = root_count + ?, comment_count = comment_count + ?, updated_at = ? WHERE video_id = ?`,
		add, add, c.CreatedAt, c.VideoID)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO comment_subject
			(video_id, owner_id, top_floor, root_count, comment_count, pinned_id, updated_at) VALUES (?, ?, 1, ?, ?, 0, ?)`,
			c.VideoID, c.OwnerID, add, add, c.CreatedAt); err != nil {
			return 0, err
		}
		return 1, nil
	}
	var floor int64
	err = tx.QueryRowContext(ctx, `SELECT top_floor FROM comment_subject WHERE video_id = ?`, c.VideoID).Scan(&floor)
	return floor, err
}

// nextReplyFloor checks that the reply's parent and thread are visible comments
// of the same video, allocates the next floor in the thread and counts the reply
// on its root if visible. It locks the root before anything else, the order every
// writer uses.
func (s *SQLStore) nextReplyFloor(ctx context.Context, tx *sql.Tx, c NewComment, visible bool) (rootID, floor int64, err error) {
	var parentRoot, parentVideo int64
	err = tx.QueryRowContext(ctx, `SELECT root_id, video_id FROM comment_index WHERE id = ?`, c.ParentID).Scan(&parentRoot, &parentVideo)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && parentVideo != c.VideoID) {
		return 0, 0, errParentGone
	}
	if err != nil {
		return 0, 0, err
	}
	rootID = c.ParentID
	if parentRoot != 0 {
		rootID = parentRoot
	}
	root, err := s.lockRow(ctx, tx, rootID)
	if err != nil || root.State != comment.CommentState_Visible {
		return 0, 0, errors.Join(errParentGone, ignoreGone(err))
	}
	if rootID != c.ParentID {
		parent, err := s.lockRow(ctx, tx, c.ParentID)
		if err != nil || parent.State != comment.CommentState_Visible {
			return 0, 0, errors.Join(errParentGone, ignoreGone(err))
		}
	}
	set := `reply_floor = reply_floor + 1`
	args := []any{}
	if visible {
		set += `, reply_count = reply_count + 1, hot = ?, version = version + 1`
		args = append(args, HotScore(root.LikeCount, root.ReplyCount+1, root.CreatedAt))
	}
	args = append(args, c.CreatedAt, rootID)
	if _, err := tx.ExecContext(ctx, `UPDATE comment_index SET `+set+`, updated_at = ? WHERE id = ?`, args...); err != nil {
		return 0, 0, err
	}
	if err = tx.QueryRowContext(ctx, `SELECT reply_floor FROM comment_index WHERE id = ?`, rootID).Scan(&floor); err != nil {
		return 0, 0, err
	}
	if visible {
		root.ReplyCount++
		root.Version++
		if err := s.emit(ctx, tx, eventFor(EventCounts, root, 0, c.CreatedAt)); err != nil {
			return 0, 0, err
		}
	}
	return rootID, floor, nil
}

// ignoreGone drops errGone, which the caller reports as errParentGone.
func ignoreGone(err error) error {
	if errors.Is(err, errGone) {
		return nil
	}
	return err
}

func (s *SQLStore) SetState(ctx context.Context, id int64, to comment.CommentState, allowed func(comment.CommentState) bool) (before, after Row, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var rootID int64
		err := tx.QueryRowContext(ctx, `SELECT root_id FROM comment_index WHERE id = ?`, id).Scan(&rootID)
		if errors.Is(err, sql.ErrNoRows) {
			return errGone
		}
		if err != nil {
			return err
		}
		var root Row
		if rootID != 0 {
			if root, err = s.lockRow(ctx, tx, rootID); err != nil {
				return err
			}
		}
		r, err := s.lockRow(ctx, tx, id)
		if err != nil {
			return err
		}
		before, after = r, r
		if r.State == to {
			return nil
		}
		if !allowed(r.State) {
			return errConflict(r.State, to)
		}
		at := s.now().UnixMilli()
		wasVisible, isVisible := r.State == comment.CommentState_Visible, to == comment.CommentState_Visible
		if wasVisible != isVisible {
			d := int64(1)
			if !isVisible {
				d = -1
			}
			if rootID == 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE comment_subject SET root_count = root_count + ?,
					comment_count = comment_count + ?, updated_at = ? WHERE video_id = ?`,
					d, d*(1+r.ReplyCount), at, r.VideoID); err != nil {
					return err
				}
			} else {
				if _, err := tx.ExecContext(ctx, `UPDATE comment_index SET reply_count = reply_count + ?, hot = ?,
					version = version + 1, updated_at = ? WHERE id = ?`,
					d, HotScore(root.LikeCount, root.ReplyCount+d, root.CreatedAt), at, rootID); err != nil {
					return err
				}
				root.ReplyCount += d
				root.Version++
				if err := s.emit(ctx, tx, eventFor(EventCounts, root, 0, at)); err != nil {
					return err
				}
				if root.State == comment.CommentState_Visible {
					if _, err := tx.ExecContext(ctx, `UPDATE comment_subject SET comment_count = comment_count + ?,
						updated_at = ? WHERE video_id = ?`, d, at, r.VideoID); err != nil {
						return err
					}
				}
			}
		}
		if rootID == 0 && !isVisible {
			// A pin names a comment everyone sees; one that leaves the listings
			// takes its pin with it.
			if _, err := tx.ExecContext(ctx, `UPDATE comment_subject SET pinned_id = 0 WHERE video_id = ? AND pinned_id = ?`,
				r.VideoID, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comment_index SET state = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			to, at, id); err != nil {
			return err
		}
		after.State, after.Version = to, r.Version+1
		if err := tx.QueryRowContext(ctx, `SELECT content FROM comment_content WHERE comment_id = ?`, id).Scan(&after.Content); err != nil {
			return err
		}
		before.Content = after.Content
		return s.emit(ctx, tx, eventFor(EventState, after, r.State, at))
	})
	return before, after, err
}

func (s *SQLStore) Like(ctx context.Context, userID, commentID int64, like bool, at int64) (row Row, changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		r, err := s.lockRow(ctx, tx, commentID)
		if err != nil {
			return err
		}
		row = r
		var res sql.Result
		d := int64(1)
		if like {
			if r.State != comment.CommentState_Visible {
				return errNotVisible
			}
			res, err = tx.ExecContext(ctx, s.db.InsertIgnore()+` INTO comment_likes (user_id, comment_id, created_at) VALUES (?, ?, ?)`,
				userID, commentID, at)
		} else {
			d = -1
			res, err = tx.ExecContext(ctx, `DELETE FROM comment_likes WHERE user_id = ? AND comment_id = ?`, userID, commentID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // a repeat: nothing to count
		}
		row.LikeCount += d
		row.Hot = HotScore(row.LikeCount, row.ReplyCount, row.CreatedAt)
		row.Version++
		if _, err := tx.ExecContext(ctx, `UPDATE comment_index SET like_count = like_count + ?, hot = ?, version = version + 1,
			updated_at = ? WHERE id = ?`, d, row.Hot, at, commentID); err != nil {
			return err
		}
		changed = true
		return s.emit(ctx, tx, eventFor(EventLike, row, 0, at))
	})
	return row, changed, err
}

func (s *SQLStore) Pin(ctx context.Context, videoID, commentID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if commentID != 0 {
			r, err := s.lockRow(ctx, tx, commentID)
			if err != nil {
				return err
			}
			switch {
			case r.VideoID != videoID:
				return errGone
			case r.RootID != 0:
				return errNotTopLevel
			case r.State != comment.CommentState_Visible:
				return errNotVisible
			}
		}
		at := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE comment_subject SET pinned_id = ?, updated_at = ? WHERE video_id = ?`,
			commentID, at, videoID); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Kind: EventPin, ID: commentID, VideoID: videoID, PinnedID: commentID, At: at})
	})
}

func (s *SQLStore) Subject(ctx context.Context, videoID int64) (Subject, bool, error) {
	sub := Subject{VideoID: videoID}
	err := s.db.QueryRowContext(ctx, `SELECT owner_id, top_floor, root_count, comment_count, pinned_id
		FROM comment_subject WHERE video_id = ?`, videoID).
		Scan(&sub.OwnerID, &sub.TopFloor, &sub.RootCount, &sub.CommentCount, &sub.PinnedID)
	if errors.Is(err, sql.ErrNoRows) {
		return sub, false, nil
	}
	return sub, err == nil, err
}

func (s *SQLStore) Counts(ctx context.Context, videoIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(videoIDs))
	if len(videoIDs) == 0 {
		return out, nil
	}
	in, args := s.reads.In(videoIDs)
	rows, err := s.reads.Query(ctx, `SELECT video_id, comment_count FROM comment_subject WHERE video_id IN (`+in+`)`, args...)
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

func (s *SQLStore) Rows(ctx context.Context, ids []int64) (map[int64]Row, error) {
	out := make(map[int64]Row, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT `+indexColumns+`, c.content FROM comment_index i
		JOIN comment_content c ON c.comment_id = i.id WHERE i.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var roots []int64
	for rows.Next() {
		var r Row
		if err := scanIndex(rows, &r, &r.Content); err != nil {
			return nil, err
		}
		if r.RootID == 0 && r.ReplyCount > 0 {
			roots = append(roots, r.ID)
		}
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return out, nil
	}
	// The first visible replies of every thread on the page in one query.
	rootIn, rootArgs := s.reads.In(roots)
	prev, err := s.reads.Query(ctx, `SELECT root_id, id FROM (
		SELECT root_id, id, ROW_NUMBER() OVER (PARTITION BY root_id ORDER BY floor) AS n
		FROM comment_index WHERE root_id IN (`+rootIn+`) AND state = ?) t
		WHERE n <= ? ORDER BY root_id, n`, append(rootArgs, comment.CommentState_Visible, previewSize)...)
	if err != nil {
		return nil, err
	}
	defer prev.Close()
	for prev.Next() {
		var root, id int64
		if err := prev.Scan(&root, &id); err != nil {
			return nil, err
		}
		r := out[root]
		r.Preview = append(r.Preview, id)
		out[root] = r
	}
	return out, prev.Err()
}

func (s *SQLStore) Page(ctx context.Context, q PageQuery) ([]cache.Member, error) {
	var (
		query strings.Builder
		args  = []any{q.VideoID, q.RootID, comment.CommentState_Visible}
		col   = "floor"
	)
	if q.Order == ByHot {
		col = "hot"
	}
	query.WriteString(`SELECT id, ` + col + ` FROM comment_index WHERE video_id = ? AND root_id = ? AND state = ?`)
	switch {
	case q.After == nil:
	case q.Order == ByTime:
		query.WriteString(` AND floor < ?`)
		args = append(args, floorBound(q.After.Score))
	case q.Order == ByThread:
		query.WriteString(` AND floor > ?`)
		args = append(args, floorBound(q.After.Score))
	default:
		query.WriteString(` AND (hot < ? OR (hot = ? AND id < ?))`)
		args = append(args, q.After.Score, q.After.Score, q.After.ID)
	}
	switch q.Order {
	case ByTime:
		query.WriteString(` ORDER BY floor DESC`)
	case ByThread:
		query.WriteString(` ORDER BY floor`)
	default:
		query.WriteString(` ORDER BY hot DESC, id DESC`)
	}
	query.WriteString(` LIMIT ?`)
	args = append(args, q.N)
	rows, err := s.db.QueryContext(ctx, query.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]cache.Member, 0, q.N)
	for rows.Next() {
		var m cache.Member
		if err := rows.Scan(&m.ID, &m.Score); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// floorBound turns a position's score into a floor to compare with: the
// integer part, with scores beyond any floor (a position before the first
// comment) clamped instead of overflowing.
func floorBound(score float64) int64 {
	switch {
	case score >= 1<<62:
		return 1 << 62
	case score <= -(1 << 62):
		return -(1 << 62)
	}
	return int64(score)
}

func (s *SQLStore) Own(ctx context.Context, videoID, userID, rootID, since int64) ([]int64, error) {
	rows, err := s.reads.Query(ctx, `SELECT id FROM comment_index WHERE video_id = ? AND user_id = ? AND root_id = ?
		AND (state = ? OR (created_at > ? AND state = ?)) ORDER BY created_at LIMIT 200`,
		videoID, userID, rootID, comment.CommentState_Pending, since, comment.CommentState_Visible)
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

func (s *SQLStore) Liked(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	if len(ids) == 0 || userID == 0 {
		return out, nil
	}
	in, args := s.reads.In(ids)
	rows, err := s.reads.Query(ctx, `SELECT comment_id FROM comment_likes WHERE user_id = ? AND comment_id IN (`+in+`)`,
		append([]any{userID}, args...)...)
	if err != nil {
		return nil, err
	}
	liked, err := scanIDs(rows)
	for _, id := range liked {
		out[id] = true
	}
	return out, err
}

func (s *SQLStore) Scan(ctx context.Context, afterID int64, limit int) ([]Row, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+indexColumns+`, c.content FROM comment_index i
		JOIN comment_content c ON c.comment_id = i.id WHERE i.id > ? ORDER BY i.id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Row, 0, limit)
	for rows.Next() {
		var r Row
		if err := scanIndex(rows, &r, &r.Content); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLStore) Total(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM comment_index`).Scan(&n)
	return n, err
}

func scanIDs(rows *sql.Rows) ([]int64, error) {
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
