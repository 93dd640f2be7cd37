package db_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

func TestCheckCounter(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCheckCounter(t, open(t, freshSQLite(t))) })
	t.Run("mysql", func(t *testing.T) {
		server := testenv.MySQLDSN(t)
		testCheckCounter(t, open(t, freshMySQL(t, server)))
	})
}

// testCheckCounter plants counts that are right, too high, too low, missing and
// orphaned, over more keys than one page, and checks that every wrong one is
// reported with its true value, that repair fixes exactly those, and that a
// count kept in the table it counts (replies under a root) repairs too.
func testCheckCounter(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE likes (user_id BIGINT NOT NULL, video_id BIGINT NOT NULL, PRIMARY KEY (user_id, video_id))`,
		`CREATE INDEX likes_by_video ON likes (video_id)`,
		`CREATE TABLE video_counts (video_id BIGINT NOT NULL PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE posts (id BIGINT NOT NULL PRIMARY KEY, root_id BIGINT NOT NULL, replies BIGINT NOT NULL DEFAULT 0)`,
	} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const videos = 4500 // more than two pages
	facts := map[int64]int64{}
	stored := map[int64]int64{}
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for v := int64(1); v <= videos; v++ {
		n := rng.Int64N(4)
		for u := int64(1); u <= n; u++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO likes (user_id, video_id) VALUES (?, ?)`, u, v); err != nil {
				t.Fatal(err)
			}
		}
		if n > 0 {
			facts[v] = n
		}
		s := n
		switch rng.IntN(10) {
		case 0:
			s = n + 1 + rng.Int64N(3) // too high
		case 1:
			s = max(0, n-1) // too low (or right when 0)
		case 2:
			continue // no counter row
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO video_counts (video_id, n) VALUES (?, ?)`, v, s); err != nil {
			t.Fatal(err)
		}
		stored[v] = s
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var want []db.CounterDiff
	for v := int64(1); v <= videos; v++ {
		if facts[v] != stored[v] {
			want = append(want, db.CounterDiff{Counter: "video_counts.n", Key: v, Stored: stored[v], Actual: facts[v]})
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d planted differences; the test needs more", len(want))
	}
	likes := db.Counter{
		Table: "video_counts", Key: "video_id", Column: "n",
		Facts:   `SELECT video_id, COUNT(*) FROM likes WHERE video_id > ? GROUP BY video_id ORDER BY video_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM likes WHERE video_id = ?`,
		Create:  d.InsertIgnore() + ` INTO video_counts (video_id, n) VALUES (?, 0)`,
	}
	check := func(repair bool) ([]db.CounterDiff, int64) {
		t.Helper()
		var got []db.CounterDiff
		var stepped int64
		n, err := d.CheckCounter(ctx, likes, repair, func(k int64) { stepped += k }, func(x db.CounterDiff) { got = append(got, x) })
		if err != nil {
			t.Fatal(err)
		}
		if stepped > n || n < videos-int64(len(facts))/2 {
			t.Fatalf("compared %d keys, stepped %d", n, stepped)
		}
		return got, n
	}
	got, _ := check(false)
	if !slices.Equal(got, want) {
		t.Fatalf("check found %d differences, want %d; first got %v want %v", len(got), len(want), first(got), first(want))
	}
	got, _ = check(true)
	for i := range got {
		if !got[i].Repaired {
			t.Fatalf("difference %v not repaired", got[i])
		}
		got[i].Repaired = false
	}
	if !slices.Equal(got, want) {
		t.Fatalf("repairing check reported %d differences, want %d", len(got), len(want))
	}
	if got, _ = check(false); len(got) != 0 {
		t.Fatalf("after repair: %d differences, first %v", len(got), got[0])
	}

	// A count kept in the table it counts, without a way to create missing rows.
	for _, p := range [][3]int64{{1, 0, 5}, {2, 1, 0}, {3, 1, 0}, {4, 0, 0}, {5, 4, 0}} {
		if _, err := d.ExecContext(ctx, `INSERT INTO posts (id, root_id, replies) VALUES (?, ?, ?)`, p[0], p[1], p[2]); err != nil {
			t.Fatal(err)
		}
	}
	replies := db.Counter{
		Table: "posts", Key: "id", Column: "replies",
		Facts:   `SELECT root_id, COUNT(*) FROM posts WHERE root_id > ? AND root_id <> 0 GROUP BY root_id ORDER BY root_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM posts WHERE root_id = ?`,
	}
	var diffs []db.CounterDiff
	if _, err := d.CheckCounter(ctx, replies, true, nil, func(x db.CounterDiff) { diffs = append(diffs, x) }); err != nil {
		t.Fatal(err)
	}
	wantReplies := []db.CounterDiff{
		{Counter: "posts.replies", Key: 1, Stored: 5, Actual: 2, Repaired: true},
		{Counter: "posts.replies", Key: 4, Stored: 0, Actual: 1, Repaired: true},
	}
	if !slices.Equal(diffs, wantReplies) {
		t.Fatalf("replies: got %v, want %v", diffs, wantReplies)
	}
	var n1, n4 int64
	if err := d.QueryRowContext(ctx, `SELECT replies FROM posts WHERE id = 1`).Scan(&n1); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRowContext(ctx, `SELECT replies FROM posts WHERE id = 4`).Scan(&n4); err != nil {
		t.Fatal(err)
	}
	if n1 != 2 || n4 != 1 {
		t.Fatalf("after repair replies are %d and %d, want 2 and 1", n1, n4)
	}
	// A root whose counter row is gone cannot be created: reported, not repaired.
	if _, err := d.ExecContext(ctx, `DELETE FROM posts WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	diffs = nil
	if _, err := d.CheckCounter(ctx, replies, true, nil, func(x db.CounterDiff) { diffs = append(diffs, x) }); err != nil {
		t.Fatal(err)
	}
	if want := []db.CounterDiff{{Counter: "posts.replies", Key: 4, Actual: 1}}; !slices.Equal(diffs, want) {
		t.Fatalf("missing row: got %v, want %v", diffs, want)
	}
}

func first(d []db.CounterDiff) any {
	if len(d) == 0 {
		return nil
	}
	return d[0]
}
