package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Counter describes one stored count (a column kept up to date in the same
// transaction as the facts it counts) so that it can be audited against those
// facts and repaired. Identifiers come from our own code, never from input.
type Counter struct {
	Table  string // the table holding the count, keyed by Key alone
	Key    string // its key column (an id)
	Column string // the count column
	// Facts pages through the counts derived from the facts: it takes (after,
	// limit) and returns (key, count) rows with keys greater than after, in
	// ascending key order, at most limit of them. Keys without any fact are
	// absent (their count is 0). Keyset pages let a check stream through tables
	// of any size without holding a result set open.
	Facts string
	// Recount counts the facts of one key (one ?), naming its result n.
	Recount string
	// Create, when set, inserts a zero counter row for a key (one ?) unless one
	// exists; without it a missing counter row is reported, not created.
	Create string
}

// Name identifies the count in reports, as table.column.
func (c Counter) Name() string { return c.Table + "." + c.Column }

// CounterDiff is a key whose stored count differs from its facts.
type CounterDiff struct {
	Counter  string
	Key      int64
	Stored   int64
	Actual   int64
	Repaired bool
}

// checkPage is how many keys each page of a counter check reads.
const checkPage = 2000

// CheckCounter compares every stored count of c with its facts, calling report
// for each difference (after repairing it, when repair is set) and step with the
// number of keys compared as it goes. It returns how many keys it compared.
//
// Counts and facts are read in one read-only transaction, a snapshot of the
// database, so a check of a live system sees each count together with the facts
// committed with it and reports no difference that is only a write in flight.
// Repairs are separate transactions that recount at that moment.
func (db *DB) CheckCounter(ctx context.Context, c Counter, repair bool, step func(n int64), report func(CounterDiff)) (int64, error) {
	snap, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("db: check %s: %w", c.Name(), err)
	}
	defer snap.Rollback()
	storedQuery := fmt.Sprintf(`SELECT %[2]s, %[3]s FROM %[1]s WHERE %[2]s > ? ORDER BY %[2]s LIMIT ?`, c.Table, c.Key, c.Column)
	stored := &keyPages{q: snap, query: storedQuery, after: minKey}
	facts := &keyPages{q: snap, query: c.Facts, after: minKey}
	var checked int64
	for {
		s, sok, err := stored.peek(ctx)
		if err != nil {
			return checked, fmt.Errorf("db: check %s: stored counts: %w", c.Name(), err)
		}
		f, fok, err := facts.peek(ctx)
		if err != nil {
			return checked, fmt.Errorf("db: check %s: facts: %w", c.Name(), err)
		}
		if !sok && !fok {
			return checked, nil
		}
		d := CounterDiff{Counter: c.Name()}
		switch {
		case sok && (!fok || s.key < f.key): // a stored count with no facts at all
			d.Key, d.Stored = s.key, s.value
			stored.next()
		case fok && (!sok || f.key < s.key): // facts with no stored count
			d.Key, d.Actual = f.key, f.value
			facts.next()
		default:
			d.Key, d.Stored, d.Actual = s.key, s.value, f.value
			stored.next()
			facts.next()
		}
		checked++
		if checked%checkPage == 0 && step != nil {
			step(checkPage)
		}
		if d.Stored == d.Actual {
			continue
		}
		if repair {
			if d.Repaired, err = db.repairCounter(ctx, c, d.Key); err != nil {
				return checked, fmt.Errorf("db: repair %s of %d: %w", c.Name(), d.Key, err)
			}
		}
		report(d)
	}
}

// repairCounter sets key's count to what its facts say at this moment, in one
// statement, so a write that lands in between cannot be counted twice or lost.
// The recount sits in a derived table because MySQL refuses a subquery on the
// table being updated (comment reply counts are counted in their own table).
// It reports false when there is no counter row and c cannot create one.
func (db *DB) repairCounter(ctx context.Context, c Counter, key int64) (bool, error) {
	repaired := false
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if c.Create != "" {
			if _, err := tx.ExecContext(ctx, c.Create, key); err != nil {
				return err
			}
		}
		var rows int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE %s = ?`, c.Table, c.Key)
		if err := tx.QueryRowContext(ctx, q, key).Scan(&rows); err != nil || rows == 0 {
			return err
		}
		q = fmt.Sprintf(`UPDATE %[1]s SET %[3]s = (SELECT n FROM (%[4]s) recount) WHERE %[2]s = ?`, c.Table, c.Key, c.Column, c.Recount)
		if _, err := tx.ExecContext(ctx, q, key, key); err != nil {
			return err
		}
		repaired = true
		return nil
	})
	return repaired, err
}

type keyValue struct{ key, value int64 }

// keyPages reads a keyset-paged (key, value) query one page at a time.
type keyPages struct {
	q     *sql.Tx
	query string
	page  []keyValue
	at    int
	after int64
	done  bool
}

func (p *keyPages) peek(ctx context.Context) (keyValue, bool, error) {
	if p.at < len(p.page) {
		return p.page[p.at], true, nil
	}
	if p.done {
		return keyValue{}, false, nil
	}
	p.page, p.at = p.page[:0], 0
	rows, err := p.q.QueryContext(ctx, p.query, p.after, checkPage)
	if err != nil {
		return keyValue{}, false, err
	}
	defer rows.Close()
	last := p.after
	for rows.Next() {
		var kv keyValue
		if err := rows.Scan(&kv.key, &kv.value); err != nil {
			return keyValue{}, false, err
		}
		// The merge relies on ascending keys; a query that breaks the order
		// would report phantom differences, so it is refused instead.
		if kv.key <= last {
			return keyValue{}, false, fmt.Errorf("keys out of order at %d", kv.key)
		}
		last = kv.key
		p.page = append(p.page, kv)
	}
	if err := rows.Err(); err != nil {
		return keyValue{}, false, err
	}
	if len(p.page) < checkPage {
		p.done = true
	}
	if len(p.page) == 0 {
		return keyValue{}, false, nil
	}
	p.after = p.page[len(p.page)-1].key
	return p.page[0], true, nil
}

func (p *keyPages) next() { p.at++ }

// minKey starts every keyset scan: below any id (ids are positive).
const minKey = -1 << 63
