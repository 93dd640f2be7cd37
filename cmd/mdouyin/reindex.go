package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mdouyin/mdouyin/internal/app"
)

// runReindex is the reindex subcommand: it rebuilds the comment search index of
// the configured data directory, with a progress bar on stderr.
func runReindex(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mdouyin reindex", flag.ContinueOnError)
	fs.SetOutput(stdout)
	role := fs.String("role", "", `"comment-admin" to read comments from the roles in MDOUYIN_PEERS; empty: from this data directory's own stores`)
	cfgPath := fs.String("config", getenv("MDOUYIN_CONFIG"), "YAML configuration file (env MDOUYIN_CONFIG); MDOUYIN_* variables override it")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: mdouyin reindex [flags]\n\nRebuilds the comment search index (data_dir/search) from the comments in the database.\nStop the server that uses the index first.")
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
	n, err := app.Reindex(ctx, app.Options{Config: cfg, Role: *role, Log: log}, stderr, isTerminal(stderr))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "indexed %d comments\n", n)
	return nil
}
