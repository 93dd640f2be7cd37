package db

import (
	"context"
	"database/sql"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// Reads runs a store's hot read queries as prepared statements on SQLite. A plain
// query is parsed again on every call, and in the pure-Go SQLite the parse of a
// short indexed read costs as much as running it (a third of the server's CPU on
// the feed before this); a prepared statement is parsed once per connection. On
// MySQL queries go out as they are: the driver interpolates the arguments, so a
// server-side prepare would only add a round trip.
//
// Statements are kept per query text, so a caller keeps the texts few: IN lists
// come from In, padded to a power of two, and limits from Limit, written into the
// text (SQLite prepares a statement again each time a LIMIT parameter is bound).
type Reads struct {
	db    *DB
	stmts sync.Map // query text → *sql.Stmt
}

// NewReads returns the prepared reads of d. Its statements close with d.
func NewReads(d *DB) *Reads { return &Reads{db: d} }

// Query runs q with args, prepared on SQLite.
func (r *Reads) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if r.db.Dialect != SQLite {
		return r.db.QueryContext(ctx, q, args...)
	}
	st, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (r *Reads) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := r.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := r.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.stmts.LoadOrStore(q, st); loaded {
		st.Close() // another caller prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Limit returns a LIMIT clause for at least n rows (n > 0), on SQLite rounded up
// to a power of two to keep the texts few; the caller reads only the n it wants.
func (r *Reads) Limit(n int) string {
	if r.db.Dialect == SQLite && n > 1 {
		n = 1 << bits.Len(uint(n-1))
	}
	return " LIMIT " + strconv.Itoa(n)
}

// In returns the placeholders of an IN list of ids (at least one) and its
// arguments. On SQLite the list is padded to the next power of two by repeating
// the last id, which IN ignores, so that lists of 17 to 32 ids share one
// prepared statement.
func (r *Reads) In(ids []int64) (string, []any) {
	n := len(ids)
	if r.db.Dialect == SQLite && n > 1 {
		n = 1 << bits.Len(uint(n-1))
	}
	args := make([]any, n)
	for i := range args {
		args[i] = ids[min(i, len(ids)-1)]
	}
	return "?" + strings.Repeat(",?", n-1), args
}
