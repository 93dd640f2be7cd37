package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/mdouyin/mdouyin/internal/bench"
)

const benchUsage = `Usage: mdouyin bench [ceiling] [flags]

Sends the app's requests to a running server and reports throughput (successful
answers per second), latency p50/p90/p99/max, errors by kind, and the server's
CPU and RSS (from /proc, when the server runs on this machine). Every answer is
checked: HTTP 200 and "status_code": 0.

The tool registers its own accounts (--accounts; unique names per run) or logs
in seeded ones (--seeded-users: seed_000001 ... from mdouyin seed), and finds
videos in the guest feed (into an empty feed it publishes a few first). Run the
server with MDOUYIN_RATE_LIMITS=off, or the limits answer most requests.

Load: closed loop, --connections workers each with one request in flight; or,
with --rate, open loop: requests start on a fixed timetable and their latency
counts from the scheduled time, so a stall shows in every request it delayed;
a request due while --max-in-flight are outstanding is dropped, as an error.

Scenarios (--scenario, comma-separated; each runs for --duration in turn):
%s  mix                the weighted mix (--mix name=weight,...); default weights:
                     %s
  all                every scenario above, one by one
  reads              feed_guest, feed_user, user_info, comment_list_hot,
                     comment_list_hot_guest, comment_list_cold
  ceiling            the reads with --compare-ceiling (also: mdouyin bench ceiling)

--compare-ceiling first records the target's guest-feed answer, serves those
exact bytes from a bare Hertz server in this process, runs feed_guest against it,
and reports every run's throughput as a ratio to it (use the closed loop: in the
open loop throughput is the offered rate). On a shared machine the server's CPU
per request (srv µs/req) varies less than throughput does.

Examples:
  mdouyin bench --url http://127.0.0.1:8080 --scenario mix --duration 30s
  mdouyin bench ceiling --connections 64 --json bench.json
  mdouyin bench --scenario feed_user --rate 1000/s --seeded-users 200

Flags:
`

// runBench is the bench subcommand.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mdouyin bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("url", "http://127.0.0.1:8080", "the server's base URL")
	scenario := fs.String("scenario", "mix", "what to run (see above)")
	mixFlag := fs.String("mix", "", "weights of the mix: name=weight,... (default: the weights above)")
	compare := fs.Bool("compare-ceiling", false, "run the bare-Hertz ceiling first and report ratios to it")
	conns := fs.Int("connections", 64, "connections (closed loop: concurrent requests)")
	duration := fs.Duration("duration", 15*time.Second, "length of each run")
	warmup := fs.Duration("warmup", time.Second, "unrecorded load before each run")
	rate := fs.String("rate", "", "open loop at this rate: N, N/s, N/m or N/ms (default: closed loop)")
	maxInFlight := fs.Int("max-in-flight", 0, "open loop: outstanding requests before dropping (default --connections)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	accounts := fs.Int("accounts", 16, "accounts to register (with --seeded-users: none unless this is given)")
	seeded := fs.Int("seeded-users", 0, "seeded accounts to log in (seed_000001 ...)")
	seededPassword := fs.String("seeded-password", "seed-password", "the seeded accounts' password")
	videos := fs.Int("videos", 300, "videos to collect from the guest feed (comment_list_cold picks among them)")
	hotComments := fs.Int("hot-comments", 30, "top the hot video up to this many comments (a full first page)")
	clip := fs.String("clip", "", "video file for publish (default: a 1 s clip rendered with ffmpeg)")
	pid := fs.Int("pid", 0, "the server's process id for CPU and RSS (default: found from the URL's port; -1: none)")
	jsonFile := fs.String("json", "", "also write the report as JSON to this file")
	format := fs.String("format", "text", "stdout format: text or json")
	cpuProfile := fs.String("cpuprofile", "", "write the load tool's own CPU profile to this file (is the tool the bottleneck?)")
	fs.Usage = func() {
		var mix []string
		for _, w := range bench.DefaultMix {
			mix = append(mix, w.Name+"="+strconv.Itoa(w.Weight))
		}
		fmt.Fprintf(stdout, benchUsage, bench.ScenarioHelp(), wrap(strings.Join(mix, ","), 60, "\n                     "))
		fs.PrintDefaults()
	}
	ceilingCmd := false
	if len(args) > 0 && args[0] == "ceiling" {
		ceilingCmd, args = true, args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	o := bench.Options{URL: *target, CompareCeiling: *compare, Warmup: *warmup, Timeout: *timeout, PID: *pid, Log: stderr,
		Load: bench.Load{Connections: *conns, Duration: *duration, MaxInFlight: *maxInFlight},
		Setup: bench.SetupOptions{Accounts: *accounts, SeededUsers: *seeded, SeededPassword: *seededPassword,
			Videos: *videos, HotComments: *hotComments, Clip: *clip, FFmpeg: "ffmpeg"}}
	if *seeded > 0 && !set["accounts"] {
		o.Setup.Accounts = 0
	}
	spec := *scenario
	if ceilingCmd {
		if set["scenario"] {
			return fmt.Errorf("mdouyin bench ceiling runs the read scenarios; drop --scenario")
		}
		spec = "ceiling"
	}
	var err error
	var ceiling bool
	if o.Scenarios, ceiling, err = bench.ExpandScenarios(spec); err != nil {
		return err
	}
	o.CompareCeiling = o.CompareCeiling || ceiling
	if *mixFlag != "" {
		if o.Mix, err = bench.ParseMix(*mixFlag); err != nil {
			return err
		}
	}
	if *rate != "" {
		if o.Load.Rate, err = parseRate(*rate); err != nil {
			return err
		}
	}
	switch {
	case *conns < 1:
		return fmt.Errorf("--connections must be at least 1")
	case *duration <= 0:
		return fmt.Errorf("--duration must be positive")
	case *warmup < 0 || *timeout <= 0 || *maxInFlight < 0:
		return fmt.Errorf("--warmup, --timeout and --max-in-flight cannot be negative")
	case *accounts < 0 || *seeded < 0 || *videos < 1 || *hotComments < 0:
		return fmt.Errorf("--accounts, --seeded-users and --hot-comments cannot be negative; --videos must be positive")
	case *format != "text" && *format != "json":
		return fmt.Errorf("--format: want text or json, not %q", *format)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if *jsonFile != "" {
		if err := os.WriteFile(*jsonFile, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *format == "json" {
		_, err = fmt.Fprintf(stdout, "%s\n", js)
		return err
	}
	return rep.WriteText(stdout)
}

// parseRate reads N, N/s, N/m or N/ms as requests per second.
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(num, 64)
	per := map[string]float64{"": 1, "s": 1, "m": 1.0 / 60, "ms": 1000}[unit]
	if err != nil || n <= 0 || per == 0 {
		return 0, fmt.Errorf("--rate %q: want a positive N, N/s, N/m or N/ms", s)
	}
	return n * per, nil
}

// wrap breaks s after commas so no line passes width.
func wrap(s string, width int, sep string) string {
	var b strings.Builder
	line := 0
	for i, part := range strings.SplitAfter(s, ",") {
		if i > 0 && line+len(part) > width {
			b.WriteString(sep)
			line = 0
		}
		b.WriteString(part)
		line += len(part)
	}
	return b.String()
}
