package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openDB opens an empty database of the given kind; MySQL needs MDOUYIN_TEST_MYSQL_DSN.
func openDB(t *testing.T, kind db.Dialect) *db.DB {
	t.Helper()
	ctx := context.Background()
	o := db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), "o.db")}
	name := fmt.Sprintf("mdouyin_outbox_%d", time.Now().UnixNano())
	if kind == db.MySQL {
		o = db.Options{Driver: db.MySQL, DSN: testenv.MySQLDSN(t) + name}
	}
	d, err := db.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if kind == db.MySQL {
			d.ExecContext(context.Background(), "DROP DATABASE "+name)
		}
		d.Close()
	})
	return d
}

func embeddedBus(t *testing.T, dir string) (*mq.Embedded, *mq.Bus) {
	t.Helper()
	ctx := context.Background()
	e, err := mq.StartEmbedded(ctx, mq.EmbeddedOptions{StoreDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, mq.StreamSpec{Name: "TEST", Subjects: []string{"test.>"}, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	return e, b
}

// collect consumes the test stream into a channel of "subject payload" strings.
func collect(t *testing.T, b *mq.Bus, durable string) <-chan string {
	t.Helper()
	got := make(chan string, 1000)
	sub, err := b.Consume(context.Background(), mq.ConsumerSpec{Stream: "TEST", Durable: durable, MaxAckPending: 1},
		func(ctx context.Context, m mq.Msg) error { got <- m.Subject + " " + string(m.Data); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	return got
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no event arrived")
		return ""
	}
}

func TestOutbox(t *testing.T) {
	for _, kind := range []db.Dialect{db.SQLite, db.MySQL} {
		t.Run(string(kind), func(t *testing.T) { testOutbox(t, openDB(t, kind)) })
	}
}

func testOutbox(t *testing.T, d *db.DB) {
	ctx := context.Background()
	e, bus := embeddedBus(t, t.TempDir())
	defer e.Shutdown()
	defer bus.Close()
	if _, err := New(ctx, d, "Bad-Name", bus, quiet); err == nil {
		t.Fatal("invalid service name accepted")
	}
	o, err := New(ctx, d, "svc", bus, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, d, "svc", bus, quiet); err != nil {
		t.Fatalf("second New on the same table: %v", err)
	}
	d.ExecContext(ctx, "CREATE TABLE facts (id BIGINT PRIMARY KEY)")

	write := func(id int, commit bool) {
		t.Helper()
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO facts (id) VALUES (?)", id); err != nil {
				return err
			}
			if err := o.Add(ctx, tx, "test.fact", fmt.Sprintf("fact-%d", id), []byte(fmt.Sprint(id))); err != nil {
				return err
			}
			if !commit {
				return fmt.Errorf("rolled back on purpose")
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
	}
	// Events written before the relay runs wait in the table.
	write(1, true)
	write(2, false) // rolled back: neither fact nor event
	write(3, true)
	if n, _ := o.Pending(ctx); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); o.Run(runCtx) }()
	got := collect(t, bus, "c1")
	if a, b := next(t, got), next(t, got); a != "test.fact 1" || b != "test.fact 3" {
		t.Fatalf("events %q, %q; want facts 1 then 3", a, b)
	}
	for i := 4; i < 250; i++ { // more than one batch, in order
		write(i, true)
		o.Notify()
	}
	for i := 4; i < 250; i++ {
		if s := next(t, got); s != fmt.Sprintf("test.fact %d", i) {
			t.Fatalf("event %d arrived as %q", i, s)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := o.Pending(ctx); n != 0; n, _ = o.Pending(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("%d events never left the outbox", n)
		}
		time.Sleep(10 * time.Millisecond) // polling the relay's progress
	}
	stop()
	wg.Wait()

	// A row published but not yet deleted (a crash between the two) is published
	// again; the stream drops the duplicate by its message id.
	if err := d.InTx(ctx, func(tx *sql.Tx) error { return o.Add(ctx, tx, "test.fact", "fact-1", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	write(999, true)
	runCtx, stop = context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); o.Run(runCtx) }()
	if s := next(t, got); s != "test.fact 999" {
		t.Fatalf("after a replayed duplicate the next event is %q, want fact 999", s)
	}
	stop()
	wg.Wait()
}

// TestRelayWaitsForTheStream checks that events survive while the stream refuses
// them and go out once it accepts.
func TestRelayWaitsForTheStream(t *testing.T) {
	ctx := context.Background()
	d := openDB(t, db.SQLite)
	e, bus := embeddedBus(t, t.TempDir())
	defer e.Shutdown()
	defer bus.Close()
	o, err := New(ctx, d, "svc", bus, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// No stream captures this subject yet: publishing fails.
	if err := d.InTx(ctx, func(tx *sql.Tx) error { return o.Add(ctx, tx, "later.x", "x1", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	if n, err := o.relayBatch(ctx); err == nil || n != 0 {
		t.Fatalf("relay with no stream: %d, %v", n, err)
	}
	if n, _ := o.Pending(ctx); n != 1 {
		t.Fatal("a refused event left the outbox")
	}
	if err := bus.EnsureStream(ctx, mq.StreamSpec{Name: "LATER", Subjects: []string{"later.>"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := o.relayBatch(ctx); err != nil || n != 1 {
		t.Fatalf("relay once the stream exists: %d, %v", n, err)
	}
}
