package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/progress"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// CheckResult is what a consistency check found.
type CheckResult struct {
	Counters    int   // stored counts checked (table.column)
	Keys        int64 // keys compared over all of them
	Differences []db.CounterDiff
}

// Unrepaired counts the differences still standing.
func (r CheckResult) Unrepaired() int {
	n := 0
	for _, d := range r.Differences {
		if !d.Repaired {
			n++
		}
	}
	return n
}

// Check compares every stored count (video likes and comments, likes given and
// received, follows and followers, works, comment replies and likes, subject
// counts) with the facts it counts, in the databases cfg names: each service's
// SQLite file under the data directory, or the shared MySQL database. With
// repair set each difference is set right by a recount. Differences go to report
// as they are found; progress goes to out (a terminal when tty). The server may
// be running: each count is compared in a snapshot of its database.
func Check(ctx context.Context, o Options, repair bool, report func(db.CounterDiff), out io.Writer, tty bool) (CheckResult, error) {
	cfg := o.Config
	var res CheckResult
	if err := cfg.Validate(o.Role); err != nil {
		return res, err
	}
	opened := map[string]*db.DB{}
	defer func() {
		for _, d := range opened {
			d.Close()
		}
	}()
	open := func(service string) (*db.DB, error) {
		key, opts := dbOptions(cfg.Database.Driver, cfg.Database.DSN, cfg.DataDir, service)
		if d, ok := opened[key]; ok {
			return d, nil
		}
		d, err := db.Open(ctx, opts)
		if err != nil {
			return nil, err
		}
		opened[key] = d
		return d, nil
	}
	type counted interface{ Counters() []db.Counter }
	stores := []struct {
		service string
		store   func(*db.DB) (counted, error)
	}{
		{"video", func(d *db.DB) (counted, error) { return videosvc.NewSQLStore(ctx, d, nil) }},
		{"favorite", func(d *db.DB) (counted, error) { return favoritesvc.NewSQLStore(ctx, d) }},
		{"relation", func(d *db.DB) (counted, error) { return relationsvc.NewSQLStore(ctx, d, nil) }},
		{"comment", func(d *db.DB) (counted, error) { return commentsvc.NewSQLStore(ctx, d, nil) }},
	}
	bar := progress.New(out, tty)
	for _, s := range stores {
		d, err := open(s.service)
		if err != nil {
			return res, err
		}
		st, err := s.store(d) // migrates, as the role would
		if err != nil {
			return res, err
		}
		for _, c := range st.Counters() {
			var total int64
			if err := d.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s`, c.Table)).Scan(&total); err != nil {
				return res, err
			}
			phase := bar.Start(c.Name(), total)
			n, err := d.CheckCounter(ctx, c, repair, phase.Add, func(diff db.CounterDiff) {
				res.Differences = append(res.Differences, diff)
				report(diff)
			})
			phase.Finish()
			res.Counters++
			res.Keys += n
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// dbOptions names the database of a service, as every process opens it: a
// SQLite file of its own under dataDir, or the one shared MySQL database (key
// tells which handles can be shared).
func dbOptions(driver, dsn, dataDir, service string) (key string, o db.Options) {
	if driver == "sqlite" {
		return service, db.Options{Driver: db.SQLite, DSN: filepath.Join(dataDir, "db", service+".db")}
	}
	return "shared", db.Options{Driver: db.MySQL, DSN: dsn}
}
