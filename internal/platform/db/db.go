// Package db opens the relational database a service keeps its tables in: a SQLite file when
// every role runs in one process, MySQL or MariaDB when roles run as separate processes.
//
// Services write their SQL once for both. Queries use `?` placeholders, which both drivers
// accept, so there is no rebinding step; migrations stick to portable types (BIGINT, INT,
// VARCHAR(n), TEXT) and statements (CREATE [UNIQUE] INDEX); times are stored as BIGINT epoch
// milliseconds, so neither driver is asked to convert them. The few places where the two
// dialects differ are helpers here: [IsUniqueViolation] and [DB.InsertIgnore].
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database engine behind a DB, so that the few statements that differ
// between engines can be chosen at run time.
type Dialect string

// The supported dialects.
const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

// Options say which database to open.
type Options struct {
	// Driver selects the engine.
	Driver Dialect
	// DSN is, for SQLite, a plain file path such as data/user.db (the parent directory is
	// created); for MySQL, a github.com/go-sql-driver/mysql DSN that names a database, such as
	// root@tcp(127.0.0.1:3306)/mdouyin.
	DSN string
	// MaxOpenConns bounds the connection pool; zero picks a default suited to the engine.
	MaxOpenConns int
	// BusyTimeout is, for SQLite, how long a statement waits for the write lock
	// before failing with "database is locked" (InTx transactions wait their turn
	// in the process first, so it counts only from then); zero means 10 s.
	BusyTimeout time.Duration
}

// DB is a connection pool together with the dialect it speaks. The embedded *sql.DB is used
// directly for queries; DB adds migrations and the dialect-dependent helpers.
type DB struct {
	*sql.DB
	Dialect Dialect

	// writers, on SQLite, admits one InTx transaction at a time, in arrival order
	// (a channel's waiting senders are served first come, first served). SQLite
	// lets one writer in at a time and makes the others poll for the lock with
	// growing sleeps, so under a burst of writers a waiter can keep missing its
	// turn until the busy timeout fails it, however short each transaction; in
	// this queue it waits only for the transactions ahead of it, for as long as
	// its context allows. Nil on MySQL, which locks rows, not the database.
	writers chan struct{}

	// migrateMu serialises Migrate calls made through this DB. Across processes MySQL is
	// protected by a server-side lock; a SQLite file belongs to one process, so this mutex is
	// all it needs.
	migrateMu sync.Mutex
}

// SQLite connection settings. busy_timeout makes a writer wait for the write lock instead of
// failing with "database is locked"; WAL lets readers proceed while one writer writes; with
// WAL, synchronous=NORMAL loses nothing when the process is killed (only a power cut can
// drop the last commits), at a fraction of the cost of FULL; _txlock=immediate makes every
// read-write transaction take the write lock at BEGIN, so two transactions that both read
// and then write cannot deadlock trying to upgrade (SQLite answers such an upgrade with
// SQLITE_BUSY at once, without waiting for the busy timeout).
const (
	sqliteBusyTimeout = 10 * time.Second
	sqliteTxLock      = "immediate"
)

// MySQL pool settings. Connections are recycled well before the server's wait_timeout and
// the idle timeouts of proxies and load balancers, so the pool never hands out a connection
// the other side has already dropped.
const (
	mysqlDefaultMaxOpenConns = 32
	mysqlConnMaxLifetime     = 5 * time.Minute
	mysqlConnMaxIdleTime     = 2 * time.Minute
	mysqlDialTimeout         = 5 * time.Second
)

// MySQL charset and collation. utf8mb4 stores every Unicode character (MySQL's "utf8" stops
// at three bytes and cannot hold emoji); the binary collation compares strings byte by byte,
// as SQLite does, so uniqueness and equality mean the same thing on both engines.
const (
	mysqlCharset   = "utf8mb4"
	mysqlCollation = "utf8mb4_bin"
)

// MySQL error numbers the package interprets.
const (
	mysqlErrBadDB               = 1049 // ER_BAD_DB_ERROR: unknown database
	mysqlErrDupEntry            = 1062 // ER_DUP_ENTRY
	mysqlErrDupEntryWithKeyName = 1586 // ER_DUP_ENTRY_WITH_KEY_NAME
)

// Open opens and pings the database described by o. For SQLite it creates the file's parent
// directory and checks that WAL mode took effect; for MySQL it creates the database if it
// does not exist yet and refuses one whose default collation would compare strings
// differently from SQLite.
func Open(ctx context.Context, o Options) (*DB, error) {
	switch o.Driver {
	case SQLite:
		return openSQLite(ctx, o)
	case MySQL:
		return openMySQL(ctx, o)
	default:
		return nil, fmt.Errorf("db: unknown driver %q (want %q or %q)", o.Driver, SQLite, MySQL)
	}
}

func openSQLite(ctx context.Context, o Options) (*DB, error) {
	path := o.DSN
	switch {
	case path == "":
		return nil, errors.New("db: sqlite DSN is empty; want a file path such as data/user.db")
	case strings.HasPrefix(path, "file:") || strings.Contains(path, "?") || path == ":memory:":
		// The driver splits a DSN at its first '?' and treats "file:" as a URI; a plain path
		// keeps the settings below in our hands and the file where the operator expects it.
		return nil, fmt.Errorf("db: sqlite DSN %q must be a plain file path without '?' or a file: prefix", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("db: create directory for %s: %w", path, err)
	}

	q := url.Values{}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = sqliteBusyTimeout
	}
	q.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", sqliteTxLock)
	connector, err := sqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("db: sqlite %s: %w", path, err)
	}
	sqlDB := sql.OpenDB(connector)

	// WAL lets any number of connections read while one writes; writers queue on the
	// busy timeout. A handful of connections per CPU keeps reads parallel without piling up
	// writers that can only take turns.
	n := o.MaxOpenConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)

	var mode string
	if err := sqlDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// SQLite silently keeps the old mode where WAL is unsupported (some network file
		// systems); concurrent writers would then fail, so stop here instead.
		sqlDB.Close()
		return nil, fmt.Errorf("db: sqlite %s: journal mode is %q, want wal (is the file on a local file system?)", path, mode)
	}
	return &DB{DB: sqlDB, Dialect: SQLite, writers: make(chan struct{}, 1)}, nil
}

func openMySQL(ctx context.Context, o Options) (*DB, error) {
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		// The parser's errors describe the problem without echoing the DSN, which may hold a
		// password.
		return nil, fmt.Errorf("db: mysql DSN: %w", err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("db: mysql DSN for %s names no database; want user@tcp(host:port)/dbname", cfg.Addr)
	}
	// Times are BIGINT epoch milliseconds; a DATETIME that slips in stays raw bytes rather
	// than being converted in some time zone.
	cfg.ParseTime = false
	// Placeholders are filled in by the driver, saving the prepare round trip per query.
	// This is safe because the connection charset is utf8mb4, where escaping is unambiguous.
	cfg.InterpolateParams = true
	if cfg.Timeout == 0 {
		cfg.Timeout = mysqlDialTimeout
	}
	if err := cfg.Apply(mysql.Charset(mysqlCharset, mysqlCollation)); err != nil {
		return nil, fmt.Errorf("db: mysql config: %w", err)
	}

	sqlDB, err := connectMySQL(ctx, cfg)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == mysqlErrBadDB {
		if err := createMySQLDatabase(ctx, cfg); err != nil {
			return nil, err
		}
		sqlDB, err = connectMySQL(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("db: connect to mysql at %s, database %q: %w", cfg.Addr, cfg.DBName, err)
	}
	if err := checkMySQLSchema(ctx, sqlDB, cfg); err != nil {
		sqlDB.Close()
		return nil, err
	}

	n := o.MaxOpenConns
	if n <= 0 {
		n = mysqlDefaultMaxOpenConns
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(mysqlConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(mysqlConnMaxIdleTime)
	return &DB{DB: sqlDB, Dialect: MySQL}, nil
}

// connectMySQL opens a pool for cfg and pings it, closing the pool again if the ping fails.
func connectMySQL(ctx context.Context, cfg *mysql.Config) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	sqlDB := sql.OpenDB(connector)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return sqlDB, nil
}

// createMySQLDatabase creates the database cfg names, with the charset and collation that
// make MySQL compare strings as SQLite does. IF NOT EXISTS lets several processes starting
// at once all succeed.
func createMySQLDatabase(ctx context.Context, cfg *mysql.Config) error {
	server := cfg.Clone()
	server.DBName = ""
	sqlDB, err := connectMySQL(ctx, server)
	if err != nil {
		return fmt.Errorf("db: connect to mysql at %s to create database %q: %w", cfg.Addr, cfg.DBName, err)
	}
	defer sqlDB.Close()
	stmt := "CREATE DATABASE IF NOT EXISTS " + quoteMySQLIdent(cfg.DBName) +
		" CHARACTER SET " + mysqlCharset + " COLLATE " + mysqlCollation
	if _, err := sqlDB.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("db: create database %q on mysql at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	return nil
}

// checkMySQLSchema refuses a database whose default charset or collation differs from what
// the services assume. Tables take the database's defaults, so a case-insensitive collation
// would quietly make "Alice" and "alice" the same user name in a cluster but not in one
// process. Any utf8mb4 binary collation is accepted (utf8mb4_bin, or the NO PAD variants
// utf8mb4_nopad_bin and utf8mb4_0900_bin, which also keep trailing spaces significant).
func checkMySQLSchema(ctx context.Context, sqlDB *sql.DB, cfg *mysql.Config) error {
	var charset, collation string
	err := sqlDB.QueryRowContext(ctx,
		"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()",
	).Scan(&charset, &collation)
	if err != nil {
		return fmt.Errorf("db: read charset of database %q on mysql at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	if charset != mysqlCharset || !strings.HasSuffix(collation, "_bin") {
		return fmt.Errorf("db: database %q on mysql at %s has charset %s and collation %s; want %s with a binary collation: "+
			"ALTER DATABASE %s CHARACTER SET %s COLLATE %s (existing tables keep their own collation)",
			cfg.DBName, cfg.Addr, charset, collation, mysqlCharset, quoteMySQLIdent(cfg.DBName), mysqlCharset, mysqlCollation)
	}
	return nil
}

// quoteMySQLIdent quotes a MySQL identifier so that any database name from a DSN is safe to
// splice into DDL, which cannot take placeholders.
func quoteMySQLIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// InTx runs fn in a transaction and commits it if fn returns nil. If fn returns an error the
// transaction is rolled back and that error is returned unwrapped, so callers can match
// their own sentinel errors; if fn panics (or calls runtime.Goexit, as t.Fatal does) the
// transaction is rolled back before the panic continues, so the connection goes back to the
// pool clean.
//
// On SQLite the transaction takes the write lock at BEGIN (see Open), so transactions run
// one at a time, queueing for it in this process first (DB.writers); a read-only
// transaction that must not wait for writers can use BeginTx with
// sql.TxOptions{ReadOnly: true}, which the driver starts deferred. InTx never retries:
// only the caller knows whether running fn twice is safe.
func (db *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.writers != nil {
		select {
		case db.writers <- struct{}{}:
			defer func() { <-db.writers }()
		case <-ctx.Done():
			return fmt.Errorf("db: begin transaction: %w", ctx.Err())
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin transaction: %w", err)
	}
	finished := false
	defer func() {
		if !finished {
			_ = tx.Rollback()
		}
	}()
	err = fn(tx)
	finished = true
	if err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("db: rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err (or an error it wraps) is a duplicate key: a UNIQUE
// index or PRIMARY KEY conflict on SQLite, error 1062 (or 1586) on MySQL. Services use it to
// turn a lost race on a unique key into a business answer such as "name taken".
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlErrDupEntry || me.Number == mysqlErrDupEntryWithKeyName
	}
	return false
}

// InsertIgnore returns the statement prefix that inserts a row unless it would duplicate a
// key, in which case the row is skipped and RowsAffected reports 0: "INSERT OR IGNORE" on
// SQLite, "INSERT IGNORE" on MySQL. Use it as db.InsertIgnore() + " INTO t (a, b) VALUES (?, ?)"
// for writes that are idempotent by key, such as likes and follows.
//
// Both engines ignore more than duplicates: SQLite also skips rows that break NOT NULL or
// CHECK constraints, and MySQL turns many errors (a too-long string, a NULL in a NOT NULL
// column) into warnings and stores a truncated or default value. Validate input before
// relying on it.
func (db *DB) InsertIgnore() string {
	if db.Dialect == MySQL {
		return "INSERT IGNORE"
	}
	return "INSERT OR IGNORE"
}

// Deadlock retries. InnoDB may pick a deadlock victim even among transactions that
// lock rows in one agreed order (gap and insert-intention locks on indexes), and it
// rolls the victim back whole.
const (
	maxTxAttempts = 10
	retryBackoff  = 5 * time.Millisecond
	mysqlDeadlock = 1213 // ER_LOCK_DEADLOCK
)

// InTxRetry is InTx for transactions that are safe to run again: fn is run anew
// when MySQL chose its transaction as a deadlock victim, with jittered back-off.
// Only use it when every write in fn is idempotent by key and nothing outside the
// transaction remembers a failed attempt. SQLite takes the write lock at BEGIN
// (immediate transactions) and never deadlocks, so there it is InTx.
func (db *DB) InTxRetry(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.InTx(ctx, fn)
		var me *mysql.MySQLError
		if err == nil || attempt == maxTxAttempts || !errors.As(err, &me) || me.Number != mysqlDeadlock {
			return err
		}
		// Jitter spreads the victims out so they do not collide again in step.
		wait := retryBackoff * time.Duration(attempt)
		wait += rand.N(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Placeholders returns n comma-separated "?" for an IN list.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Int64Args turns ids into query arguments.
func Int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
