package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// errDifferences makes `mdouyin check` exit non-zero when counts are wrong.
var errDifferences = errors.New("stored counts differ from their facts")

// runCheck is the check subcommand: it compares every stored count with the
// facts it counts, printing each difference, and repairs them with --repair.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mdouyin check", flag.ContinueOnError)
	fs.SetOutput(stdout)
	repair := fs.Bool("repair", false, "set every wrong count to what its facts say")
	cfgPath := fs.String("config", getenv("MDOUYIN_CONFIG"), "YAML configuration file (env MDOUYIN_CONFIG); MDOUYIN_* variables override it")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: mdouyin check [flags]\n\nCompares every stored count (likes, comments, follows, works, replies) with the facts\nit counts, in the configured databases, and prints each difference. The server may keep\nrunning. Exits 1 when a difference remains.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg, log, err := loadConfig(*cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	res, err := app.Check(ctx, app.Options{Config: cfg, Log: log}, *repair, func(d db.CounterDiff) {
		state := ""
		if d.Repaired {
			state = " (repaired)"
		}
		fmt.Fprintf(stdout, "%s key=%d stored=%d actual=%d%s\n", d.Counter, d.Key, d.Stored, d.Actual, state)
	}, stderr, isTerminal(stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked %d counts over %d keys: %d differences, %d repaired\n",
		res.Counters, res.Keys, len(res.Differences), len(res.Differences)-res.Unrepaired())
	if len(res.Differences) > 0 && *repair {
		fmt.Fprintln(stdout, "repaired counts reach cached copies when those expire or the rows next change; restart the roles to see them at once")
	}
	if res.Unrepaired() > 0 {
		return errDifferences
	}
	return nil
}
