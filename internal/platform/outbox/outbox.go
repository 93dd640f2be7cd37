// Package outbox publishes events that are written in the same database
// transaction as the facts they describe (the transactional outbox pattern).
//
// A service that changes a fact and must tell other roles about it cannot do both
// atomically: the database and the event stream do not share transactions. So the
// service writes the event into a table beside the fact, in the same transaction,
// and a relay publishes committed rows to JetStream and deletes them once the
// stream has acknowledged them. A crash at any point loses nothing: an
// unacknowledged row is published again after restart. Delivery is therefore at
// least once; the row's message id lets JetStream drop the duplicates it sees within
// the stream's duplicate window, and consumers are idempotent for the rest.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
)

// Tuning of the relay.
const (
	batchSize    = 100
	pollInterval = time.Second      // also picks up rows left by a crashed process
	maxBackoff   = 30 * time.Second // between attempts while the stream is down
)

// Outbox is one service's outbox table and its relay.
type Outbox struct {
	db    *db.DB
	table string
	bus   *mq.Bus
	log   *slog.Logger
	wake  chan struct{}
	now   func() time.Time
}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// New ensures the table outbox_<service> exists and returns an Outbox relaying to
// bus. Several services may share one MySQL database; each has its own table.
func New(ctx context.Context, d *db.DB, service string, bus *mq.Bus, log *slog.Logger) (*Outbox, error) {
	if !serviceName.MatchString(service) {
		return nil, fmt.Errorf("outbox: invalid service name %q", service)
	}
	o := &Outbox{db: d, table: "outbox_" + service, bus: bus, log: log, wake: make(chan struct{}, 1), now: time.Now}
	ddl := `CREATE TABLE IF NOT EXISTS ` + o.table + ` (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		subject VARCHAR(255) NOT NULL,
		msg_id VARCHAR(255) NOT NULL,
		payload BLOB NOT NULL,
		created_at BIGINT NOT NULL)`
	if d.Dialect == db.MySQL {
		ddl = `CREATE TABLE IF NOT EXISTS ` + o.table + ` (
		id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		subject VARCHAR(255) NOT NULL,
		msg_id VARCHAR(255) NOT NULL,
		payload MEDIUMBLOB NOT NULL,
		created_at BIGINT NOT NULL) ENGINE=InnoDB`
	}
	if _, err := d.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", o.table, err)
	}
	return o, nil
}

// Add records an event inside the caller's transaction. It is published after the
// transaction commits, at least once, in the order it was added; call Notify after
// the commit so the relay does not wait for its next poll.
func (o *Outbox) Add(ctx context.Context, tx *sql.Tx, subject, msgID string, payload []byte) error {
	if subject == "" || len(subject) > 255 || len(msgID) > 255 {
		return fmt.Errorf("outbox: invalid subject %q or message id", subject)
	}
	if payload == nil {
		payload = []byte{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+o.table+` (subject, msg_id, payload, created_at) VALUES (?, ?, ?, ?)`,
		subject, msgID, payload, o.now().UnixMilli())
	return err
}

// Notify wakes the relay. It never blocks.
func (o *Outbox) Notify() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run relays committed events until ctx ends. It returns nil when ctx ends; while
// the database or the stream fails it logs, backs off and tries again.
func (o *Outbox) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		n, err := o.relayBatch(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 250*time.Millisecond), maxBackoff)
			o.log.WarnContext(ctx, "outbox relay failed; retrying", "table", o.table, "retry_in", backoff, "err", err)
		case n == batchSize:
			backoff = 0
			continue // more waiting
		default:
			backoff = 0
		}
		wait := pollInterval
		if backoff > 0 {
			wait = backoff
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-o.wake:
			timer.Stop()
			if backoff > 0 { // still honour the back-off after a failure
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
			}
		case <-timer.C:
		}
	}
}

// relayBatch publishes up to batchSize of the oldest rows in order and deletes the
// ones the stream acknowledged. It returns how many it published.
func (o *Outbox) relayBatch(ctx context.Context) (int, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT id, subject, msg_id, payload FROM `+o.table+` ORDER BY id LIMIT ?`, batchSize)
	if err != nil {
		return 0, err
	}
	type event struct {
		id      int64
		subject string
		msgID   string
		payload []byte
	}
	var batch []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.id, &e.subject, &e.msgID, &e.payload); err != nil {
			rows.Close()
			return 0, err
		}
		batch = append(batch, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var done []int64
	var pubErr error
	for _, e := range batch {
		if pubErr = o.bus.Publish(ctx, e.subject, e.msgID, e.payload); pubErr != nil {
			break
		}
		done = append(done, e.id)
	}
	if len(done) > 0 {
		args := make([]any, len(done))
		for i, id := range done {
			args[i] = id
		}
		// Deleting by id, not by range: another relay (a second replica) may be
		// working on the same table; each only removes what it published.
		if _, err := o.db.ExecContext(ctx, `DELETE FROM `+o.table+` WHERE id IN (?`+strings.Repeat(",?", len(done)-1)+`)`, args...); err != nil {
			return len(done), err
		}
	}
	return len(done), pubErr
}

// Pending reports how many events wait to be published, for metrics and tests.
func (o *Outbox) Pending(ctx context.Context) (int, error) {
	var n int
	err := o.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+o.table).Scan(&n)
	return n, err
}
