// Package bench is the load tool behind `mdouyin bench`: it sends the app's
// requests to a running server in scenarios (the feed, likes, comments,
// follows, chat, publish, and a weighted mix of them), closed loop at N
// connections or open loop at a target rate, checks every answer, and reports
// throughput, latency quantiles, errors by kind, and the server's CPU and
// memory. A bare Hertz server replaying a recorded feed answer gives the
// ceiling that read scenarios are measured against, in the same run.
package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app/client"
)

// Options configure an invocation.
type Options struct {
	URL string
	// Scenarios are run one after the other, each for Load.Duration; "mix" is
	// the weighted mix of Mix.
	Scenarios []string
	Mix       []Weight // nil: DefaultMix
	// CompareCeiling first runs the ceiling (a bare Hertz server replaying the
	// target's guest feed) and reports every run as a ratio to it.
	CompareCeiling bool
	Load           Load
	Warmup         time.Duration // unrecorded load before each run
	Timeout        time.Duration // per request
	// PID is the server's process: > 0 given, 0 found from the URL's port
	// when the server is on this machine, < 0 none.
	PID   int
	Setup SetupOptions
	Log   io.Writer // progress
}

// ExpandScenarios reads --scenario: a comma-separated list of scenario names,
// "mix", "all" (every scenario, one by one), "reads" (the read scenarios) and
// "ceiling" (the read scenarios, compared with the ceiling).
func ExpandScenarios(s string) (names []string, ceiling bool, err error) {
	for _, part := range strings.Split(s, ",") {
		switch part = strings.TrimSpace(part); part {
		case "":
		case "mix":
			names = append(names, part)
		case "all":
			names = append(names, ScenarioNames()...)
		case "reads":
			names = append(names, ReadScenarios()...)
		case "ceiling":
			ceiling = true
			names = append(names, ReadScenarios()...)
		default:
			if _, ok := lookup(part); !ok {
				return nil, false, fmt.Errorf("--scenario: unknown %q (known: %s, mix, all, reads, ceiling)", part, strings.Join(ScenarioNames(), ", "))
			}
			names = append(names, part)
		}
	}
	if len(names) == 0 {
		return nil, false, fmt.Errorf("--scenario: none given")
	}
	return names, ceiling, nil
}

// setupClient makes the setup's calls and the recording.
func setupClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: max(timeout, time.Minute), Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}
}

// Run sets the target up, runs every scenario and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	base := strings.TrimRight(o.URL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://host:port", o.URL)
	}
	mixWeights := o.Mix
	if mixWeights == nil {
		mixWeights = DefaultMix
	}
	var used []string
	for _, name := range o.Scenarios {
		if name == "mix" {
			for _, w := range mixWeights {
				used = append(used, w.Name)
			}
		} else {
			used = append(used, name)
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)

	inFlight := o.Load.Connections
	if o.Load.Rate > 0 && o.Load.MaxInFlight > 0 {
		inFlight = o.Load.MaxInFlight
	}
	sclient := setupClient(o.Timeout)
	defer sclient.CloseIdleConnections()
	client, err := NewClient(inFlight, o.Timeout)
	if err != nil {
		return nil, err
	}
	// A server shutting down gracefully waits for idle keep-alive connections.
	defer client.CloseIdleConnections()

	setup := o.Setup
	setup.Scenarios = used
	env, err := Setup(ctx, sclient, base, setup, log)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	rep := &Report{
		Target: base, Model: "closed", Connections: o.Load.Connections,
		DurationS: o.Load.Duration.Seconds(), WarmupS: o.Warmup.Seconds(), Started: time.Now().UTC(),
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Setup: SetupReport{Accounts: len(env.Accounts), Videos: len(env.Videos), Users: len(env.Users),
			HotVideo: env.Hot.ID, HotComments: env.Hot.Comments},
	}
	if o.Load.Rate > 0 {
		rep.Model, rep.Rate, rep.MaxInFlight = "open", o.Load.Rate, inFlight
	}
	rep.ServerPID = o.PID
	if o.PID == 0 {
		if port, err := strconv.Atoi(u.Port()); err == nil && isLocal(u.Hostname()) {
			rep.ServerPID = ListenerPID(port)
		}
	}
	rep.ServerPID = max(rep.ServerPID, 0)

	if o.CompareCeiling {
		rec, err := RecordFeed(ctx, sclient, base)
		if err != nil {
			return nil, err
		}
		c, err := StartCeiling(rec)
		if err != nil {
			return nil, fmt.Errorf("starting the ceiling server: %w", err)
		}
		fmt.Fprintf(log, "ceiling: a bare Hertz server at %s replays the guest feed (%d bytes, %s)\n", c.URL, len(rec.Body), rec.ContentType)
		cclient, err := NewClient(inFlight, o.Timeout)
		if err != nil {
			c.Stop()
			return nil, err
		}
		cenv := &Env{Base: c.URL}
		run, err := execute(ctx, o, cclient, cenv, "ceiling", []Weight{{"feed_guest", 1}}, os.Getpid(), log)
		cclient.CloseIdleConnections()
		if stopErr := c.Stop(); err == nil && stopErr != nil {
			fmt.Fprintf(log, "ceiling: stopping: %v\n", stopErr)
		}
		if err != nil {
			return nil, err
		}
		if run.Server != nil {
			run.Server.Note = "the bare Hertz server runs inside the load tool: its CPU and RSS include the tool's"
		}
		one := 1.0
		run.Ratio = &one
		rep.CeilingRPS = run.RPS
		rep.Runs = append(rep.Runs, *run)
	}
	for _, name := range o.Scenarios {
		weights := []Weight{{name, 1}}
		if name == "mix" {
			weights = mixWeights
		}
		run, err := execute(ctx, o, client, env, name, weights, rep.ServerPID, log)
		if err != nil {
			return nil, err
		}
		if rep.CeilingRPS > 0 {
			r := run.RPS / rep.CeilingRPS
			run.Ratio = &r
		}
		rep.Runs = append(rep.Runs, *run)
	}
	return rep, nil
}

// execute warms up, then runs one mix against env's server and reports it.
func execute(ctx context.Context, o Options, client *client.Client, env *Env, name string, weights []Weight, pid int, log io.Writer) (*RunReport, error) {
	scs := make([]*Scenario, len(weights))
	ws := make([]int, len(weights))
	for i, w := range weights {
		sc, err := env.Scenario(w.Name)
		if err != nil {
			return nil, err
		}
		scs[i], ws[i] = sc, w.Weight
	}
	runner := &Runner{Client: client}
	if o.Warmup > 0 {
		mix, err := NewMix(scs, ws)
		if err != nil {
			return nil, err
		}
		warm := o.Load
		warm.Duration, warm.Requests = o.Warmup, 0
		fmt.Fprintf(log, "%s: warming up for %s\n", name, o.Warmup)
		if _, err := runner.Run(ctx, warm, mix); err != nil {
			return nil, err
		}
	}
	mix, err := NewMix(scs, ws)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s: running for %s against %s\n", name, o.Load.Duration, env.Base)
	var before ProcSample
	var sampled bool
	if pid > 0 {
		if before, err = SampleProc(pid); err != nil {
			fmt.Fprintf(log, "%s: cannot read the server's /proc (%v); no server figures\n", name, err)
		}
		sampled = err == nil
	}
	res, err := runner.Run(ctx, o.Load, mix)
	if err != nil {
		return nil, err
	}
	run := &RunReport{Name: name, URL: env.Base, ElapsedS: res.Elapsed.Seconds(), Row: rowOf(name, res.Scenarios, res.Elapsed),
		ToolCPUS: res.ToolCPU.Seconds()}
	if res.StartLag.Count() > 0 {
		lag := latencyOf(&res.StartLag)
		run.StartLag = &lag
	}
	answered := float64(run.Requests - run.ErrorKinds["dropped"])
	if res.Elapsed > 0 {
		run.ToolCPU = 100 * res.ToolCPU.Seconds() / res.Elapsed.Seconds()
	}
	if answered > 0 {
		run.ToolCPUPerReq = float64(res.ToolCPU.Microseconds()) / answered
	}
	if len(res.Scenarios) > 1 {
		for _, st := range res.Scenarios {
			run.Scenarios = append(run.Scenarios, rowOf(st.Name, []*Stats{st}, res.Elapsed))
		}
	}
	if sampled {
		if after, err := SampleProc(pid); err == nil {
			p := &ProcReport{PID: pid, CPUS: (after.CPU - before.CPU).Seconds(),
				RSSStartMiB: mib(before.RSSKiB), RSSEndMiB: mib(after.RSSKiB), HWMMiB: mib(after.HWMKiB)}
			if res.Elapsed > 0 {
				p.CPU = 100 * p.CPUS / res.Elapsed.Seconds()
			}
			if answered > 0 {
				p.CPUPerReq = 1e6 * p.CPUS / answered
			}
			if pid == os.Getpid() {
				p.Note = "the server is this process: its CPU includes the load tool's"
			}
			run.Server = p
		}
	}
	fmt.Fprintf(log, "%s: %.1f req/s, %d errors, p99 %.2f ms\n", name, run.RPS, run.Errors, run.Latency.P99)
	return run, nil
}

func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
