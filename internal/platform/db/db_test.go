package db_test

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// target makes fresh, empty databases of one dialect for the conformance suite.
type target struct {
	// fresh returns options for a new, empty database that is removed when the test ends.
	fresh func(t *testing.T) db.Options
	// oneProcess is true when a database belongs to a single process (SQLite), so that
	// several handles on it never migrate concurrently.
	oneProcess bool
}

func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runConformance(t, target{fresh: freshSQLite, oneProcess: true})
	})
	t.Run("mysql", func(t *testing.T) {
		server := testenv.MySQLDSN(t)
		runConformance(t, target{fresh: func(t *testing.T) db.Options { return freshMySQL(t, server) }})
	})
}

func freshSQLite(t *testing.T) db.Options {
	return db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), "data", "test.db")}
}

// freshMySQL names a database that does not exist yet (db.Open creates it) and drops it
// when the test ends.
func freshMySQL(t *testing.T, server string) db.Options {
	t.Helper()
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.MySQLVar, err)
	}
	cfg.DBName = "mdouyin_test_" + strings.ToLower(crand.Text())
	name := cfg.DBName
	t.Cleanup(func() {
		if _, err := adminMySQL(t, server).Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return db.Options{Driver: db.MySQL, DSN: cfg.FormatDSN()}
}

// adminMySQL returns a pool on the server itself, outside any database, closed when the
// test ends.
func adminMySQL(t *testing.T, server string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.MySQLVar, err)
	}
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("mysql connector: %v", err)
	}
	admin := sql.OpenDB(connector)
	t.Cleanup(func() { admin.Close() })
	return admin
}

func open(t *testing.T, o db.Options) *db.DB {
	t.Helper()
	d, err := db.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.Driver, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// migrations returns the test migrations of one pretend service, as a service would pass
// fs.Sub of its embedded migrations directory.
func migrations(dir string) fs.FS {
	return os.DirFS(filepath.Join("testdata", dir))
}

// migrated opens a fresh database with the notes and tags test schemas applied.
func migrated(t *testing.T, tg target) *db.DB {
	t.Helper()
	d := open(t, tg.fresh(t))
	for _, svc := range []string{"notes", "tags"} {
		if err := d.Migrate(t.Context(), svc, migrations(svc)); err != nil {
			t.Fatalf("Migrate(%s): %v", svc, err)
		}
	}
	return d
}

// appliedVersions lists the versions recorded in a service's goose table, duplicates
// included, so that a migration applied twice shows up.
func appliedVersions(t *testing.T, d *db.DB, service string) []int64 {
	t.Helper()
	rows, err := d.QueryContext(t.Context(),
		"SELECT version_id FROM goose_"+service+" WHERE is_applied = 1 ORDER BY version_id")
	if err != nil {
		t.Fatalf("read goose_%s: %v", service, err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

const insertNote = "INSERT INTO notes (id, owner_id, title, body, created_ms) VALUES (?, ?, ?, ?, ?)"

func runConformance(t *testing.T, tg target) {
	t.Run("MigrateTwiceIsIdempotent", func(t *testing.T) {
		d := open(t, tg.fresh(t))
		for i := range 2 {
			if err := d.Migrate(t.Context(), "notes", migrations("notes")); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
			if got, want := appliedVersions(t, d, "notes"), []int64{0, 1, 2}; !slices.Equal(got, want) {
				t.Fatalf("after Migrate #%d goose_notes holds %v, want %v", i+1, got, want)
			}
		}
		// Both migrations created their tables.
		if _, err := d.ExecContext(t.Context(), insertNote, 1, 1, "t", "b", 1); err != nil {
			t.Errorf("insert into notes: %v", err)
		}
		if _, err := d.ExecContext(t.Context(), "INSERT INTO note_counters (owner_id, notes, updated_ms) VALUES (1, 1, 1)"); err != nil {
			t.Errorf("insert into note_counters: %v", err)
		}
	})

	t.Run("MigrateAppliesOnlyNewVersions", func(t *testing.T) {
		d := open(t, tg.fresh(t))
		first := fstest.MapFS{}
		all := fstest.MapFS{}
		for _, name := range []string{"0001_init.sql", "0002_counters.sql"} {
			b, err := os.ReadFile(filepath.Join("testdata", "notes", name))
			if err != nil {
				t.Fatal(err)
			}
			all[name] = &fstest.MapFile{Data: b}
			if name == "0001_init.sql" {
				first[name] = &fstest.MapFile{Data: b}
			}
		}
		if err := d.Migrate(t.Context(), "notes", first); err != nil {
			t.Fatalf("Migrate(first): %v", err)
		}
		if got, want := appliedVersions(t, d, "notes"), []int64{0, 1}; !slices.Equal(got, want) {
			t.Fatalf("after the first release goose_notes holds %v, want %v", got, want)
		}
		if _, err := d.ExecContext(t.Context(), insertNote, 1, 1, "kept", "across upgrade", 1); err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(t.Context(), "notes", all); err != nil {
			t.Fatalf("Migrate(all): %v", err)
		}
		if got, want := appliedVersions(t, d, "notes"), []int64{0, 1, 2}; !slices.Equal(got, want) {
			t.Fatalf("after the second release goose_notes holds %v, want %v", got, want)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notes"); n != 1 {
			t.Errorf("notes holds %d rows after the upgrade, want the 1 written before it", n)
		}
	})

	t.Run("ServicesShareOneDatabase", func(t *testing.T) {
		d := migrated(t, tg)
		if got, want := appliedVersions(t, d, "notes"), []int64{0, 1, 2}; !slices.Equal(got, want) {
			t.Errorf("goose_notes holds %v, want %v", got, want)
		}
		if got, want := appliedVersions(t, d, "tags"), []int64{0, 1}; !slices.Equal(got, want) {
			t.Errorf("goose_tags holds %v, want %v", got, want)
		}
	})

	t.Run("MigrateRejectsBadInput", func(t *testing.T) {
		d := open(t, tg.fresh(t))
		for _, svc := range []string{"", "Notes", "1notes", "no-tes", "notes;drop", strings.Repeat("n", 49)} {
			if err := d.Migrate(t.Context(), svc, migrations("notes")); err == nil {
				t.Errorf("Migrate(%q) succeeded, want an error for the service name", svc)
			}
		}
		// A service pointing at the wrong directory must fail loudly, not start on an
		// empty schema.
		if err := d.Migrate(t.Context(), "empty", fstest.MapFS{}); err == nil {
			t.Error("Migrate with no migration files succeeded, want an error")
		}
	})

	t.Run("ConcurrentMigrate", func(t *testing.T) {
		// The race lost in the past was between creating the version table and
		// writing version 0; it takes several rounds to hit.
		for range 8 {
			concurrentMigrate(t, tg)
		}
	})
	t.Run("TextRoundTripsByteForByte", func(t *testing.T) {
		d := migrated(t, tg)
		texts := []string{
			"plain ascii",
			"中文评论：这个视频太棒了！",
			"emoji 🎬🔥👍🏽 family 👨‍👩‍👧‍👦",
			"\U0001F600",         // a 4-byte character alone
			"𠀀𪚥 CJK extension B", // 4-byte ideographs
			"quotes ' \" ` backslashes \\ \\n \\' percent %_ comment -- ;",
			"tabs\tand\nnewlines\r\n",
			"é precomposed, e\u0301 decomposed",
			"  leading and trailing spaces  ",
			"\u2028\u2029\ufeff\u200b\uffff\U0010FFFF",
			"",
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			texts = append(texts, randomUTF8(rng, 1+rng.IntN(64)))
		}
		long := strings.Repeat("长文本", 3000) // 27,000 bytes: well inside TEXT's 64 KiB
		for i, s := range texts {
			title := s
			if utf8.RuneCountInString(title) > 64 {
				t.Fatalf("test text %d is too long for VARCHAR(64)", i)
			}
			if _, err := d.ExecContext(t.Context(), insertNote, i+1, i+1, title, s+long, int64(1)<<50+int64(i)); err != nil {
				t.Fatalf("insert text %d %q: %v", i, s, err)
			}
		}
		for i, s := range texts {
			var title, body string
			var created int64
			// Look the row up by its title too, so that equality on the stored value is
			// exact as well.
			err := d.QueryRowContext(t.Context(),
				"SELECT title, body, created_ms FROM notes WHERE owner_id = ? AND title = ?", i+1, s,
			).Scan(&title, &body, &created)
			if err != nil {
				t.Errorf("select text %d %q: %v", i, s, err)
				continue
			}
			if title != s {
				t.Errorf("title %d: got %q, want %q", i, title, s)
			}
			if body != s+long {
				t.Errorf("body %d differs after the round trip (len %d, want %d)", i, len(body), len(s+long))
			}
			if want := int64(1)<<50 + int64(i); created != want {
				t.Errorf("created_ms %d: got %d, want %d", i, created, want)
			}
		}
	})

	t.Run("UniqueViolation", func(t *testing.T) {
		d := migrated(t, tg)
		ctx := t.Context()
		if _, err := d.ExecContext(ctx, insertNote, 1, 7, "hello", "first", 1); err != nil {
			t.Fatal(err)
		}
		_, err := d.ExecContext(ctx, insertNote, 2, 7, "hello", "second", 2)
		if !db.IsUniqueViolation(err) {
			t.Errorf("duplicate unique index: IsUniqueViolation(%v) = false, want true", err)
		}
		if !db.IsUniqueViolation(fmt.Errorf("create note: %w", err)) {
			t.Errorf("a wrapped duplicate is not recognised: %v", err)
		}
		_, err = d.ExecContext(ctx, insertNote, 1, 8, "other", "third", 3)
		if !db.IsUniqueViolation(err) {
			t.Errorf("duplicate primary key: IsUniqueViolation(%v) = false, want true", err)
		}
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, insertNote, 3, 7, "hello", "fourth", 4)
			return err
		})
		if !db.IsUniqueViolation(err) {
			t.Errorf("duplicate inside InTx: IsUniqueViolation(%v) = false, want true", err)
		}
		var body string
		if err := d.QueryRowContext(ctx, "SELECT body FROM notes WHERE owner_id = 7 AND title = 'hello'").Scan(&body); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notes"); n != 1 || body != "first" {
			t.Errorf("after the rejected inserts: %d rows, body %q; want 1 row, body \"first\"", n, body)
		}

		// Other failures are not duplicates.
		_, err = d.ExecContext(ctx, insertNote, 5, 7, nil, "null title", 5)
		if err == nil {
			t.Fatal("NULL in a NOT NULL column was accepted")
		}
		if db.IsUniqueViolation(err) {
			t.Errorf("NOT NULL violation reported as a unique violation: %v", err)
		}
		if _, err := d.ExecContext(ctx, "INSERT INTO no_such_table (x) VALUES (1)"); err == nil || db.IsUniqueViolation(err) {
			t.Errorf("missing table: err = %v, IsUniqueViolation must be false", err)
		}
		if db.IsUniqueViolation(nil) || db.IsUniqueViolation(errors.New("UNIQUE constraint failed")) {
			t.Error("IsUniqueViolation accepts nil or a plain error")
		}
	})

	t.Run("StringsCompareAsBytes", func(t *testing.T) {
		// The same keys must be distinct on both engines: SQLite compares bytes, so MySQL
		// must use a binary collation.
		d := migrated(t, tg)
		pairs := [][2]string{{"alice", "Alice"}, {"\u00e9", "e\u0301"}, {"ß", "ss"}, {"Ａ", "A"}}
		id := 0
		for _, p := range pairs {
			for _, s := range p {
				id++
				if _, err := d.ExecContext(t.Context(), insertNote, id, 1, s, "", id); err != nil {
					t.Errorf("insert %q beside %q: %v", s, p, err)
				}
			}
		}
		for _, p := range pairs {
			if n := count(t, d, "SELECT COUNT(*) FROM notes WHERE title = ?", p[0]); n != 1 {
				t.Errorf("WHERE title = %q matched %d rows, want 1", p[0], n)
			}
		}
	})

	t.Run("InTxCommits", func(t *testing.T) {
		d := migrated(t, tg)
		err := d.InTx(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(t.Context(), insertNote, 1, 1, "a", "", 1); err != nil {
				return err
			}
			_, err := tx.ExecContext(t.Context(), "INSERT INTO note_counters (owner_id, notes, updated_ms) VALUES (1, 1, 1)")
			return err
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notes") + count(t, d, "SELECT COUNT(*) FROM note_counters"); n != 2 {
			t.Errorf("after commit the two tables hold %d rows, want 2", n)
		}
	})

	t.Run("InTxRollsBackOnError", func(t *testing.T) {
		d := migrated(t, tg)
		errStop := errors.New("stop")
		err := d.InTx(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(t.Context(), insertNote, 1, 1, "a", "", 1); err != nil {
				return err
			}
			return errStop
		})
		if err != errStop {
			t.Errorf("InTx returned %v, want fn's error unchanged", err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notes"); n != 0 {
			t.Errorf("rolled-back insert left %d rows", n)
		}
	})

	t.Run("InTxRollsBackOnPanicAndGoexit", func(t *testing.T) {
		d := migrated(t, tg)
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want the panic to reach the caller", r)
				}
			}()
			_ = d.InTx(t.Context(), func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(t.Context(), insertNote, 1, 1, "a", "", 1); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = d.InTx(t.Context(), func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(t.Context(), insertNote, 2, 2, "b", "", 2); err != nil {
					return err
				}
				runtime.Goexit() // what t.Fatal does inside fn
				return nil
			})
		}()
		<-done
		if n := count(t, d, "SELECT COUNT(*) FROM notes"); n != 0 {
			t.Errorf("aborted transactions left %d rows", n)
		}
		if inUse := d.Stats().InUse; inUse != 0 {
			t.Errorf("%d connections still in use after the aborted transactions", inUse)
		}
		// The write lock was released: a new write goes through.
		if _, err := d.ExecContext(t.Context(), insertNote, 3, 3, "c", "", 3); err != nil {
			t.Errorf("write after aborted transactions: %v", err)
		}
	})

	t.Run("InsertIgnore", func(t *testing.T) {
		d := migrated(t, tg)
		ctx := t.Context()
		like := d.InsertIgnore() + " INTO tags (note_id, tag) VALUES (?, ?)"
		for _, c := range []struct {
			tag  string
			want int64
		}{{"go", 1}, {"go", 0}, {"Go", 1}, {"go", 0}} {
			res, err := d.ExecContext(ctx, like, 1, c.tag)
			if err != nil {
				t.Fatalf("insert ignore %q: %v", c.tag, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != c.want {
				t.Errorf("insert ignore %q: RowsAffected = %d, %v; want %d", c.tag, n, err, c.want)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM tags"); n != 2 {
			t.Errorf("tags holds %d rows, want 2", n)
		}

		// A skipped row leaves the existing one untouched.
		ignoreNote := d.InsertIgnore() + " INTO notes (id, owner_id, title, body, created_ms) VALUES (?, ?, ?, ?, ?)"
		if _, err := d.ExecContext(ctx, ignoreNote, 1, 1, "t", "original", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, ignoreNote, 1, 2, "u", "replacement", 2); err != nil {
			t.Fatal(err)
		}
		var body string
		if err := d.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&body); err != nil {
			t.Fatal(err)
		}
		if body != "original" {
			t.Errorf("body = %q after an ignored duplicate, want \"original\"", body)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		// Each transaction reads before it writes, the pattern that deadlocks SQLite
		// transactions that start deferred and upgrade to a write lock later.
		d := migrated(t, tg)
		ctx := t.Context()
		if _, err := d.ExecContext(ctx, "INSERT INTO note_counters (owner_id, notes, updated_ms) VALUES (1, 0, 0)"); err != nil {
			t.Fatal(err)
		}
		const writers, perWriter = 8, 50
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					id := w*perWriter + i + 1
					err := d.InTx(ctx, func(tx *sql.Tx) error {
						var n int
						if err := tx.QueryRowContext(ctx, "SELECT notes FROM note_counters WHERE owner_id = 1").Scan(&n); err != nil {
							return err
						}
						if _, err := tx.ExecContext(ctx, insertNote, id, 1, fmt.Sprint("note ", id), "", id); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "UPDATE note_counters SET notes = notes + 1, updated_ms = ? WHERE owner_id = 1", id)
						return err
					})
					if err != nil {
						errs <- fmt.Errorf("writer %d, insert %d: %w", w, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notes"); n != writers*perWriter {
			t.Errorf("notes holds %d rows, want %d", n, writers*perWriter)
		}
		if n := count(t, d, "SELECT notes FROM note_counters WHERE owner_id = 1"); n != writers*perWriter {
			t.Errorf("counter = %d, want %d", n, writers*perWriter)
		}
	})
}

// randomUTF8 returns n random Unicode scalar values other than NUL, drawn from every plane
// so that 1-, 2-, 3- and 4-byte encodings all occur.
func randomUTF8(rng *rand.Rand, n int) string {
	var b strings.Builder
	for written := 0; written < n; {
		var r rune
		switch rng.IntN(4) {
		case 0:
			r = rune(1 + rng.IntN(0x7f))
		case 1:
			r = rune(0x80 + rng.IntN(0x800-0x80))
		case 2:
			r = rune(0x800 + rng.IntN(0x10000-0x800))
		default:
			r = rune(0x10000 + rng.IntN(utf8.MaxRune+1-0x10000))
		}
		if !utf8.ValidRune(r) { // surrogate halves
			continue
		}
		b.WriteRune(r)
		written++
	}
	return b.String()
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "user.db")
	d := open(t, db.Options{Driver: db.SQLite, DSN: path})
	if d.Dialect != db.SQLite {
		t.Errorf("Dialect = %q, want %q", d.Dialect, db.SQLite)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "10000"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
	} {
		// Every pooled connection must carry the settings, not only the first.
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			conn, err := d.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = conn
			var got string
			if err := conn.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", c.pragma, err)
			}
			if got != c.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, c.pragma, got, c.want)
			}
		}
		for _, conn := range conns {
			conn.Close()
		}
	}
}

func TestOpenSQLiteRejectsNonPathDSN(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{"", ":memory:", "file:" + filepath.Join(dir, "a.db"), filepath.Join(dir, "a.db") + "?_txlock=deferred"} {
		if d, err := db.Open(t.Context(), db.Options{Driver: db.SQLite, DSN: dsn}); err == nil {
			d.Close()
			t.Errorf("Open(sqlite, %q) succeeded, want an error", dsn)
		}
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	if d, err := db.Open(t.Context(), db.Options{Driver: "postgres", DSN: "x"}); err == nil {
		d.Close()
		t.Error("Open with an unknown driver succeeded")
	}
}

func TestOpenMySQLErrorNamesAddressNotPassword(t *testing.T) {
	// Nothing listens on port 1, so this needs no server.
	const password = "s3cr3t-Passw0rd"
	_, err := db.Open(t.Context(), db.Options{Driver: db.MySQL, DSN: "mdouyin:" + password + "@tcp(127.0.0.1:1)/mdouyin"})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q does not name the address", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error %q reveals the password", err)
	}
	if _, err := db.Open(t.Context(), db.Options{Driver: db.MySQL, DSN: "root@tcp(127.0.0.1:1)/"}); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("DSN without a database: err = %v, want one saying no database is named", err)
	}
}

func TestOpenMySQL(t *testing.T) {
	server := testenv.MySQLDSN(t)
	o := freshMySQL(t, server)
	d := open(t, o)
	if d.Dialect != db.MySQL {
		t.Errorf("Dialect = %q, want %q", d.Dialect, db.MySQL)
	}
	ctx := t.Context()

	var charset, collation string
	if err := d.QueryRowContext(ctx,
		"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()",
	).Scan(&charset, &collation); err != nil {
		t.Fatal(err)
	}
	if charset != "utf8mb4" || collation != "utf8mb4_bin" {
		t.Errorf("created database has %s/%s, want utf8mb4/utf8mb4_bin", charset, collation)
	}
	if err := d.QueryRowContext(ctx, "SELECT @@character_set_connection, @@collation_connection").Scan(&charset, &collation); err != nil {
		t.Fatal(err)
	}
	if charset != "utf8mb4" || collation != "utf8mb4_bin" {
		t.Errorf("connection uses %s/%s, want utf8mb4/utf8mb4_bin", charset, collation)
	}
	var v any
	if err := d.QueryRowContext(ctx, "SELECT CAST('2020-01-02 03:04:05' AS DATETIME)").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.([]byte); !ok {
		t.Errorf("a DATETIME scans as %T, want raw []byte (parseTime off)", v)
	}

	// Opening again finds the database and leaves it as it is.
	again := open(t, o)
	if err := again.PingContext(ctx); err != nil {
		t.Errorf("second Open: %v", err)
	}
}

func TestOpenMySQLRefusesCaseInsensitiveDatabase(t *testing.T) {
	server := testenv.MySQLDSN(t)
	o := freshMySQL(t, server)
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminMySQL(t, server).ExecContext(t.Context(),
		"CREATE DATABASE `"+cfg.DBName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(t.Context(), o)
	if err == nil {
		d.Close()
		t.Fatal("Open accepted a database with a case-insensitive collation")
	}
	if !strings.Contains(err.Error(), "utf8mb4_general_ci") {
		t.Errorf("error %q does not name the offending collation", err)
	}
}

// concurrentMigrate migrates one fresh database from four handles at once:
// separate pools standing in for processes that start together (one shared
// handle on SQLite, whose file belongs to one process).
func concurrentMigrate(t *testing.T, tg target) {
	t.Helper()
	o := tg.fresh(t)
	first := open(t, o)
	handles := []*db.DB{first, first, first, first}
	if !tg.oneProcess {
		// Separate pools stand in for separate processes starting at once.
		for i := 1; i < len(handles); i++ {
			handles[i] = open(t, o)
		}
	}
	errs := make(chan error, len(handles))
	var wg sync.WaitGroup
	for _, h := range handles {
		wg.Go(func() { errs <- h.Migrate(t.Context(), "notes", migrations("notes")) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	if got, want := appliedVersions(t, first, "notes"), []int64{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("goose_notes holds %v, want each version once: %v", got, want)
	}
}

// TestSQLiteWritersQueue: a burst of write transactions whose combined work is far
// longer than SQLite's busy timeout (50 ms here) all commit: they wait for one
// another in the process's queue, not in SQLite's busy polling, which would fail
// them. A writer whose context ends while it waits gives up without writing.
func TestSQLiteWritersQueue(t *testing.T) {
	d := open(t, db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), "q.db"), BusyTimeout: 50 * time.Millisecond})
	if _, err := d.ExecContext(t.Context(), "CREATE TABLE n (v INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const writers = 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			errs <- d.InTx(t.Context(), func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(t.Context(), "INSERT INTO n (v) VALUES (1)"); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond) // the transaction's work: 12 × 20 ms ≫ 50 ms
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a writer failed: %v", err)
		}
	}
	var n int
	if err := d.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM n").Scan(&n); err != nil || n != writers {
		t.Fatalf("%d rows (%v), want %d", n, err, writers)
	}

	// One writer holds the queue; another, whose context is cancelled while it
	// waits, returns the context's error and writes nothing.
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = d.InTx(t.Context(), func(*sql.Tx) error { close(holding); <-release; return nil })
	}()
	<-holding
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO n (v) VALUES (2)")
			return err
		})
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting writer with a cancelled context: %v, want context.Canceled", err)
	}
	close(release)
	if err := d.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM n WHERE v = 2").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the cancelled writer wrote %d rows (%v)", n, err)
	}
}
