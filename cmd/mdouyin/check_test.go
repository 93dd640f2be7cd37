package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// TestCheckCommand seeds a small dataset, finds it consistent, breaks one count
// of every kind behind the stores' backs, and checks that `mdouyin check` names
// each broken count with its true value, exits non-zero, and that --repair sets
// them right.
func TestCheckCommand(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI")
		}
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	env := map[string]string{"MDOUYIN_DATA_DIR": dir, "MDOUYIN_PASSWORD_MEMORY_KIB": "8192"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"seed", "--users", "40", "--follows", "300", "--videos", "20", "--likes", "100",
		"--messages", "10", "--comments", "0", "--comment-likes", "0", // the test plants its own comments below
		"--big-authors", "1", "--big-followers", "30", "--months", "1", "--seed", "3"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	check := func(args ...string) (string, error) {
		t.Helper()
		out.Reset()
		errOut.Reset()
		err := run(ctx, append([]string{"check"}, args...), getenv, &out, &errOut)
		return out.String(), err
	}
	got, err := check()
	if err != nil || !strings.Contains(got, ": 0 differences") {
		t.Fatalf("check of a seeded dataset: %v\n%s%s", err, got, errOut.String())
	}
	if !regexp.MustCompile(`checked 10 counts over [1-9][0-9]* keys`).MatchString(got) {
		t.Fatalf("summary: %s", got)
	}

	sqlite := func(service string) *sql.DB {
		d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(dir, "db", service+".db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d.DB
	}
	exec1 := func(d *sql.DB, q string, args ...any) {
		t.Helper()
		if _, err := d.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var video, liked, follower, author int64
	fav, rel, vid := sqlite("favorite"), sqlite("relation"), sqlite("video")
	if err := fav.QueryRow(`SELECT video_id, favorite_count FROM favorite_video_counts WHERE favorite_count > 0 ORDER BY video_id LIMIT 1`).Scan(&video, &liked); err != nil {
		t.Fatal(err)
	}
	if err := rel.QueryRow(`SELECT follower_id FROM relation_follows ORDER BY follower_id LIMIT 1`).Scan(&follower); err != nil {
		t.Fatal(err)
	}
	if err := vid.QueryRow(`SELECT author_id FROM videos ORDER BY author_id LIMIT 1`).Scan(&author); err != nil {
		t.Fatal(err)
	}
	exec1(fav, `UPDATE favorite_video_counts SET favorite_count = favorite_count + 7 WHERE video_id = ?`, video)
	exec1(rel, `DELETE FROM relation_counts WHERE user_id = ?`, follower) // a lost counter row
	exec1(vid, `UPDATE video_work_counts SET work_count = 0 WHERE user_id = ?`, author)
	// Comments: a visible root claiming three replies it does not have, and a
	// subject that has lost count of it.
	com := sqlite("comment")
	exec1(com, `INSERT INTO comment_subject (video_id, owner_id, top_floor, root_count, comment_count, pinned_id, updated_at) VALUES (?, ?, 1, 0, 0, 0, 1)`, video, author)
	exec1(com, `INSERT INTO comment_index (id, video_id, user_id, root_id, parent_id, floor, state, like_count, reply_count, reply_floor, hot, version, created_at, updated_at)
		VALUES (900, ?, ?, 0, 0, 1, 1, 0, 3, 0, 0, 1, 1, 1)`, video, author)

	got, err = check()
	if !errors.Is(err, errDifferences) {
		t.Fatalf("check of a broken dataset: %v\n%s", err, got)
	}
	for _, want := range []string{
		"favorite_video_counts.favorite_count key=" + itoa(video) + " stored=" + itoa(liked+7) + " actual=" + itoa(liked) + "\n",
		"relation_counts.follow_count key=" + itoa(follower) + " stored=0 actual=",
		"video_work_counts.work_count key=" + itoa(author) + " stored=0 actual=",
		"comment_subject.root_count key=" + itoa(video) + " stored=0 actual=1\n",
		"comment_subject.comment_count key=" + itoa(video) + " stored=0 actual=1\n",
		"comment_index.reply_count key=900 stored=3 actual=0\n",
		"relation_counts.follower_count key=" + itoa(follower) + " stored=0 actual=",
		": 7 differences, 0 repaired",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check output lacks %q:\n%s", want, got)
		}
	}
	if got, err = check("--repair"); err != nil || !strings.Contains(got, ": 7 differences, 7 repaired") {
		t.Fatalf("repair: %v\n%s", err, got)
	}
	if got, err = check(); err != nil || !strings.Contains(got, ": 0 differences") {
		t.Fatalf("check after repair: %v\n%s", err, got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
