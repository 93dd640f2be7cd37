package relationsvc

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// bulkRowsPerStatement bounds the rows of one multi-row INSERT, so a statement
// stays far below SQLite's 32,766 bound variables and MySQL's 65,535 placeholders
// whatever batch the caller passes.
const bulkRowsPerStatement = 500

// BulkFollow inserts follow edges and their counts in one transaction, for the
// dataset seeder: multi-row INSERTs instead of a transaction per edge.
//
// Counts stay exact the same way as in Follow: the edges and the count changes they
// cause commit together. The changes are summed per user in memory and applied as
// relative upserts (count = count + n), in ascending user id order like addCounts,
// so a bulk load may run beside live follows. The edges must be new and distinct: a
// repeated or existing edge fails the whole call (the primary key refuses it) and
// nothing is written; InsertIgnore would have to count what it skipped. No outbox
// events are recorded, whatever the store was built with: a loader writes history
// and rebuilds whatever depends on it (feed inboxes) itself. Callers pass batches
// of a few hundred to a few thousand edges: one transaction per call.
func (s *SQLStore) BulkFollow(ctx context.Context, edges []Change) error {
	if len(edges) == 0 {
		return nil
	}
	type counts struct{ follow, followers int64 }
	deltas := make(map[int64]*counts)
	add := func(user int64) *counts {
		c := deltas[user]
		if c == nil {
			c = &counts{}
			deltas[user] = c
		}
		return c
	}
	for _, e := range edges {
		add(e.FollowerID).follow++
		add(e.FolloweeID).followers++
	}
	users := make([]int64, 0, len(deltas))
	for u := range deltas {
		users = append(users, u)
	}
	slices.Sort(users)

	return s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(edges); start += bulkRowsPerStatement {
			chunk := edges[start:min(start+bulkRowsPerStatement, len(edges))]
			args := make([]any, 0, len(chunk)*3)
			for _, e := range chunk {
				args = append(args, e.FollowerID, e.FolloweeID, e.At)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO relation_follows (follower_id, followee_id, created_at) VALUES `+rowsOf(len(chunk), 3),
				args...); err != nil {
				return err
			}
		}
		for start := 0; start < len(users); start += bulkRowsPerStatement {
			chunk := users[start:min(start+bulkRowsPerStatement, len(users))]
			args := make([]any, 0, len(chunk)*3)
			for _, u := range chunk {
				args = append(args, u, deltas[u].follow, deltas[u].followers)
			}
			if _, err := tx.ExecContext(ctx, s.bulkUpsertCounts(len(chunk)), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// bulkUpsertCounts is upsertCounts for n rows at once.
func (s *SQLStore) bulkUpsertCounts(n int) string {
	head := `INSERT INTO relation_counts (user_id, follow_count, follower_count) VALUES ` + rowsOf(n, 3)
	if s.db.Dialect == db.MySQL {
		return head + ` ON DUPLICATE KEY UPDATE follow_count = follow_count + VALUES(follow_count),
			follower_count = follower_count + VALUES(follower_count)`
	}
	return head + ` ON CONFLICT (user_id) DO UPDATE SET follow_count = follow_count + excluded.follow_count,
		follower_count = follower_count + excluded.follower_count`
}

// Empty reports whether the store holds no follow, so that a bulk load can refuse
// to mix its data into a graph in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM relation_follows LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
