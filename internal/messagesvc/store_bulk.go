package messagesvc

import (
	"cmp"
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

// BulkInsert writes historical messages and moves their conversations' newest-message
// pointers in one transaction, for the dataset seeder: multi-row INSERTs instead of
// a transaction per message.
//
// Unlike Insert, it keeps each message's CreateTime as given: the caller owns the
// times, and must not give two messages of one conversation the same one (checked:
// the call fails and writes nothing). Each conversation's pointer moves to its
// newest message of the batch only if that is newer than the one it has, so Latest
// agrees with History however batches are split or ordered. The pointer rows are
// written in ascending (user_lo, user_hi) order, so a bulk load may run beside live
// sends. Callers pass batches of a few hundred to a few thousand messages: one
// transaction per call.
func (s *SQLStore) BulkInsert(ctx context.Context, msgs []*Message) error {
	if len(msgs) == 0 {
		return nil
	}
	type pair struct{ lo, hi int64 }
	type newest struct{ time, id int64 }
	last := make(map[pair]newest)
	seen := make(map[pair]map[int64]bool)
	for _, m := range msgs {
		lo, hi := conversation(m.FromUserID, m.ToUserID)
		p := pair{lo, hi}
		if seen[p] == nil {
			seen[p] = make(map[int64]bool)
		}
		if seen[p][m.CreateTime] {
			return fmt.Errorf("messagesvc: bulk insert: two messages between %d and %d at %d ms", lo, hi, m.CreateTime)
		}
		seen[p][m.CreateTime] = true
		if n, ok := last[p]; !ok || m.CreateTime > n.time {
			last[p] = newest{m.CreateTime, m.ID}
		}
	}
	pairs := make([]pair, 0, len(last))
	for p := range last {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.hi, b.hi)) })

	upsert := ` ON CONFLICT (user_lo, user_hi) DO UPDATE SET
		last_id = CASE WHEN excluded.last_time > last_time THEN excluded.last_id ELSE last_id END,
		last_time = MAX(last_time, excluded.last_time)`
	if s.db.Dialect == db.MySQL {
		// MySQL assigns left to right, so last_id is decided on the old last_time.
		upsert = ` ON DUPLICATE KEY UPDATE
		last_id = IF(VALUES(last_time) > last_time, VALUES(last_id), last_id),
		last_time = GREATEST(last_time, VALUES(last_time))`
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(pairs); start += bulkRowsPerStatement {
			chunk := pairs[start:min(start+bulkRowsPerStatement, len(pairs))]
			args := make([]any, 0, len(chunk)*4)
			for _, p := range chunk {
				args = append(args, p.lo, p.hi, last[p].time, last[p].id)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO message_conversations (user_lo, user_hi, last_time, last_id) VALUES `+rowsOf(len(chunk), 4)+upsert,
				args...); err != nil {
				return err
			}
		}
		for start := 0; start < len(msgs); start += bulkRowsPerStatement {
			chunk := msgs[start:min(start+bulkRowsPerStatement, len(msgs))]
			args := make([]any, 0, len(chunk)*7)
			for _, m := range chunk {
				lo, hi := conversation(m.FromUserID, m.ToUserID)
				args = append(args, m.ID, lo, hi, m.FromUserID, m.ToUserID, m.Content, m.CreateTime)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO message_messages (id, user_lo, user_hi, from_user_id, to_user_id, content, create_time) VALUES `+
					rowsOf(len(chunk), 7), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Empty reports whether the store holds no message, so that a bulk load can refuse
// to mix its data into a database in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM message_messages LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
