package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// validServiceName reports whether s is safe and portable inside a table name: a lower-case
// letter, then up to 47 lower-case letters, digits or underscores.
func validServiceName(s string) bool {
	if len(s) == 0 || len(s) > 48 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Migrate applies the goose migrations in fsys that this database has not seen yet. fsys
// holds the SQL files at its root (0001_init.sql, 0002_....sql, each with "-- +goose Up" and
// "-- +goose Down" sections); a service passes fs.Sub of its embedded migrations directory.
//
// Each service records its versions in its own table, goose_<service>, so services can
// share one database without their version numbers colliding. Re-running is a no-op.
//
// On MySQL, processes that migrate the same service at the same time take turns on a named
// server lock (GET_LOCK) held for the whole run, from before goose looks for its version
// table to after the last migration, on a connection of its own that the server releases
// the lock with if the process dies. MySQL cannot roll back DDL, so without it two processes
// could both apply the same migration; and goose's own session lock is taken only after it
// has created the version table and written version 0, so a process starting a moment later
// could find the table without that row and fail ("missing zero version migration"). A
// SQLite file belongs to one process; calls through the same DB are serialised.
func (db *DB) Migrate(ctx context.Context, service string, fsys fs.FS) error {
	if !validServiceName(service) {
		return fmt.Errorf("db: migrate: service name %q must be a lower-case letter followed by up to 47 lower-case letters, digits or underscores", service)
	}
	table := "goose_" + service
	opts := []goose.ProviderOption{
		goose.WithTableName(table),
		// Go migrations registered globally by some other package must never leak into this
		// service's history.
		goose.WithDisableGlobalRegistry(true),
	}
	var dialect goose.Dialect
	switch db.Dialect {
	case SQLite:
		dialect = goose.DialectSQLite3
	case MySQL:
		dialect = goose.DialectMySQL
	default:
		return fmt.Errorf("db: migrate: unknown dialect %q", db.Dialect)
	}

	db.migrateMu.Lock()
	defer db.migrateMu.Unlock()
	if db.Dialect == MySQL {
		unlock, err := mysqlMigrationLock{table: table}.hold(ctx, db)
		if err != nil {
			return fmt.Errorf("db: migrate %s: %w", service, err)
		}
		defer unlock()
	}

	// The provider is not closed: its Close would close db.DB, which the caller owns.
	p, err := goose.NewProvider(dialect, db.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("db: migrate %s: %w", service, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate %s: %w", service, err)
	}
	return nil
}

// mysqlMigrationLock serialises the migrations of one service's tables across processes with
// a MySQL named lock. Goose v3.28 ships only a table-based locker for MySQL, which reads
// DATETIME columns into time.Time and so needs parseTime=true (the pool deliberately leaves it
// off), which a killed process leaves held until its lease runs out, and which is taken too
// late (see Migrate). A named lock belongs to the connection: the server releases it the
// moment that connection goes away.
type mysqlMigrationLock struct {
	table string
}

// hold takes the lock on a connection of its own and returns what releases it.
func (l mysqlMigrationLock) hold(ctx context.Context, db *DB) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := l.SessionLock(ctx, conn); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		// Closing the connection releases the lock in any case; unlocking first
		// hands it over without waiting for the server to notice.
		_ = l.SessionUnlock(context.Background(), conn)
		conn.Close()
	}, nil
}

// mysqlLockWait is how long one GET_LOCK call waits on the server before the client checks
// its context again; it bounds how late a cancellation is noticed.
const mysqlLockWait = 1 // seconds

// mysqlLockNameMax is MySQL's limit on the length of a named lock.
const mysqlLockNameMax = 64

func (l mysqlMigrationLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	name, err := l.name(ctx, conn)
	if err != nil {
		return err
	}
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, mysqlLockWait).Scan(&got); err != nil {
			return fmt.Errorf("db: take migration lock %s: %w", name, err)
		}
		switch {
		case !got.Valid:
			return fmt.Errorf("db: take migration lock %s: GET_LOCK returned NULL", name)
		case got.Int64 == 1:
			return nil
		}
		// Another process holds the lock and is migrating; wait again unless told to stop.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("db: take migration lock %s: %w", name, err)
		}
	}
}

func (l mysqlMigrationLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	name, err := l.name(ctx, conn)
	if err != nil {
		return err
	}
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released); err != nil {
		return fmt.Errorf("db: release migration lock %s: %w", name, err)
	}
	if !released.Valid || released.Int64 != 1 {
		return errors.New("db: release migration lock " + name + ": not held by this connection")
	}
	return nil
}

// name returns the lock's name. Named locks are server-wide, so the name includes the
// database; names longer than MySQL allows are replaced by a digest.
func (l mysqlMigrationLock) name(ctx context.Context, conn *sql.Conn) (string, error) {
	var database sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil {
		return "", fmt.Errorf("db: migration lock: %w", err)
	}
	name := "mdouyin.migrate." + database.String + "." + l.table
	if len(name) > mysqlLockNameMax {
		sum := sha256.Sum256([]byte(database.String + "\x00" + l.table))
		name = "mdouyin.migrate." + hex.EncodeToString(sum[:16])
	}
	return name, nil
}

// MigrationsIn returns the migrations directory of a service's embedded files
// (embedded with `//go:embed migrations/*.sql`), ready for Migrate.
func MigrationsIn(files embed.FS) fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sub
}
