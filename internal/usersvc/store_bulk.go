package usersvc

import (
	"context"
	"database/sql"
	"strings"
)

// bulkRowsPerStatement bounds the rows of one multi-row INSERT, so a statement
// stays far below SQLite's 32,766 bound variables and MySQL's 65,535 placeholders
// whatever batch the caller passes.
const bulkRowsPerStatement = 500

// BulkCreate inserts accounts in one transaction, with multi-row INSERTs: the
// dataset seeder writes a million accounts this way in seconds, where Create would
// pay a transaction per account. Either every account is inserted or, on any error
// (a taken name included, reported as the driver's error, not ErrNameTaken), none
// is. Accounts have no count rows, so nothing else changes. Callers pass batches of
// a few hundred to a few thousand accounts: one transaction per call.
func (s *SQLStore) BulkCreate(ctx context.Context, accounts []*Account) error {
	if len(accounts) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(accounts); start += bulkRowsPerStatement {
			chunk := accounts[start:min(start+bulkRowsPerStatement, len(accounts))]
			args := make([]any, 0, len(chunk)*8)
			for _, a := range chunk {
				args = append(args, a.ID, a.Name, a.NameKey, a.PasswordHash, a.Avatar, a.BackgroundImage, a.Signature, a.CreatedAt)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO users (id, name, name_key, password_hash, avatar, background_image, signature, created_at) VALUES `+
					rowsOf(len(chunk), 8), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Empty reports whether the store holds no account, so that a bulk load can refuse
// to mix its data into a database in use.
func (s *SQLStore) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) t`).Scan(&n)
	return n == 0, err
}

// rowsOf returns n parenthesised groups of cols placeholders, for a multi-row
// VALUES list.
func rowsOf(n, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}
