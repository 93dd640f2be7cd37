package favoritesvc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
)

// openMySQL opens the favorite store on a new MariaDB database.
func openMySQL(t *testing.T) *SQLStore {
	t.Helper()
	s, err := NewSQLStore(context.Background(), svctest.Databases("favoritesvc")["mysql"](t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBatchMatchesOneByOne plays random batches of likes and unlikes of a few
// facts (repeats, a like and its unlike in one batch, self-likes) on MySQL
// twice: in the batch's multi-row statements, and one statement per write.
// Every answer, fact and count must be the same.
func TestBatchMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	batched, single := openMySQL(t), openMySQL(t)
	single.oneByOne = true
	rng := rand.New(rand.NewPCG(7, 11))
	const users, videos = 5, 3
	author := func(video int64) int64 { return video % users } // user 0..4: self-likes happen
	for round := range 40 {
		ws := make([]Write, 1+rng.IntN(40))
		for i := range ws {
			v := int64(100 + rng.IntN(videos))
			ws[i] = Write{Like: Like{UserID: int64(rng.IntN(users)), VideoID: v, AuthorID: author(v), CreatedAt: int64(round*100 + i)}, Unlike: rng.IntN(3) == 0}
		}
		got, err := batched.Apply(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		want, err := single.Apply(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ws {
			if got[i] != want[i] {
				t.Fatalf("round %d, write %d %+v: changed %v in a batch, %v one by one", round, i, ws[i], got[i], want[i])
			}
		}
	}
	if n := batched.raced.Load(); n != 0 {
		t.Fatalf("%d batches raced with nothing else writing", n)
	}
	for _, q := range []string{
		`SELECT user_id, video_id, author_id, created_at FROM favorite_likes ORDER BY user_id, video_id`,
		`SELECT video_id, favorite_count FROM favorite_video_counts WHERE favorite_count <> 0 ORDER BY video_id`,
		`SELECT user_id, given, received FROM favorite_user_counts WHERE given <> 0 OR received <> 0 ORDER BY user_id`,
	} {
		if a, b := dump(t, batched.db, q), dump(t, single.db, q); a != b {
			t.Errorf("%s\nbatched:\n%s\none by one:\n%s", q, a, b)
		}
	}
	auditCounts(t, batched)
}

// TestBatchAfterARace: another transaction commits a write of one of a batch's
// facts between the batch's read and its writes, so the batch's multi-row
// statement changes fewer rows than it planned. The batch is then made again
// one write at a time, after that write, and its answers and counts are those
// of that order.
func TestBatchAfterARace(t *testing.T) {
	ctx := context.Background()
	s := openMySQL(t)
	const video, author = 10, 9
	like := func(user int64) Write {
		return Write{Like: Like{UserID: user, VideoID: video, AuthorID: author, CreatedAt: user}}
	}
	unlike := func(user int64) Write { w := like(user); w.Unlike = true; return w }
	if _, err := s.Apply(ctx, []Write{like(1)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		between Write   // committed after the batch's read
		batch   []Write // the batch
		changed []bool
	}{
		{"the batch's insert", like(2), []Write{like(2), like(3)}, []bool{false, true}},
		{"the batch's delete", unlike(1), []Write{unlike(1), like(4)}, []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.afterRead = func() {
				s.afterRead = nil
				if _, err := s.Apply(ctx, []Write{tc.between}); err != nil {
					t.Errorf("the write between: %v", err)
				}
			}
			before := s.raced.Load()
			changed, err := s.Apply(ctx, tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			if s.raced.Load() != before+1 {
				t.Fatalf("the batch was not made again one by one")
			}
			for i := range changed {
				if changed[i] != tc.changed[i] {
					t.Errorf("write %d %+v: changed %v, want %v", i, tc.batch[i], changed[i], tc.changed[i])
				}
			}
			auditCounts(t, s)
		})
	}
	if got := dump(t, s.db, `SELECT favorite_count FROM favorite_video_counts`); got != "[3]\n" { // users 2, 3, 4
		t.Errorf("video count %q, want 3", got)
	}
}

// dump returns the rows of q, one line each.
func dump(t *testing.T, d *db.DB, q string) string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out string
	for rows.Next() {
		vals := make([]int64, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprint(vals) + "\n"
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// auditCounts compares every count of the store with its facts, as `mdouyin
// check` does.
func auditCounts(t *testing.T, s *SQLStore) {
	t.Helper()
	for _, c := range s.Counters() {
		if _, err := s.db.CheckCounter(context.Background(), c, false, nil, func(d db.CounterDiff) {
			t.Errorf("%s: %+v", c.Name(), d)
		}); err != nil {
			t.Fatal(err)
		}
	}
}
