package videosvc

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// InboxEntry is one video in one user's inbox.
type InboxEntry struct {
	UserID     int64
	VideoID    int64
	CreateTime int64 // the video's, epoch ms
}

// InboxStore keeps the push half of the following timeline: per-user inboxes of
// the videos of the authors they follow, and the video listings the pull half
// merges in at read time. SQLStore implements it.
type InboxStore interface {
	// AddToInboxes inserts the entries that are not there yet and then trims every
	// touched inbox that grew past keep plus a slack of keep/8 back to its newest
	// keep entries, all in one transaction. It reports how many entries it
	// inserted; adding the same entries again inserts none.
	AddToInboxes(ctx context.Context, entries []InboxEntry, keep int) (int, error)
	// RemoveAuthorFromInbox deletes the author's videos from the user's inbox and
	// reports how many it deleted.
	RemoveAuthorFromInbox(ctx context.Context, userID, authorID int64) (int, error)
	// Inbox returns up to limit videos of the user's inbox older than before and
	// created no earlier than since (epoch ms; 0 for no bound), newest first.
	Inbox(ctx context.Context, userID int64, before Position, since int64, limit int) ([]*Video, error)
	// ByAuthors returns up to limit videos of the authors older than before and
	// created no earlier than since, newest first.
	ByAuthors(ctx context.Context, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error)
	// Timeline returns up to limit videos of the user's inbox and of the authors
	// older than before and created no earlier than since, newest first, each
	// once: Inbox and ByAuthors merged.
	Timeline(ctx context.Context, userID int64, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error)
	// InboxSize returns how many entries the user's inbox holds.
	InboxSize(ctx context.Context, userID int64) (int, error)
}

var _ InboxStore = (*SQLStore)(nil)

// inboxRowsPerStatement bounds the rows (and so the placeholders) of one
// multi-row statement, far below SQLite's and MySQL's limits.
const inboxRowsPerStatement = 500

// inboxSlack is how far past keep an inbox may grow before it is trimmed: trimming
// costs a read and a delete, so it runs once per keep/8 inserts into a full inbox
// rather than on every one.
func inboxSlack(keep int) int { return max(1, keep/8) }

func (s *SQLStore) AddToInboxes(ctx context.Context, entries []InboxEntry, keep int) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	// Sorted by key so that concurrent fan-outs lock rows in one order (the same
	// order walks each index in one direction), and each entry once: MySQL's
	// insert below would fail on a repeated one.
	entries = slices.Clone(entries)
	slices.SortFunc(entries, compareInboxKeys)
	entries = slices.CompactFunc(entries, func(a, b InboxEntry) bool { return compareInboxKeys(a, b) == 0 })
	added := 0
	// Each attempt reads what is there afresh, so a deadlock victim (MySQL:
	// concurrent fan-outs share size rows, and gap locks can still cross) is
	// simply run again instead of waiting for the event's redelivery.
	err := s.db.InTxRetry(ctx, func(tx *sql.Tx) error {
		added = 0
		fresh, err := s.insertMissing(ctx, tx, entries)
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		added = len(fresh)
		// fresh is sorted by user, so each user's count is one run of it.
		var grownUsers []int64
		var grownBy []int64
		for _, e := range fresh {
			if n := len(grownUsers); n > 0 && grownUsers[n-1] == e.UserID {
				grownBy[n-1]++
				continue
			}
			grownUsers = append(grownUsers, e.UserID)
			grownBy = append(grownBy, 1)
		}
		upsert := ` ON CONFLICT (user_id) DO UPDATE SET size = size + excluded.size`
		if s.db.Dialect == db.MySQL {
			upsert = ` ON DUPLICATE KEY UPDATE size = size + VALUES(size)`
		}
		for lo := 0; lo < len(grownUsers); lo += inboxRowsPerStatement {
			hi := min(lo+inboxRowsPerStatement, len(grownUsers))
			args := make([]any, 0, 2*(hi-lo))
			for i := lo; i < hi; i++ {
				args = append(args, grownUsers[i], grownBy[i])
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO video_inbox_sizes (user_id, size) VALUES (?,?)`+
				strings.Repeat(",(?,?)", hi-lo-1)+upsert, args...); err != nil {
				return fmt.Errorf("videosvc: inbox sizes: %w", err)
			}
		}
		return s.trim(ctx, tx, grownUsers, keep)
	})
	return added, err
}

// compareInboxKeys orders inbox entries by (user, video), the primary key.
func compareInboxKeys(a, b InboxEntry) int {
	return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.VideoID, b.VideoID))
}

// insertMissing inserts the entries (sorted by key, distinct) that are not in the
// inboxes yet and returns them, in key order.
//
// On SQLite one statement per chunk does both: ON CONFLICT DO NOTHING skips the
// entries already there and RETURNING names the rows it inserted. MySQL has no
// RETURNING, and INSERT IGNORE cannot tell which rows it skipped, so there the
// present entries are read first (a primary-key lookup each) and only the others
// are inserted.
func (s *SQLStore) insertMissing(ctx context.Context, tx *sql.Tx, entries []InboxEntry) ([]InboxEntry, error) {
	if s.db.Dialect == db.SQLite {
		fresh := make([]InboxEntry, 0, len(entries))
		for c := range slices.Chunk(entries, inboxRowsPerStatement) {
			args := make([]any, 0, 3*len(c))
			for _, e := range c {
				args = append(args, e.UserID, e.VideoID, e.CreateTime)
			}
			rows, err := tx.QueryContext(ctx, `INSERT INTO video_inbox (user_id, video_id, create_time) VALUES (?,?,?)`+
				strings.Repeat(",(?,?,?)", len(c)-1)+` ON CONFLICT (user_id, video_id) DO NOTHING RETURNING user_id, video_id, create_time`, args...)
			if err != nil {
				return nil, fmt.Errorf("videosvc: insert inbox entries: %w", err)
			}
			for rows.Next() {
				var e InboxEntry
				if err := rows.Scan(&e.UserID, &e.VideoID, &e.CreateTime); err != nil {
					rows.Close()
					return nil, err
				}
				fresh = append(fresh, e)
			}
			if err := rows.Close(); err != nil {
				return nil, fmt.Errorf("videosvc: insert inbox entries: %w", err)
			}
		}
		// RETURNING promises no order.
		slices.SortFunc(fresh, compareInboxKeys)
		return fresh, nil
	}

	type key struct{ user, video int64 }
	present := map[key]bool{}
	// Callers add one video to many inboxes or many videos to one, so the cross
	// product of the two id sets stays the size of the batch.
	users, videos := distinct(entries, func(e InboxEntry) int64 { return e.UserID }), distinct(entries, func(e InboxEntry) int64 { return e.VideoID })
	for uc := range slices.Chunk(users, inboxRowsPerStatement) {
		for vc := range slices.Chunk(videos, inboxRowsPerStatement) {
			rows, err := tx.QueryContext(ctx, `SELECT user_id, video_id FROM video_inbox WHERE user_id IN (?`+strings.Repeat(",?", len(uc)-1)+
				`) AND video_id IN (?`+strings.Repeat(",?", len(vc)-1)+`)`, append(db.Int64Args(uc), db.Int64Args(vc)...)...)
			if err != nil {
				return nil, fmt.Errorf("videosvc: read inbox entries: %w", err)
			}
			for rows.Next() {
				var k key
				if err := rows.Scan(&k.user, &k.video); err != nil {
					rows.Close()
					return nil, err
				}
				present[k] = true
			}
			if err := rows.Close(); err != nil {
				return nil, err
			}
		}
	}
	var fresh []InboxEntry
	for _, e := range entries {
		if !present[key{e.UserID, e.VideoID}] {
			fresh = append(fresh, e)
		}
	}
	for c := range slices.Chunk(fresh, inboxRowsPerStatement) {
		args := make([]any, 0, 3*len(c))
		for _, e := range c {
			args = append(args, e.UserID, e.VideoID, e.CreateTime)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO video_inbox (user_id, video_id, create_time) VALUES (?,?,?)`+
			strings.Repeat(",(?,?,?)", len(c)-1), args...); err != nil {
			return nil, fmt.Errorf("videosvc: insert inbox entries: %w", err)
		}
	}
	return fresh, nil
}

// trim cuts the inboxes among users that outgrew keep plus the slack back to
// their newest keep entries.
func (s *SQLStore) trim(ctx context.Context, tx *sql.Tx, users []int64, keep int) error {
	var over []int64
	for c := range slices.Chunk(users, inboxRowsPerStatement) {
		args := append(db.Int64Args(c), keep+inboxSlack(keep))
		rows, err := tx.QueryContext(ctx, `SELECT user_id FROM video_inbox_sizes WHERE user_id IN (?`+
			strings.Repeat(",?", len(c)-1)+`) AND size > ?`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			over = append(over, u)
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	for _, u := range over {
		var t, id int64
		err := tx.QueryRowContext(ctx, `SELECT create_time, video_id FROM video_inbox WHERE user_id = ?
			ORDER BY create_time DESC, video_id DESC LIMIT 1 OFFSET ?`, u, keep-1).Scan(&t, &id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("videosvc: inbox bound: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM video_inbox WHERE user_id = ? AND create_time <= ? AND (create_time < ? OR video_id < ?)`, u, t, t, id)
		if err != nil {
			return fmt.Errorf("videosvc: trim inbox: %w", err)
		}
		if err := s.shrink(ctx, tx, u, res); err != nil {
			return err
		}
	}
	return nil
}

// shrink lowers the user's inbox size by the rows res deleted.
func (s *SQLStore) shrink(ctx context.Context, tx *sql.Tx, user int64, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE video_inbox_sizes SET size = size - ? WHERE user_id = ?`, n, user)
	return err
}

func (s *SQLStore) RemoveAuthorFromInbox(ctx context.Context, userID, authorID int64) (int, error) {
	removed := 0
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		removed = 0
		// The inbox is bounded, so reading the user's entries of this author
		// through the join costs at most the inbox, however prolific the author.
		rows, err := tx.QueryContext(ctx, `SELECT i.video_id FROM video_inbox i JOIN videos v ON v.id = i.video_id
			WHERE i.user_id = ? AND v.author_id = ?`, userID, authorID)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for c := range slices.Chunk(ids, inboxRowsPerStatement) {
			res, err := tx.ExecContext(ctx, `DELETE FROM video_inbox WHERE user_id = ? AND video_id IN (?`+strings.Repeat(",?", len(c)-1)+`)`,
				append([]any{userID}, db.Int64Args(c)...)...)
			if err != nil {
				return fmt.Errorf("videosvc: remove inbox entries: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			removed += int(n)
			if err := s.shrink(ctx, tx, userID, res); err != nil {
				return err
			}
		}
		return nil
	})
	return removed, err
}

func (s *SQLStore) Inbox(ctx context.Context, userID int64, before Position, since int64, limit int) ([]*Video, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reads.Query(ctx,
		`SELECT v.id, v.author_id, v.title, v.play_key, v.cover_key, v.create_time
		 FROM video_inbox i JOIN videos v ON v.id = i.video_id
		 WHERE i.user_id = ? AND i.create_time >= ? AND i.create_time <= ? AND (i.create_time < ? OR i.video_id < ?)
		 ORDER BY i.create_time DESC, i.video_id DESC`+s.reads.Limit(limit),
		userID, since, before.Time, before.Time, before.ID)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows, limit)
}

// timelineBranches bounds the branches of one timeline statement: the inbox and
// each author is a branch of a UNION (SQLite allows 500).
const timelineBranches = 64

func (s *SQLStore) ByAuthors(ctx context.Context, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error) {
	return s.newest(ctx, 0, authorIDs, before, since, limit)
}

func (s *SQLStore) Timeline(ctx context.Context, userID int64, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error) {
	return s.newest(ctx, userID, authorIDs, before, since, limit)
}

// newest is Timeline; a user of 0 reads no inbox. Each branch of its statement
// reads the newest positions of one source through that source's own index range
// (the inbox's (user_id, create_time, video_id), an author's (author_id,
// create_time, id)), at most limit of them; only the newest limit of them all
// are then read as videos. An IN list over the authors would read every video
// they published in the range and sort them all for the few a page shows, which
// grows with the authors: the ones merged at read time have the most followers,
// and often the most videos too. The UNION lists a video in the inbox and among
// the authors' (an author who crossed the pull threshold) once.
//
// A statement takes up to timelineBranches branches; on SQLite the authors are
// padded with id 0, which no video has, to a count of at most 8 or a power of
// two, so the statements' shapes stay few.
func (s *SQLStore) newest(ctx context.Context, userID int64, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error) {
	if limit <= 0 || (userID == 0 && len(authorIDs) == 0) {
		return nil, nil
	}
	authorIDs = slices.Compact(slices.Sorted(slices.Values(authorIDs)))
	perStatement := timelineBranches
	if userID != 0 {
		perStatement--
	}
	var chunks [][]int64
	for c := range slices.Chunk(authorIDs, perStatement) {
		chunks = append(chunks, c)
	}
	if len(chunks) == 0 {
		chunks = [][]int64{nil}
	}
	lim := s.reads.Limit(limit)
	var out []*Video
	for i, chunk := range chunks {
		inbox := int64(0)
		if i == 0 {
			inbox = userID
		}
		n := len(chunk)
		if s.db.Dialect == db.SQLite && n > 8 {
			n = 1 << bits.Len(uint(n-1))
		}
		var q strings.Builder
		q.WriteString(`SELECT v.id, v.author_id, v.title, v.play_key, v.cover_key, v.create_time FROM (`)
		args := make([]any, 0, (n+1)*5)
		branch := func(sql string, args2 ...any) {
			if len(args) > 0 {
				q.WriteString(" UNION ")
			}
			fmt.Fprintf(&q, sql, lim, len(args))
			args = append(args, args2...)
		}
		if inbox != 0 {
			branch(`SELECT id, create_time FROM (SELECT video_id AS id, create_time FROM video_inbox
				WHERE user_id = ? AND create_time >= ? AND create_time <= ? AND (create_time < ? OR video_id < ?)
				ORDER BY create_time DESC, video_id DESC%s) b%d`, inbox, since, before.Time, before.Time, before.ID)
		}
		for j := range n {
			author := int64(0)
			if j < len(chunk) {
				author = chunk[j]
			}
			branch(`SELECT id, create_time FROM (SELECT id, create_time FROM videos
				WHERE author_id = ? AND create_time >= ? AND create_time <= ? AND (create_time < ? OR id < ?)
				ORDER BY create_time DESC, id DESC%s) b%d`, author, since, before.Time, before.Time, before.ID)
		}
		q.WriteString(` ORDER BY create_time DESC, id DESC` + lim + `) t JOIN videos v ON v.id = t.id
			ORDER BY t.create_time DESC, t.id DESC`)
		rows, err := s.reads.Query(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		vs, err := scanVideos(rows, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	if len(chunks) > 1 {
		out = newestOnce(out, limit)
	}
	return out, nil
}

// newestOnce returns the newest limit of vs, newest first (create time, then
// id, descending) and each video once: listings of several sources merged.
func newestOnce(vs []*Video, limit int) []*Video {
	slices.SortFunc(vs, func(a, b *Video) int {
		if c := cmp.Compare(b.CreateTime, a.CreateTime); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	vs = slices.CompactFunc(vs, func(a, b *Video) bool { return a.ID == b.ID })
	return vs[:min(len(vs), limit)]
}

func (s *SQLStore) InboxSize(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM video_inbox WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}

// distinct returns the distinct values of key over entries, ascending.
func distinct(entries []InboxEntry, key func(InboxEntry) int64) []int64 {
	out := make([]int64, 0, len(entries))
	for _, e := range entries {
		out = append(out, key(e))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
