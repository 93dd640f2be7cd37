// Command mdouyin is the whole mdouyin backend in one binary. With no arguments it
// runs every role in one process on embedded defaults; `serve --role=NAME` runs one
// role, for a cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mdouyin:", err)
			os.Exit(1)
		}
	}
}

const usage = `mdouyin: a backend for short-video social apps (the 极简版抖音 app's API) with a
comment platform and an operations console.

Usage:
  mdouyin                       run every role in one process (same as: mdouyin serve)
  mdouyin serve [flags]         run every role, or one with --role
  mdouyin seed [flags]          write a dataset for measuring (mdouyin seed --help)
  mdouyin reindex [flags]       rebuild the comment search index (mdouyin reindex --help)
  mdouyin check [--repair]      compare every stored count with its facts (mdouyin check --help)
  mdouyin bench [flags]         load a running server and report throughput, latency, CPU, RSS (mdouyin bench --help)
  mdouyin help                  show this text

One process (the default) keeps everything under the data directory: SQLite
databases, an embedded NATS JetStream server, in-process caches and media on local
disk. Nothing else needs to be installed; ffmpeg is used for video uploads.

A cluster runs the same binary once per role and replica:
  mdouyin serve --role=NAME     NAME is one of: %s
Roles reach each other over Kitex RPC; data lives in MySQL/MariaDB, caches in Redis,
events in NATS JetStream (set MDOUYIN_DB_DRIVER=mysql, MDOUYIN_DB_DSN,
MDOUYIN_CACHE_DRIVER=redis, MDOUYIN_REDIS_ADDR, MDOUYIN_EVENTS_DRIVER=nats,
MDOUYIN_NATS_URL, MDOUYIN_JWT_SECRET, MDOUYIN_RPC_ADDR and MDOUYIN_PEERS).

Flags of serve:
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "seed":
		return runSeed(ctx, args, getenv, stdout, stderr)
	case "reindex":
		return runReindex(ctx, args, getenv, stdout, stderr)
	case "check":
		return runCheck(ctx, args, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args, getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("mdouyin", flag.ContinueOnError)
	fs.SetOutput(stdout)
	role := fs.String("role", "", "run only this role (default: every role in one process)")
	cfgPath := fs.String("config", getenv("MDOUYIN_CONFIG"), "YAML configuration file (env MDOUYIN_CONFIG); MDOUYIN_* variables override it")
	fs.Usage = func() {
		fmt.Fprintf(stdout, usage, strings.Join(config.Roles, ", "))
		fs.PrintDefaults()
		fmt.Fprintln(stdout, "\nEvery setting and its MDOUYIN_* variable is listed in the README.")
	}
	switch cmd {
	case "serve":
	case "help":
		fs.Usage()
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
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
	return app.Run(ctx, app.Options{Config: cfg, Role: *role, Log: log})
}

// loadConfig reads the configuration (the file at path, then MDOUYIN_*
// variables) and builds the logger it asks for, writing to stderr; the
// frameworks' own loggers go through it too.
func loadConfig(path string, getenv func(string) string, stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return cfg, nil, err
	}
	level, err := obs.ParseLevel(cfg.Log.Level)
	if err != nil {
		return cfg, nil, err
	}
	log := obs.NewLogger(stderr, level, cfg.Log.Format)
	obs.InstallFrameworkLoggers(log)
	return cfg, log, nil
}
