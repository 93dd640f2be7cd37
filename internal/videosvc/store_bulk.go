package videosvc

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// bulkRowsPerStatement bounds the rows of one multi-row INSERT, so a statement
// stays far below SQLite's 32,766 bound variables and MySQL's 65,535 placeholders
// whatever batch the caller passes.
const bulkRowsPerStatement = 500

// BulkCreate inserts videos and their authors' work counts in one transaction, for
// the dataset seeder: multi-row INSERTs instead of a transaction per video.
//
// work_count stays exact as in Create: the rows and the count changes commit
// together. The changes are summed per author in memory and applied as relative
// upserts (work_count = work_count + n) in ascending author order, so a bulk load
// may run beside live publishes. No SubjectPublished event is recorded, whatever
// the store was built with: these are historical videos, and a loader rebuilds
// what depends on them (feed inboxes) itself. Any error writes nothing. Callers
// pass batches of a few hundred to a few thousand videos: one transaction per call.
func (s *SQLStore) BulkCreate(ctx context.Context, videos []*Video) error {
	if len(videos) == 0 {
		return nil
	}
	works := make(map[int64]int64)
	for _, v := range videos {
		works[v.AuthorID]++
	}
	authors := make([]int64, 0, len(works))
	for a := range works {
		authors = append(authors, a)
	}
	slices.Sort(authors)
	upsert := ` ON CONFLICT (user_id) DO UPDATE SET work_count = work_count + excluded.work_count`
	if s.db.Dialect == db.MySQL {
		upsert = ` ON DUPLICATE KEY UPDATE work_count = work_count + VALUES(work_count)`
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(videos); start += bulkRowsPerStatement {
			chunk := videos[start:min(start+bulkRowsPerStatement, len(videos))]
			args := make([]any, 0, len(chunk)*6)
			for _, v := range chunk {
				args = append(args, v.ID, v.AuthorID, v.Title, v.PlayKey, v.CoverKey, v.CreateTime)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO videos (`+videoColumns+`) VALUES `+rowsOf(len(chunk), 6), args...); err != nil {
				return fmt.Errorf("videosvc: bulk insert videos: %w", err)
			}
		}
		for start := 0; start < len(authors); start += bulkRowsPerStatement {
			chunk := authors[start:min(start+bulkRowsPerStatement, len(authors))]
			args := make([]any, 0, len(chunk)*2)
			for _, a := range chunk {
				args = append(args, a, works[a])
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO video_work_counts (user_id, work_count) VALUES `+rowsOf(len(chunk), 2)+upsert,
				args...); err != nil {
				return fmt.Errorf("videosvc: bulk work counts: %w", err)
			}
		}
		return nil
	})
}

// BulkFillInboxes inserts inbox entries and their inboxes' sizes in one
// transaction, for the dataset seeder, which computes whole inboxes at once (the
// newest videos of each user's push-mode followees) instead of replaying a
// fan-out per video.
//
// Unlike AddToInboxes it neither looks for entries already there nor trims: the
// entries must be new and distinct (a repeated or existing entry fails the whole
// call, and nothing is written), and the caller keeps every inbox within the
// bound the live fan-out keeps. video_inbox_sizes stays exact as in
// AddToInboxes: the added rows are summed per user and applied as relative
// upserts in ascending user order, so a user whose entries span two calls counts
// right, and a later AddToInboxes trims from the true size. Entries sorted by
// (user, video) insert along the primary key, which is what makes a load of
// millions fast. One transaction per call: pass a few thousand entries.
func (s *SQLStore) BulkFillInboxes(ctx context.Context, entries []InboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	sizes := make(map[int64]int64)
	for _, e := range entries {
		sizes[e.UserID]++
	}
	users := make([]int64, 0, len(sizes))
	for u := range sizes {
		users = append(users, u)
	}
	slices.Sort(users)
	upsert := ` ON CONFLICT (user_id) DO UPDATE SET size = size + excluded.size`
	if s.db.Dialect == db.MySQL {
		upsert = ` ON DUPLICATE KEY UPDATE size = size + VALUES(size)`
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(entries); start += bulkRowsPerStatement {
			chunk := entries[start:min(start+bulkRowsPerStatement, len(entries))]
			args := make([]any, 0, len(chunk)*3)
			for _, e := range chunk {
				args = append(args, e.UserID, e.VideoID, e.CreateTime)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO video_inbox (user_id, video_id, create_time) VALUES `+rowsOf(len(chunk), 3), args...); err != nil {
				return fmt.Errorf("videosvc: bulk insert inbox entries: %w", err)
			}
		}
		for start := 0; start < len(users); start += bulkRowsPerStatement {
			chunk := users[start:min(start+bulkRowsPerStatement, len(users))]
			args := make([]any, 0, len(chunk)*2)
			for _, u := range chunk {
				args = append(args, u, sizes[u])
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO video_inbox_sizes (user_id, size) VALUES `+rowsOf(len(chunk), 2)+upsert, args...); err != nil {
				return fmt.Errorf("videosvc: bulk inbox sizes: %w", err)
			}
		}
		return nil
	})
}

// Empty reports whether the store holds no video, so that a bulk load can refuse
// to mix its data into a database in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM videos LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
