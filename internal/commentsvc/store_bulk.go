package commentsvc

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// bulkRowsPerStatement bounds the rows of one multi-row INSERT: comment_index's
// 14 columns times 500 rows stay far below SQLite's 32,766 bound variables and
// MySQL's 65,535 placeholders, whatever batch the caller passes.
const bulkRowsPerStatement = 500

// CommentLike is a user's like of a comment, for BulkInsert.
type CommentLike struct {
	UserID    int64
	CommentID int64
	CreatedAt int64 // epoch ms
}

// bulkRow is a comment of a BulkInsert call with what the call derives for it.
type bulkRow struct {
	Row
	replyFloor int64
	updatedAt  int64
	lastReply  int64 // created_at of the thread's last reply so far (top-level rows)
}

// bulkSubject is a video's subject as a BulkInsert call derives it.
type bulkSubject struct {
	Subject
	updatedAt int64
	lastRoot  int64 // created_at of the last top-level comment so far
}

// BulkInsert writes the whole comment history of videos that have none yet,
// with the comments' likes, in one transaction, for the dataset seeder:
// multi-row INSERTs instead of a transaction per comment and like. It records no
// events: it writes history, which no consumer needs to replay (`mdouyin
// reindex` builds the search index from the tables).
//
// Floors and every count are derived here from the facts, as the live writes
// would have left them, so they cannot disagree with the comments and likes:
// comments holds every comment of its videos in the order they were written,
// and floors are handed out in that order, top-level floors per video and reply
// floors per thread, as the serial writer does (Insert). So the comments of a
// video, and the replies of a thread, must come in time order (ties allowed),
// a reply after the comment it answers (its parent, on the same video). A video
// that already has comments fails the call (its subject exists), so a video's
// history must not be split across calls.
//
// States are final states: Visible; Pending (held for review) and Rejected,
// never seen by anyone, so they have no replies and no likes; Deleted, which
// was visible when its replies and likes came, and is counted as the live path
// counts a comment deleted after them. Versions count every change the live
// path would have made (a like, a reply counted on its thread, a state change).
// likes must be distinct (user, comment) pairs of comments in this call, at or
// after the comment's time. Anything else fails the whole call and writes
// nothing. Callers pass a few thousand rows per call, whole videos at a time.
func (s *SQLStore) BulkInsert(ctx context.Context, comments []NewComment, likes []CommentLike) error {
	if len(comments) == 0 && len(likes) == 0 {
		return nil
	}
	rows := make([]bulkRow, len(comments))
	index := make(map[int64]int, len(comments))
	subjects := make(map[int64]*bulkSubject)
	for i, c := range comments {
		if !idgen.Valid(c.ID) || !idgen.Valid(c.VideoID) || !idgen.Valid(c.UserID) {
			return fmt.Errorf("commentsvc: bulk insert: comment %d (video %d, user %d): invalid id", c.ID, c.VideoID, c.UserID)
		}
		if _, dup := index[c.ID]; dup {
			return fmt.Errorf("commentsvc: bulk insert: comment %d given twice", c.ID)
		}
		if !validState(c.State) {
			return fmt.Errorf("commentsvc: bulk insert: comment %d: invalid state %d", c.ID, c.State)
		}
		index[c.ID] = i
		r := &rows[i]
		r.Row = Row{ID: c.ID, VideoID: c.VideoID, UserID: c.UserID, ParentID: c.ParentID, State: c.State,
			Version: 1, CreatedAt: c.CreatedAt, Content: c.Content}
		r.updatedAt = c.CreatedAt
		if c.State == comment.CommentState_Deleted || c.State == comment.CommentState_Rejected {
			r.Version++ // the move out of the state it was written in
		}
		visible := c.State == comment.CommentState_Visible
		sub := subjects[c.VideoID]
		if sub == nil {
			sub = &bulkSubject{Subject: Subject{VideoID: c.VideoID, OwnerID: c.OwnerID}, lastRoot: c.CreatedAt}
			subjects[c.VideoID] = sub
		}
		sub.updatedAt = max(sub.updatedAt, c.CreatedAt)
		if c.ParentID == 0 {
			if c.CreatedAt < sub.lastRoot {
				return fmt.Errorf("commentsvc: bulk insert: comment %d comes before the previous one of video %d", c.ID, c.VideoID)
			}
			sub.lastRoot = c.CreatedAt
			sub.TopFloor++
			r.Floor = sub.TopFloor
			if visible {
				sub.RootCount++
				sub.CommentCount++
			}
			continue
		}
		p, ok := index[c.ParentID]
		if !ok || p == i {
			return fmt.Errorf("commentsvc: bulk insert: reply %d: its parent %d is not an earlier comment of this call", c.ID, c.ParentID)
		}
		parent := &rows[p]
		switch {
		case parent.VideoID != c.VideoID:
			return fmt.Errorf("commentsvc: bulk insert: reply %d on video %d answers comment %d of video %d", c.ID, c.VideoID, parent.ID, parent.VideoID)
		case !everVisible(parent.State):
			return fmt.Errorf("commentsvc: bulk insert: reply %d answers comment %d, which was never visible", c.ID, parent.ID)
		case c.CreatedAt < parent.CreatedAt:
			return fmt.Errorf("commentsvc: bulk insert: reply %d is older than the comment %d it answers", c.ID, parent.ID)
		}
		root := parent
		if parent.RootID != 0 {
			root = &rows[index[parent.RootID]]
		}
		if c.CreatedAt < root.lastReply {
			return fmt.Errorf("commentsvc: bulk insert: reply %d comes before the previous one of thread %d", c.ID, root.ID)
		}
		root.lastReply = c.CreatedAt
		r.RootID = root.ID
		root.replyFloor++
		r.Floor = root.replyFloor
		root.updatedAt = max(root.updatedAt, c.CreatedAt)
		switch c.State {
		case comment.CommentState_Visible:
			root.ReplyCount++
			root.Version++
			if root.State == comment.CommentState_Visible {
				sub.CommentCount++
			}
		case comment.CommentState_Deleted:
			root.Version += 2 // counted on its thread when written, taken off when deleted
		}
	}
	for _, l := range likes {
		i, ok := index[l.CommentID]
		switch {
		case !ok:
			return fmt.Errorf("commentsvc: bulk insert: like of comment %d, which is not in this call", l.CommentID)
		case !idgen.Valid(l.UserID):
			return fmt.Errorf("commentsvc: bulk insert: like of comment %d by invalid user %d", l.CommentID, l.UserID)
		case !everVisible(rows[i].State):
			return fmt.Errorf("commentsvc: bulk insert: like of comment %d, which was never visible", l.CommentID)
		case l.CreatedAt < rows[i].CreatedAt:
			return fmt.Errorf("commentsvc: bulk insert: like of comment %d is older than the comment", l.CommentID)
		}
		r := &rows[i]
		r.LikeCount++
		r.Version++
		r.updatedAt = max(r.updatedAt, l.CreatedAt)
	}
	for i := range rows {
		rows[i].Hot = HotScore(rows[i].LikeCount, rows[i].ReplyCount, rows[i].CreatedAt)
	}

	// Inserts in key order: along the primary keys, and subject rows in one
	// order everywhere.
	byID := make([]*bulkRow, len(rows))
	for i := range rows {
		byID[i] = &rows[i]
	}
	slices.SortFunc(byID, func(a, b *bulkRow) int { return cmp.Compare(a.ID, b.ID) })
	subs := make([]*bulkSubject, 0, len(subjects))
	for _, sub := range subjects {
		subs = append(subs, sub)
	}
	slices.SortFunc(subs, func(a, b *bulkSubject) int { return cmp.Compare(a.VideoID, b.VideoID) })
	likes = slices.Clone(likes)
	slices.SortFunc(likes, func(a, b CommentLike) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.CommentID, b.CommentID))
	})

	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := insertChunks(ctx, tx, `INSERT INTO comment_subject
			(video_id, owner_id, top_floor, root_count, comment_count, pinned_id, updated_at) VALUES `, 7, subs,
			func(s *bulkSubject, args []any) []any {
				return append(args, s.VideoID, s.OwnerID, s.TopFloor, s.RootCount, s.CommentCount, 0, s.updatedAt)
			}); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, `INSERT INTO comment_index (id, video_id, user_id, root_id, parent_id, floor, state,
			like_count, reply_count, reply_floor, hot, version, created_at, updated_at) VALUES `, 14, byID,
			func(r *bulkRow, args []any) []any {
				return append(args, r.ID, r.VideoID, r.UserID, r.RootID, r.ParentID, r.Floor, r.State,
					r.LikeCount, r.ReplyCount, r.replyFloor, r.Hot, r.Version, r.CreatedAt, r.updatedAt)
			}); err != nil {
			return err
		}
		if err := insertChunks(ctx, tx, `INSERT INTO comment_content (comment_id, content, created_at) VALUES `, 3, byID,
			func(r *bulkRow, args []any) []any { return append(args, r.ID, r.Content, r.CreatedAt) }); err != nil {
			return err
		}
		return insertChunks(ctx, tx, `INSERT INTO comment_likes (user_id, comment_id, created_at) VALUES `, 3, likes,
			func(l CommentLike, args []any) []any { return append(args, l.UserID, l.CommentID, l.CreatedAt) })
	})
}

// everVisible reports whether a comment in final state st was visible once,
// and so could be answered and liked: a deleted comment was; a held or
// rejected one never was.
func everVisible(st comment.CommentState) bool {
	return st == comment.CommentState_Visible || st == comment.CommentState_Deleted
}

// insertChunks inserts items with multi-row INSERTs of at most
// bulkRowsPerStatement rows each; values appends an item's cols values. The
// full-size statement is prepared once: parsing it again for every chunk cost
// a tenth of a SQLite load's CPU.
func insertChunks[T any](ctx context.Context, tx *sql.Tx, insert string, cols int, items []T, values func(T, []any) []any) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(len(items), bulkRowsPerStatement)*cols)
	for start := 0; start < len(items); start += bulkRowsPerStatement {
		chunk := items[start:min(start+bulkRowsPerStatement, len(items))]
		args = args[:0]
		for _, it := range chunk {
			args = values(it, args)
		}
		var err error
		switch {
		case len(chunk) < bulkRowsPerStatement:
			_, err = tx.ExecContext(ctx, insert+rowsOf(len(chunk), cols), args...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, insert+rowsOf(len(chunk), cols)); err == nil {
				_, err = full.ExecContext(ctx, args...)
			}
		default:
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Empty reports whether the store holds no comment, so that a bulk load can
// refuse to mix its data into a database in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM comment_index LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
