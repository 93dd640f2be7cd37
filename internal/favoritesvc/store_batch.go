package favoritesvc

import (
	"cmp"
	"database/sql"
	"errors"
	"slices"
)

// The batch path of Apply on MySQL. Written one statement per write, a batch of
// 128 likes costs 128 round trips to the server while its transaction holds the
// hot video's locks; here a batch of likes costs three whatever its size: one
// read of the facts the batch touches, one multi-row INSERT, and the count
// upserts (applyDeltasMySQL). Unlikes still delete one row per statement.

// errRaced: a concurrent write changed one of the batch's facts between the
// batch's read and its writes. The transaction is rolled back and the batch
// made again one statement per write, which needs no read beforehand.
var errRaced = errors.New("favoritesvc: a concurrent write changed the batch's facts")

// factKey names one like fact.
type factKey struct{ user, video int64 }

// fact is one fact through a batch: as the batch read it, and as its writes so
// far leave it.
type fact struct {
	key       factKey
	had       bool  // the row existed when the batch read it
	hadAuthor int64 // and credited this author
	has       bool  // a row exists after the writes so far
	removed   bool  // the row read was taken back during the batch
	row       Like  // the row to insert, when has and (!had or removed)
}

// author returns the author the fact's current row credits.
func (f *fact) author() int64 {
	if f.had && !f.removed {
		return f.hadAuthor
	}
	return f.row.AuthorID
}

// applyBatch makes the writes, in order, in a few statements, and returns the
// count changes they add up to; changed[i] reports whether write i changed
// anything, exactly as it would have alone.
//
// The facts are read with a plain read, the writes played on them in memory,
// and the difference written: the rows to take back (deleteFacts), the rows to
// add in one INSERT IGNORE. Both take the locks of the rows they change, so
// when they affect exactly the rows the batch expects, the read was still true
// of every fact the batch changes, and the counts are exact. If either affects
// fewer, a concurrent write came between (another replica's, or a write retried
// alone after its batch failed): errRaced. Facts the batch read and left as
// they were need no lock: a like of a fact that exists (or an unlike of one
// that does not) is ordered before the concurrent write that changes it.
func (t *writeTx) applyBatch(ws []Write, changed []bool) (deltas, error) {
	var d deltas
	facts, err := t.readFacts(ws)
	if err != nil {
		return d, err
	}
	if t.s.afterRead != nil {
		t.s.afterRead()
	}
	for i, w := range ws {
		f := facts[factKey{w.Like.UserID, w.Like.VideoID}]
		switch {
		case !w.Unlike && !f.has:
			f.has, f.row = true, w.Like
			d.add(w.Like.VideoID, w.Like.UserID, w.Like.AuthorID, 1)
		case w.Unlike && f.has:
			d.add(w.Like.VideoID, w.Like.UserID, f.author(), -1)
			f.has = false
			f.removed = f.removed || f.had
		default:
			continue // a like of a liked video, an unlike of one not liked
		}
		changed[i] = true
	}

	var gone, added []*fact
	for _, f := range facts {
		if f.had && f.removed {
			gone = append(gone, f)
		}
		if f.has && (!f.had || f.removed) {
			added = append(added, f)
		}
	}
	byKey := func(a, b *fact) int {
		return cmp.Or(cmp.Compare(a.key.user, b.key.user), cmp.Compare(a.key.video, b.key.video))
	}
	// Ascending key order, as every batch takes its row locks.
	slices.SortFunc(gone, byKey)
	slices.SortFunc(added, byKey)
	if err := t.deleteFacts(gone); err != nil {
		return d, err
	}
	return d, t.insertFacts(added)
}

// readFacts reads the facts the writes touch.
func (t *writeTx) readFacts(ws []Write) (map[factKey]*fact, error) {
	facts := make(map[factKey]*fact, len(ws))
	args := make([]any, 0, 2*len(ws))
	for _, w := range ws {
		k := factKey{w.Like.UserID, w.Like.VideoID}
		if facts[k] == nil {
			facts[k] = &fact{key: k}
			args = append(args, k.user, k.video)
		}
	}
	for len(args) > 0 {
		n := min(len(args)/2, bulkRowsPerStatement)
		rows, err := t.tx.QueryContext(t.ctx,
			`SELECT user_id, video_id, author_id FROM favorite_likes WHERE (user_id, video_id) IN (`+rowsOf(n, 2)+`)`,
			args[:2*n]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k factKey
			var author int64
			if err := rows.Scan(&k.user, &k.video, &author); err != nil {
				rows.Close()
				return nil, err
			}
			if f := facts[k]; f != nil {
				f.had, f.has, f.hadAuthor = true, true, author
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		args = args[2*n:]
	}
	return facts, nil
}

// deleteFacts deletes the facts' rows, all of which the batch read: one
// statement each, by primary key, which locks just the row. A multi-row DELETE
// is planned as a range on an index and takes gap locks, on which concurrent
// batches deadlock.
func (t *writeTx) deleteFacts(fs []*fact) error {
	for _, f := range fs {
		res, err := t.exec(t.s.q.deleteLike, f.key.user, f.key.video)
		if err := expectRows(res, err, 1); err != nil {
			return err
		}
	}
	return nil
}

// insertFacts inserts the facts' rows, none of which the batch read (or which
// it deleted).
func (t *writeTx) insertFacts(fs []*fact) error {
	for len(fs) > 0 {
		n := min(len(fs), bulkRowsPerStatement)
		args := make([]any, 0, 4*n)
		for _, f := range fs[:n] {
			args = append(args, f.row.UserID, f.row.VideoID, f.row.AuthorID, f.row.CreatedAt)
		}
		res, err := t.tx.ExecContext(t.ctx,
			t.s.db.InsertIgnore()+` INTO favorite_likes (user_id, video_id, author_id, created_at) VALUES `+rowsOf(n, 4), args...)
		if err := expectRows(res, err, n); err != nil {
			return err
		}
		fs = fs[n:]
	}
	return nil
}

// expectRows is errRaced unless the statement affected want rows.
func expectRows(res sql.Result, err error, want int) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != int64(want) {
		return errRaced
	}
	return nil
}
