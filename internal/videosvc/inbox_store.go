package videosvc

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	type key struct{ user, video int64 }
	want := make(map[key]InboxEntry, len(entries))
	for _, e := range entries {
		want[key{e.UserID, e.VideoID}] = e
	}
	added := 0
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		added = 0
		users, videos := distinct(entries, func(e InboxEntry) int64 { return e.UserID }), distinct(entries, func(e InboxEntry) int64 { return e.VideoID })
		// Callers add one video to many inboxes or many videos to one, so the
		// cross product of the two id sets stays the size of the batch.
		present := map[key]bool{}
		for uc := range slices.Chunk(users, inboxRowsPerStatement) {
			for vc := range slices.Chunk(videos, inboxRowsPerStatement) {
				rows, err := tx.QueryContext(ctx, `SELECT user_id, video_id FROM video_inbox WHERE user_id IN (?`+strings.Repeat(",?", len(uc)-1)+
					`) AND video_id IN (?`+strings.Repeat(",?", len(vc)-1)+`)`, append(db.Int64Args(uc), db.Int64Args(vc)...)...)
				if err != nil {
					return fmt.Errorf("videosvc: read inbox entries: %w", err)
				}
				for rows.Next() {
					var k key
					if err := rows.Scan(&k.user, &k.video); err != nil {
						rows.Close()
						return err
					}
					present[k] = true
				}
				if err := rows.Close(); err != nil {
					return err
				}
			}
		}
		var fresh []InboxEntry
		grown := map[int64]int64{}
		for k, e := range want {
			if !present[k] {
				fresh = append(fresh, e)
				grown[k.user]++
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		// Sorted by key so that concurrent fan-outs lock rows in one order.
		slices.SortFunc(fresh, func(a, b InboxEntry) int {
			if a.UserID != b.UserID {
				return cmp.Compare(a.UserID, b.UserID)
			}
			return cmp.Compare(a.VideoID, b.VideoID)
		})
		for c := range slices.Chunk(fresh, inboxRowsPerStatement) {
			args := make([]any, 0, 3*len(c))
			for _, e := range c {
				args = append(args, e.UserID, e.VideoID, e.CreateTime)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO video_inbox (user_id, video_id, create_time) VALUES (?,?,?)`+
				strings.Repeat(",(?,?,?)", len(c)-1), args...); err != nil {
				return fmt.Errorf("videosvc: insert inbox entries: %w", err)
			}
		}
		added = len(fresh)
		grownUsers := make([]int64, 0, len(grown))
		for u := range grown {
			grownUsers = append(grownUsers, u)
		}
		slices.Sort(grownUsers)
		upsert := ` ON CONFLICT (user_id) DO UPDATE SET size = size + excluded.size`
		if s.db.Dialect == db.MySQL {
			upsert = ` ON DUPLICATE KEY UPDATE size = size + VALUES(size)`
		}
		for c := range slices.Chunk(grownUsers, inboxRowsPerStatement) {
			args := make([]any, 0, 2*len(c))
			for _, u := range c {
				args = append(args, u, grown[u])
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO video_inbox_sizes (user_id, size) VALUES (?,?)`+
				strings.Repeat(",(?,?)", len(c)-1)+upsert, args...); err != nil {
				return fmt.Errorf("videosvc: inbox sizes: %w", err)
			}
		}
		return s.trim(ctx, tx, grownUsers, keep)
	})
	return added, err
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
	rows, err := s.db.QueryContext(ctx,
		`SELECT v.id, v.author_id, v.title, v.play_key, v.cover_key, v.create_time
		 FROM video_inbox i JOIN videos v ON v.id = i.video_id
		 WHERE i.user_id = ? AND i.create_time >= ? AND i.create_time <= ? AND (i.create_time < ? OR i.video_id < ?)
		 ORDER BY i.create_time DESC, i.video_id DESC LIMIT ?`,
		userID, since, before.Time, before.Time, before.ID, limit)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows)
}

func (s *SQLStore) ByAuthors(ctx context.Context, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error) {
	if len(authorIDs) == 0 {
		return nil, nil
	}
	args := append(db.Int64Args(authorIDs), since, before.Time, before.Time, before.ID, limit)
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+videoColumns+` FROM videos
		 WHERE author_id IN (?`+strings.Repeat(",?", len(authorIDs)-1)+`)
		   AND create_time >= ? AND create_time <= ? AND (create_time < ? OR id < ?)
		 ORDER BY create_time DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return scanVideos(rows)
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
