package messagesvc

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"strings"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the message service's schema migrations.
func Migrations() fs.FS { return db.MigrationsIn(migrationFiles) }

// SQLStore is the Store on SQLite or MySQL.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore migrates the schema and returns a store on it.
func NewSQLStore(ctx context.Context, d *db.DB) (*SQLStore, error) {
	if err := d.Migrate(ctx, "message", Migrations()); err != nil {
		return nil, err
	}
	return &SQLStore{db: d}, nil
}

var _ Store = (*SQLStore)(nil)

const messageColumns = `id, from_user_id, to_user_id, content, create_time`

// Insert writes the message and moves its conversation's newest-message pointer in
// one transaction, so Latest never disagrees with History.
//
// The conversation row is created, if missing, by a statement of its own before the
// transaction: creating it inside (INSERT IGNORE takes a shared lock on an existing
// row on MySQL, and the later write wants it exclusive) would let two sends
// deadlock. A row left behind by a send that then fails points at no message
// (last_id 0), which Latest ignores. Inside the transaction the first statement
// locks the row (FOR UPDATE on MySQL; on SQLite the transaction holds the database's
// write lock from BEGIN), so sends in one conversation take turns, and each reads
// the newest create_time that the previous turn committed.
func (s *SQLStore) Insert(ctx context.Context, m *Message) error {
	lo, hi := conversation(m.FromUserID, m.ToUserID)
	if _, err := s.db.ExecContext(ctx,
		s.db.InsertIgnore()+` INTO message_conversations (user_lo, user_hi, last_time, last_id) VALUES (?, ?, 0, 0)`,
		lo, hi); err != nil {
		return err
	}
	lock := ""
	if s.db.Dialect == db.MySQL {
		lock = " FOR UPDATE"
	}
	createTime := m.CreateTime
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx,
			`SELECT last_time FROM message_conversations WHERE user_lo = ? AND user_hi = ?`+lock, lo, hi).
			Scan(&last); err != nil {
			return err
		}
		createTime = max(m.CreateTime, last+1)
		if _, err := tx.ExecContext(ctx,
			`UPDATE message_conversations SET last_time = ?, last_id = ? WHERE user_lo = ? AND user_hi = ?`,
			createTime, m.ID, lo, hi); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO message_messages (id, user_lo, user_hi, from_user_id, to_user_id, content, create_time)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.ID, lo, hi, m.FromUserID, m.ToUserID, m.Content, createTime)
		return err
	})
	if err == nil {
		m.CreateTime = createTime
	}
	return err
}

// History reads the conversation index backwards from `before`. The condition is
// written as a plain range on create_time plus a tie-break, rather than a row-value
// comparison, so both engines seek the index to the cursor instead of scanning the
// newer messages.
func (s *SQLStore) History(ctx context.Context, a, b int64, before Position, limit int) ([]*Message, error) {
	lo, hi := conversation(a, b)
	return s.query(ctx,
		`SELECT `+messageColumns+` FROM message_messages
		 WHERE user_lo = ? AND user_hi = ? AND create_time <= ? AND (create_time < ? OR id < ?)
		 ORDER BY create_time DESC, id DESC LIMIT ?`,
		lo, hi, before.CreateTime, before.CreateTime, before.ID, limit)
}

// Incoming reads the conversation index forwards from `after`, keeping the
// messages sent by from.
func (s *SQLStore) Incoming(ctx context.Context, to, from int64, after Position, limit int) ([]*Message, error) {
	lo, hi := conversation(to, from)
	return s.query(ctx,
		`SELECT `+messageColumns+` FROM message_messages
		 WHERE user_lo = ? AND user_hi = ? AND create_time >= ? AND (create_time > ? OR id > ?) AND from_user_id = ?
		 ORDER BY create_time, id LIMIT ?`,
		lo, hi, after.CreateTime, after.CreateTime, after.ID, from, limit)
}

func (s *SQLStore) query(ctx context.Context, q string, args ...any) ([]*Message, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Message{}
	for rows.Next() {
		m := &Message{}
		if err := rows.Scan(&m.ID, &m.FromUserID, &m.ToUserID, &m.Content, &m.CreateTime); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Latest looks up the conversation rows of user with the peers, in one statement:
// every (user, peer) pair is an equality on both primary-key columns, whichever of
// the two ids is smaller, so each peer costs one key lookup for its conversation
// and one for the newest message.
func (s *SQLStore) Latest(ctx context.Context, user int64, peers []int64) (map[int64]*Message, error) {
	out := make(map[int64]*Message, len(peers))
	var above, below []any
	for _, p := range peers {
		switch {
		case p > user:
			above = append(above, p)
		case p < user:
			below = append(below, p)
		}
	}
	var parts []string
	var args []any
	branch := func(self, other string, ids []any) {
		if len(ids) == 0 {
			return
		}
		parts = append(parts, `SELECT c.`+other+`, m.id, m.from_user_id, m.to_user_id, m.content, m.create_time
			FROM message_conversations c JOIN message_messages m ON m.id = c.last_id
			WHERE c.`+self+` = ? AND c.`+other+` IN (?`+strings.Repeat(",?", len(ids)-1)+`)`)
		args = append(append(args, user), ids...)
	}
	branch("user_lo", "user_hi", above)
	branch("user_hi", "user_lo", below)
	if len(parts) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var peer int64
		m := &Message{}
		if err := rows.Scan(&peer, &m.ID, &m.FromUserID, &m.ToUserID, &m.Content, &m.CreateTime); err != nil {
			return nil, err
		}
		out[peer] = m
	}
	return out, rows.Err()
}
