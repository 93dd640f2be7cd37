// Package svctest is what every service's test suite needs to run in each placement
// and on each database: an empty database per engine, and a real Kitex server on
// loopback to call the service through.
package svctest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// Databases returns, per engine ("sqlite", "mysql"), a function that opens an empty
// database for service and removes it when the test ends. MySQL needs
// MDOUYIN_TEST_MYSQL_DSN (see testenv): call the function inside a subtest so that
// SQLite still runs where MariaDB is not configured.
func Databases(service string) map[string]func(t *testing.T) *db.DB {
	return map[string]func(t *testing.T) *db.DB{
		"sqlite": func(t *testing.T) *db.DB {
			t.Helper()
			d, err := db.Open(context.Background(), db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), service+".db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
		"mysql": func(t *testing.T) *db.DB {
			t.Helper()
			dsn := testenv.MySQLDSN(t)
			name := fmt.Sprintf("mdouyin_%s_%d", service, time.Now().UnixNano())
			d, err := db.Open(context.Background(), db.Options{Driver: db.MySQL, DSN: dsn + name})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				d.ExecContext(context.Background(), "DROP DATABASE "+name)
				d.Close()
			})
			return d
		},
	}
}

// ServeKitex runs the Kitex server that newServer builds from the shared server
// options on a free loopback port until the test ends, and returns its address.
func ServeKitex(t *testing.T, role string, newServer func(opts []server.Option) server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svr := newServer(rpc.ServerOptions(ctx, role, ln))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kitex server of %s: %v", role, err)
		}
	})
	return ln.Addr().String()
}

// WantCode fails the test unless err carries the business code want.
func WantCode(t testing.TB, err error, want base.ErrCode) {
	t.Helper()
	if got := errs.CodeOf(err); got != want {
		t.Fatalf("error code = %v (%v), want %v", got, err, want)
	}
}

// Bus starts an embedded JetStream server of the test's own, so that parallel
// test packages never share a stream or a durable consumer, and connects to it.
// Both stop when the test ends.
func Bus(t testing.TB) *mq.Bus {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := mq.StartEmbedded(context.Background(), mq.EmbeddedOptions{StoreDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	bus, err := e.Connect(context.Background(), mq.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return bus
}

// Outbox opens service's outbox on d, relaying to bus (nil: nothing relays, and
// events stay in the table for the test to read). A nil log discards.
func Outbox(t testing.TB, d *db.DB, service string, bus *mq.Bus, log *slog.Logger) *outbox.Outbox {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ob, err := outbox.New(context.Background(), d, service, bus, log)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}
