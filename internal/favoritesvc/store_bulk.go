package favoritesvc

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

// BulkLike inserts like facts and their counts in one transaction, for the dataset
// seeder: multi-row INSERTs instead of a transaction per like.
//
// The counts stay exact the same way as in Like: facts and count changes commit
// together. The changes (per video: likes; per user: likes given and received) are
// summed in memory and applied as relative upserts (count = count + n) in
// ascending key order, so a bulk load may run beside live likes. The likes must be
// new and distinct: a repeated or existing (user, video) fails the whole call (the
// primary key refuses it) and nothing is written. Callers pass batches of a few
// hundred to a few thousand likes: one transaction per call.
func (s *SQLStore) BulkLike(ctx context.Context, likes []Like) error {
	if len(likes) == 0 {
		return nil
	}
	perVideo := make(map[int64]int64)
	type userDelta struct{ given, received int64 }
	perUser := make(map[int64]*userDelta)
	user := func(id int64) *userDelta {
		d := perUser[id]
		if d == nil {
			d = &userDelta{}
			perUser[id] = d
		}
		return d
	}
	for _, l := range likes {
		perVideo[l.VideoID]++
		user(l.UserID).given++
		user(l.AuthorID).received++
	}
	videos := sortedKeys(perVideo)
	users := sortedKeys(perUser)

	videoUpsert, userUpsert := sqliteVideoUpsert, sqliteUserUpsert
	if s.db.Dialect == db.MySQL {
		videoUpsert, userUpsert = mysqlVideoUpsert, mysqlUserUpsert
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(likes); start += bulkRowsPerStatement {
			chunk := likes[start:min(start+bulkRowsPerStatement, len(likes))]
			args := make([]any, 0, len(chunk)*4)
			for _, l := range chunk {
				args = append(args, l.UserID, l.VideoID, l.AuthorID, l.CreatedAt)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO favorite_likes (user_id, video_id, author_id, created_at) VALUES `+rowsOf(len(chunk), 4),
				args...); err != nil {
				return err
			}
		}
		for start := 0; start < len(videos); start += bulkRowsPerStatement {
			chunk := videos[start:min(start+bulkRowsPerStatement, len(videos))]
			args := make([]any, 0, len(chunk)*2)
			for _, v := range chunk {
				args = append(args, v, perVideo[v])
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO favorite_video_counts (video_id, favorite_count) VALUES `+rowsOf(len(chunk), 2)+videoUpsert,
				args...); err != nil {
				return err
			}
		}
		for start := 0; start < len(users); start += bulkRowsPerStatement {
			chunk := users[start:min(start+bulkRowsPerStatement, len(users))]
			args := make([]any, 0, len(chunk)*3)
			for _, u := range chunk {
				args = append(args, u, perUser[u].given, perUser[u].received)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO favorite_user_counts (user_id, given, received) VALUES `+rowsOf(len(chunk), 3)+userUpsert,
				args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Empty reports whether the store holds no like, so that a bulk load can refuse to
// mix its data into a database in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM favorite_likes LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
