package seed_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/progress"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/seed"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/usersvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// services are the databases the seeder writes, by the names serve gives them.
var services = []string{"user", "relation", "video", "favorite", "message", "comment"}

// env is one seeding target: the stores and, for the checks, their databases.
type env struct {
	stores seed.Stores
	dbs    map[string]*db.DB
	blobs  *blob.Local
}

// openers open a fresh target on each engine: SQLite with a file per service as
// serve lays them out, MySQL with one database shared by all services.
var openers = map[string]func(t *testing.T) *env{
	"sqlite": func(t *testing.T) *env {
		dir := t.TempDir()
		dbs := map[string]*db.DB{}
		for _, s := range services {
			d, err := db.Open(context.Background(), db.Options{Driver: db.SQLite, DSN: filepath.Join(dir, "db", s+".db"), MaxOpenConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := seed.TuneSQLite(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			dbs[s] = d
		}
		return newEnv(t, dbs, dir)
	},
	"mysql": func(t *testing.T) *env {
		dsn := testenv.MySQLDSN(t)
		name := fmt.Sprintf("mdouyin_seed_%d", time.Now().UnixNano())
		d, err := db.Open(context.Background(), db.Options{Driver: db.MySQL, DSN: dsn + name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			d.ExecContext(context.Background(), "DROP DATABASE "+name)
			d.Close()
		})
		dbs := map[string]*db.DB{}
		for _, s := range services {
			dbs[s] = d
		}
		return newEnv(t, dbs, t.TempDir())
	},
}

func newEnv(t *testing.T, dbs map[string]*db.DB, dir string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dbs: dbs}
	var err error
	if e.stores.Users, err = usersvc.NewSQLStore(ctx, dbs["user"]); err != nil {
		t.Fatal(err)
	}
	if e.stores.Relations, err = relationsvc.NewSQLStore(ctx, dbs["relation"], nil); err != nil {
		t.Fatal(err)
	}
	if e.stores.Videos, err = videosvc.NewSQLStore(ctx, dbs["video"], nil); err != nil {
		t.Fatal(err)
	}
	if e.stores.Favorites, err = favoritesvc.NewSQLStore(ctx, dbs["favorite"]); err != nil {
		t.Fatal(err)
	}
	if e.stores.Messages, err = messagesvc.NewSQLStore(ctx, dbs["message"]); err != nil {
		t.Fatal(err)
	}
	if e.stores.Comments, err = commentsvc.NewSQLStore(ctx, dbs["comment"], nil); err != nil {
		t.Fatal(err)
	}
	if e.blobs, err = blob.NewLocal(filepath.Join(dir, "blobs")); err != nil {
		t.Fatal(err)
	}
	e.stores.Blobs = e.blobs
	return e
}

// cheapHasher keeps the test fast; the seeder must hash with whatever it is given.
func cheapHasher(t *testing.T) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ffmpegPath skips without ffmpeg locally and fails without it in CI.
func ffmpegPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI: apt-get install ffmpeg")
		}
		t.Skip("ffmpeg not installed")
	}
	return p
}

// tinyOptions is a dataset small enough for a unit test that still has every
// feature: big authors, authors of a fixed size, friends, chats, a batch size
// that splits unevenly, and a feed whose pull threshold puts the big authors and
// the most followed ordinary users in pull mode, with inboxes small enough that
// some fill up, and comments enough for threads, likes and every state.
func tinyOptions() seed.Options {
	o := seed.DefaultOptions()
	o.Users, o.Follows, o.Videos, o.Likes, o.Messages = 60, 700, 90, 600, 150
	o.Comments, o.CommentLikes = 900, 1500
	o.BigAuthors, o.BigFollowers = 2, 40
	o.AuthorFollowers = []int{25, 10}
	o.Readers, o.ReaderFollows = 3, 15
	o.PullThreshold, o.InboxSize = 25, 6
	o.Months, o.Batch, o.Seed = 2, 37, 42
	o.End = time.Now().Add(-time.Minute).Truncate(time.Second)
	return o
}

func runSeed(t *testing.T, e *env, o seed.Options) seed.Result {
	t.Helper()
	ids, err := idgen.New(idgen.MaxNode)
	if err != nil {
		t.Fatal(err)
	}
	var bar strings.Builder
	s := seed.New(e.stores, seed.Deps{Hasher: cheapHasher(t), IDs: ids, FFmpeg: ffmpegPath(t), TempDir: t.TempDir(),
		Progress: progress.New(&bar, false)})
	res, err := s.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"users", "follows", "videos", "likes", "messages", "inboxes", "comments"} {
		if !strings.Contains(bar.String(), phase+" ") {
			t.Errorf("progress never showed %s:\n%s", phase, bar.String())
		}
	}
	return res
}

func TestSeed(t *testing.T) {
	for name, open := range openers {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			o := tinyOptions()
			res := runSeed(t, e, o)
			t.Run("sizes", func(t *testing.T) { checkSizes(t, e, o, res) })
			t.Run("counts equal the facts", func(t *testing.T) { checkCounts(t, e) })
			t.Run("ids and times", func(t *testing.T) { checkTimes(t, e, res) })
			t.Run("big authors", func(t *testing.T) { checkBigAuthors(t, e, o, res) })
			t.Run("readers", func(t *testing.T) { checkReaders(t, e, o, res) })
			t.Run("inboxes", func(t *testing.T) { checkInboxes(t, e, o, res) })
			t.Run("following feed", func(t *testing.T) { checkFollowingFeed(t, e, o) })
			t.Run("chats are between friends", func(t *testing.T) { checkFriends(t, e) })
			t.Run("every user logs in", func(t *testing.T) { checkLogins(t, e, o, res) })
			t.Run("media", func(t *testing.T) { checkMedia(t, e, res) })
			t.Run("comments", func(t *testing.T) { checkComments(t, e, o, res) })
			t.Run("the comment role serves them", func(t *testing.T) { checkCommentRole(t, e, res) })
			t.Run("refuses a second run", func(t *testing.T) {
				ids, err := idgen.New(idgen.MaxNode)
				if err != nil {
					t.Fatal(err)
				}
				_, err = seed.New(e.stores, seed.Deps{Hasher: cheapHasher(t), IDs: ids, FFmpeg: ffmpegPath(t)}).Run(context.Background(), o)
				if !errors.Is(err, seed.ErrNotEmpty) {
					t.Fatalf("second run: %v, want ErrNotEmpty", err)
				}
				checkSizes(t, e, o, res)
			})
		})
	}
}

func count(t *testing.T, d *db.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := d.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func checkSizes(t *testing.T, e *env, o seed.Options, res seed.Result) {
	want := []struct {
		service, table string
		asked          int
		got            int64
	}{
		{"user", "users", o.Users, res.Users},
		{"relation", "relation_follows", o.Follows, res.Follows},
		{"video", "videos", o.Videos, res.Videos},
		{"favorite", "favorite_likes", o.Likes, res.Likes},
		{"message", "message_messages", o.Messages, res.Messages},
		{"comment", "comment_index", o.Comments, res.Comments},
		{"comment", "comment_likes", o.CommentLikes, res.CommentLikes},
	}
	for _, w := range want {
		if w.got != int64(w.asked) {
			t.Errorf("result %s: %d, asked for %d", w.table, w.got, w.asked)
		}
		if n := count(t, e.dbs[w.service], "SELECT COUNT(*) FROM "+w.table); n != int64(w.asked) {
			t.Errorf("%s holds %d rows, asked for %d", w.table, n, w.asked)
		}
	}
	if res.Rows() != int64(o.Users+o.Follows+o.Videos+o.Likes+o.Messages+o.Comments+o.CommentLikes) {
		t.Errorf("Rows() = %d", res.Rows())
	}
}

// checkCounts compares every count row with COUNT(*) of the facts, both ways: no
// count disagrees with its facts, and no key with facts lacks its count row.
func checkCounts(t *testing.T, e *env) {
	checks := []struct{ service, what, query string }{
		{"relation", "follow_count", `SELECT COUNT(*) FROM relation_counts c
			WHERE c.follow_count <> (SELECT COUNT(*) FROM relation_follows f WHERE f.follower_id = c.user_id)`},
		{"relation", "follower_count", `SELECT COUNT(*) FROM relation_counts c
			WHERE c.follower_count <> (SELECT COUNT(*) FROM relation_follows f WHERE f.followee_id = c.user_id)`},
		{"relation", "missing count rows", `SELECT COUNT(*) FROM relation_follows f
			WHERE NOT EXISTS (SELECT 1 FROM relation_counts c WHERE c.user_id = f.follower_id)
			   OR NOT EXISTS (SELECT 1 FROM relation_counts c WHERE c.user_id = f.followee_id)`},
		{"video", "work_count", `SELECT COUNT(*) FROM video_work_counts c
			WHERE c.work_count <> (SELECT COUNT(*) FROM videos v WHERE v.author_id = c.user_id)`},
		{"video", "missing work counts", `SELECT COUNT(*) FROM videos v
			WHERE NOT EXISTS (SELECT 1 FROM video_work_counts c WHERE c.user_id = v.author_id)`},
		{"favorite", "favorite_count", `SELECT COUNT(*) FROM favorite_video_counts c
			WHERE c.favorite_count <> (SELECT COUNT(*) FROM favorite_likes l WHERE l.video_id = c.video_id)`},
		{"favorite", "given", `SELECT COUNT(*) FROM favorite_user_counts c
			WHERE c.given <> (SELECT COUNT(*) FROM favorite_likes l WHERE l.user_id = c.user_id)`},
		{"favorite", "received", `SELECT COUNT(*) FROM favorite_user_counts c
			WHERE c.received <> (SELECT COUNT(*) FROM favorite_likes l WHERE l.author_id = c.user_id)`},
		{"favorite", "missing like counts", `SELECT COUNT(*) FROM favorite_likes l
			WHERE NOT EXISTS (SELECT 1 FROM favorite_video_counts c WHERE c.video_id = l.video_id)
			   OR NOT EXISTS (SELECT 1 FROM favorite_user_counts c WHERE c.user_id = l.user_id)
			   OR NOT EXISTS (SELECT 1 FROM favorite_user_counts c WHERE c.user_id = l.author_id)`},
		{"message", "conversation pointers", `SELECT COUNT(*) FROM message_conversations c
			WHERE c.last_id <> (SELECT m.id FROM message_messages m WHERE m.user_lo = c.user_lo AND m.user_hi = c.user_hi
				ORDER BY m.create_time DESC, m.id DESC LIMIT 1)`},
		{"message", "missing conversations", `SELECT COUNT(*) FROM message_messages m
			WHERE NOT EXISTS (SELECT 1 FROM message_conversations c WHERE c.user_lo = m.user_lo AND c.user_hi = m.user_hi)`},
	}
	for _, c := range checks {
		if n := count(t, e.dbs[c.service], c.query); n != 0 {
			t.Errorf("%s: %d rows disagree", c.what, n)
		}
	}
	// The counts are not trivially zero: the likes' authors received them all.
	if n := count(t, e.dbs["favorite"], "SELECT COALESCE(SUM(received), 0) FROM favorite_user_counts"); n != count(t, e.dbs["favorite"], "SELECT COUNT(*) FROM favorite_likes") {
		t.Errorf("received sums to %d", n)
	}
}

// checkTimes checks that every id is a valid id below 2^53 issued in the second of
// its row's time, that times lie in the window, and that likes follow their videos.
func checkTimes(t *testing.T, e *env, res seed.Result) {
	ctx := context.Background()
	lo, hi := res.Start.Add(-30*24*time.Hour).UnixMilli(), res.End.UnixMilli()
	for _, q := range []struct{ service, query string }{
		{"user", "SELECT id, created_at FROM users ORDER BY id"},
		{"video", "SELECT id, create_time FROM videos ORDER BY id"},
		{"message", "SELECT id, create_time FROM message_messages ORDER BY id"},
	} {
		rows, err := e.dbs[q.service].QueryContext(ctx, q.query)
		if err != nil {
			t.Fatal(err)
		}
		var prev int64
		n := 0
		for rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			n++
			if id <= 0 || id >= 1<<53 || !idgen.Valid(id) {
				t.Errorf("%s: id %d is not a valid id below 2^53", q.query, id)
			}
			if got := idgen.Time(id).Unix(); got != at/1000 {
				t.Errorf("%s: id %d is of second %d, its row's time %d", q.query, id, got, at/1000)
			}
			if at < prev {
				t.Errorf("%s: ids are not in time order: %d ms after %d ms", q.query, at, prev)
			}
			if at < lo || at >= hi {
				t.Errorf("%s: time %d outside [%d, %d)", q.query, at, lo, hi)
			}
			prev = at
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: no rows", q.query)
		}
	}
	start := res.Start.UnixMilli()
	if n := count(t, e.dbs["relation"], "SELECT COUNT(*) FROM relation_follows WHERE created_at < ? OR created_at >= ?", start, hi); n != 0 {
		t.Errorf("%d follows outside the window", n)
	}
	if n := count(t, e.dbs["favorite"], "SELECT COUNT(*) FROM favorite_likes WHERE created_at < ? OR created_at >= ?", start, hi); n != 0 {
		t.Errorf("%d likes outside the window", n)
	}
	published := map[int64]int64{}
	vrows, err := e.dbs["video"].QueryContext(ctx, "SELECT id, create_time FROM videos")
	if err != nil {
		t.Fatal(err)
	}
	for vrows.Next() {
		var id, at int64
		if err := vrows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		published[id] = at
	}
	vrows.Close()
	rows, err := e.dbs["favorite"].QueryContext(ctx, "SELECT video_id, created_at FROM favorite_likes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var video, at int64
		if err := rows.Scan(&video, &at); err != nil {
			t.Fatal(err)
		}
		if p, ok := published[video]; !ok || at < p {
			t.Errorf("like of video %d at %d: published %d (known %v)", video, at, p, ok)
		}
	}
}

func checkBigAuthors(t *testing.T, e *env, o seed.Options, res seed.Result) {
	if len(res.BigAuthors) != o.BigAuthors {
		t.Fatalf("big authors %v, want %d", res.BigAuthors, o.BigAuthors)
	}
	counts, err := e.stores.Relations.Counts(context.Background(), res.BigAuthors)
	if err != nil {
		t.Fatal(err)
	}
	works, err := e.stores.Videos.WorkCounts(context.Background(), res.BigAuthors)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range res.BigAuthors {
		// The readers follow every big author, on top of its BigFollowers.
		if got := counts[b].Follower; got < int64(o.BigFollowers) || got > int64(o.BigFollowers+o.Readers) {
			t.Errorf("big author %d has %d followers, want %d (and up to %d readers)", b, got, o.BigFollowers, o.Readers)
		}
		if works[b] < 1 {
			t.Errorf("big author %d published nothing", b)
		}
	}
	if len(res.Authors) != len(o.AuthorFollowers) {
		t.Fatalf("authors %+v, want %d", res.Authors, len(o.AuthorFollowers))
	}
	var ids []int64
	for _, a := range res.Authors {
		ids = append(ids, a.ID)
	}
	acounts, err := e.stores.Relations.Counts(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range res.Authors {
		if a.Followers != o.AuthorFollowers[i] || acounts[a.ID].Follower != int64(a.Followers) {
			t.Errorf("author %+v has %d followers, want %d", a, acounts[a.ID].Follower, o.AuthorFollowers[i])
		}
		var id int64
		if err := e.dbs["user"].QueryRowContext(context.Background(), "SELECT id FROM users WHERE name = ?", a.Name).Scan(&id); err != nil || id != a.ID {
			t.Errorf("author %+v: the account of that name has id %d (%v)", a, id, err)
		}
		if slices.Contains(res.BigAuthors, a.ID) {
			t.Errorf("author %+v is also a big author", a)
		}
	}
	// The rest of the graph is skewed: some ordinary user is followed by many more
	// than the average.
	var top int64
	if err := e.dbs["relation"].QueryRowContext(context.Background(),
		`SELECT MAX(follower_count) FROM relation_counts WHERE follower_count < ?`, o.BigFollowers).Scan(&top); err != nil {
		t.Fatal(err)
	}
	if avg := int64(o.Follows / o.Users); top < 3*avg {
		t.Errorf("most followed ordinary user has %d followers, average %d: no power law", top, avg)
	}
}

// checkReaders checks that each of the first Readers users follows exactly
// ReaderFollows users, every big author among them.
func checkReaders(t *testing.T, e *env, o seed.Options, res seed.Result) {
	ctx := context.Background()
	for i := range o.Readers {
		var id int64
		name := fmt.Sprintf("seed_%06d", i+1)
		if err := e.dbs["user"].QueryRowContext(ctx, "SELECT id FROM users WHERE name = ?", name).Scan(&id); err != nil {
			t.Fatalf("reader %s: %v", name, err)
		}
		if n := count(t, e.dbs["relation"], "SELECT COUNT(*) FROM relation_follows WHERE follower_id = ?", id); n != int64(o.ReaderFollows) {
			t.Errorf("reader %s follows %d users, want %d", name, n, o.ReaderFollows)
		}
		for _, b := range res.BigAuthors {
			if b == id {
				continue
			}
			if n := count(t, e.dbs["relation"], "SELECT COUNT(*) FROM relation_follows WHERE follower_id = ? AND followee_id = ?", id, b); n != 1 {
				t.Errorf("reader %s does not follow big author %d", name, b)
			}
		}
	}
}

// checkFriends checks that both sides of every chat follow each other.
func checkFriends(t *testing.T, e *env) {
	ctx := context.Background()
	rows, err := e.dbs["message"].QueryContext(ctx, "SELECT DISTINCT user_lo, user_hi FROM message_messages")
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]int64
	for rows.Next() {
		var p [2]int64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if len(pairs) == 0 {
		t.Fatal("no conversations")
	}
	for _, p := range pairs {
		for _, dir := range [][2]int64{p, {p[1], p[0]}} {
			f, err := e.stores.Relations.Follows(ctx, dir[0], []int64{dir[1]})
			if err != nil {
				t.Fatal(err)
			}
			if !f[dir[1]] {
				t.Errorf("%d chats with %d but does not follow them", dir[0], dir[1])
			}
		}
	}
}

func checkLogins(t *testing.T, e *env, o seed.Options, res seed.Result) {
	ids, err := idgen.New(1)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("s", 32))), nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	svc := usersvc.New(e.stores.Users, ids, cheapHasher(t), tokens, slog.New(slog.NewTextHandler(io.Discard, nil)))
	seen := map[int64]bool{}
	for i := 1; i <= o.Users; i++ {
		name := fmt.Sprintf("seed_%06d", i)
		resp, err := svc.Login(context.Background(), &user.LoginRequest{Username: name, Password: res.Password})
		if err != nil {
			t.Fatalf("login %s: %v", name, err)
		}
		if seen[resp.GetUserId()] {
			t.Errorf("%s logs in as a user seen before", name)
		}
		seen[resp.GetUserId()] = true
	}
	if _, err := svc.Login(context.Background(), &user.LoginRequest{Username: "seed_000001", Password: "wrong-password"}); err == nil {
		t.Error("a wrong password logs in")
	}
}

func checkMedia(t *testing.T, e *env, res seed.Result) {
	ctx := context.Background()
	for key, ctype := range map[string]string{res.Media.PlayKey: "video/mp4", res.Media.CoverKey: "image/jpeg"} {
		info, err := e.blobs.Stat(ctx, key)
		if err != nil {
			t.Fatalf("blob %q: %v", key, err)
		}
		if info.Size == 0 || info.ContentType != ctype {
			t.Errorf("blob %q: %+v", key, info)
		}
	}
	if !strings.HasPrefix(res.Media.PlayKey, "videos/") || !strings.HasPrefix(res.Media.CoverKey, "covers/") {
		t.Errorf("media keys %+v", res.Media)
	}
	if n := count(t, e.dbs["video"], "SELECT COUNT(*) FROM videos WHERE play_key <> ? OR cover_key <> ?",
		res.Media.PlayKey, res.Media.CoverKey); n != 0 {
		t.Errorf("%d videos do not share the seeded media", n)
	}
}

// TestSeedIsDeterministic seeds twice with the same options into two databases and
// compares every row.
func TestSeedIsDeterministic(t *testing.T) {
	o := tinyOptions()
	a, b := openers["sqlite"](t), openers["sqlite"](t)
	runSeed(t, a, o)
	runSeed(t, b, o)
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Errorf("two runs with seed %d differ", o.Seed)
	}
	o.Seed++
	c := openers["sqlite"](t)
	runSeed(t, c, o)
	if digest(t, a) == digest(t, c) {
		t.Error("another seed gives the same dataset")
	}
}

// digest hashes every seeded table in primary key order.
func digest(t *testing.T, e *env) string {
	h := sha256.New()
	for _, q := range []struct{ service, query string }{
		{"user", "SELECT id, name, password_hash <> '', created_at FROM users ORDER BY id"},
		{"relation", "SELECT follower_id, followee_id, created_at FROM relation_follows ORDER BY follower_id, followee_id"},
		{"video", "SELECT id, author_id, title, play_key, create_time FROM videos ORDER BY id"},
		{"favorite", "SELECT user_id, video_id, author_id, created_at FROM favorite_likes ORDER BY user_id, video_id"},
		{"message", "SELECT id, from_user_id, to_user_id, content, create_time FROM message_messages ORDER BY id"},
		{"video", "SELECT user_id, video_id, create_time FROM video_inbox ORDER BY user_id, video_id"},
		{"comment", `SELECT i.id, video_id, user_id, root_id, parent_id, floor, state, like_count, reply_count, reply_floor, hot,
			version, i.created_at, content FROM comment_index i JOIN comment_content c ON c.comment_id = i.id ORDER BY i.id`},
		{"comment", "SELECT video_id, top_floor, root_count, comment_count FROM comment_subject ORDER BY video_id"},
		{"comment", "SELECT user_id, comment_id, created_at FROM comment_likes ORDER BY user_id, comment_id"},
	} {
		rows, err := e.dbs[q.service].QueryContext(context.Background(), q.query)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(h, vals...)
		}
		rows.Close()
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestOptionsValidate(t *testing.T) {
	bad := map[string]func(*seed.Options){
		"negative users":              func(o *seed.Options) { o.Users = -1 },
		"follows without users":       func(o *seed.Options) { o.Users, o.BigAuthors = 0, 0 },
		"more big authors than users": func(o *seed.Options) { o.BigAuthors = o.Users + 1 },
		"more follows than pairs":     func(o *seed.Options) { o.Users, o.BigAuthors, o.Follows = 3, 0, 7 },
		"likes without videos":        func(o *seed.Options) { o.Videos = 0 },
		"big follows over follows":    func(o *seed.Options) { o.Follows = 100 },
		"no months":                   func(o *seed.Options) { o.Months = 0 },
		"no batch":                    func(o *seed.Options) { o.Batch = 0 },
		"no password":                 func(o *seed.Options) { o.Password = "" },
		"no inbox":                    func(o *seed.Options) { o.InboxSize = 0 },
		"negative pull threshold":     func(o *seed.Options) { o.PullThreshold = -1 },
		"negative author followers":   func(o *seed.Options) { o.AuthorFollowers = []int{-1} },
		"author followers over users": func(o *seed.Options) { o.AuthorFollowers = []int{o.Users} },
		"authors over users":          func(o *seed.Options) { o.BigAuthors, o.AuthorFollowers = o.Users, []int{1} },
		"author follows over follows": func(o *seed.Options) { o.AuthorFollowers = slices.Repeat([]int{900}, 10) },
		"negative readers":            func(o *seed.Options) { o.Readers = -1 },
		"readers over users":          func(o *seed.Options) { o.Readers = o.Users + 1 },
		"reader follows over users":   func(o *seed.Options) { o.Readers, o.ReaderFollows = 1, o.Users },
		"reader follows under big":    func(o *seed.Options) { o.Readers, o.ReaderFollows = 1, o.BigAuthors-1 },
	}
	for name, change := range bad {
		o := seed.DefaultOptions()
		change(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := seed.DefaultOptions().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestSeedRefusesBeforeWriting checks that options the graph cannot hold fail
// before anything is written.
func TestSeedRefusesBeforeWriting(t *testing.T) {
	e := openers["sqlite"](t)
	ids, err := idgen.New(idgen.MaxNode)
	if err != nil {
		t.Fatal(err)
	}
	o := tinyOptions()
	o.Follows = o.BigAuthors*o.BigFollowers + 25 + 10 // no room for friends, but messages asked
	_, err = seed.New(e.stores, seed.Deps{Hasher: cheapHasher(t), IDs: ids, FFmpeg: "ffmpeg"}).Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "friends") {
		t.Fatalf("err = %v, want a message about friends", err)
	}
	o = tinyOptions()
	o.Months = 12 * 100
	if _, err := seed.New(e.stores, seed.Deps{Hasher: cheapHasher(t), IDs: ids, FFmpeg: "ffmpeg"}).Run(context.Background(), o); err == nil {
		t.Fatal("a window before the id epoch was accepted")
	}
	if ok, err := e.stores.Users.Empty(context.Background()); err != nil || !ok {
		t.Fatalf("users written by a refused run (empty %v, %v)", ok, err)
	}
}
