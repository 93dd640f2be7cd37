package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Report is the outcome of one invocation: every run, in order.
type Report struct {
	Target      string      `json:"target"`
	Model       string      `json:"model"` // "closed" or "open"
	Connections int         `json:"connections"`
	Rate        float64     `json:"rate_per_s,omitempty"`
	MaxInFlight int         `json:"max_in_flight,omitempty"`
	DurationS   float64     `json:"duration_s"`
	WarmupS     float64     `json:"warmup_s"`
	Started     time.Time   `json:"started"`
	CPUs        int         `json:"cpus"`
	GOMAXPROCS  int         `json:"gomaxprocs"`
	ServerPID   int         `json:"server_pid,omitempty"`
	Setup       SetupReport `json:"setup"`
	CeilingRPS  float64     `json:"ceiling_rps,omitempty"`
	Runs        []RunReport `json:"runs"`
}

// SetupReport says what the scenarios acted on.
type SetupReport struct {
	Accounts    int   `json:"accounts"`
	Videos      int   `json:"videos"`
	Users       int   `json:"users"`
	HotVideo    int64 `json:"hot_video"`
	HotComments int64 `json:"hot_video_comments"`
}

// RunReport is one run: a scenario, or the mix, or the ceiling.
type RunReport struct {
	Name     string  `json:"name"`
	URL      string  `json:"url"`
	ElapsedS float64 `json:"elapsed_s"`
	Row
	// Ratio is this run's throughput over the ceiling's, with --compare-ceiling.
	Ratio     *float64    `json:"ratio,omitempty"`
	Scenarios []Row       `json:"scenarios,omitempty"` // the mix's, each
	Server    *ProcReport `json:"server,omitempty"`
	ToolCPUS  float64     `json:"tool_cpu_s"`
	ToolCPU   float64     `json:"tool_cpu_pct"` // of one core
	// ToolCPUPerReq is the tool's CPU per answered request, in µs: unlike a
	// percentage, it hardly depends on what else the machine is running.
	ToolCPUPerReq float64 `json:"tool_cpu_us_per_request"`
	// StartLag is, in the open loop, how late the tool began its requests
	// after their scheduled times (Result.StartLag).
	StartLag *Latency `json:"start_lag_ms,omitempty"`
}

// Row is the figures of a scenario (or a whole run).
type Row struct {
	Scenario     string            `json:"scenario"`
	Requests     int64             `json:"requests"`
	OK           int64             `json:"ok"`
	Errors       int64             `json:"errors"`
	ErrorKinds   map[string]int64  `json:"error_kinds,omitempty"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	RPS          float64           `json:"rps"` // successful requests per second
	Latency      Latency           `json:"latency_ms"`
}

// Latency quantiles, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ProcReport is the server process over a run.
type ProcReport struct {
	PID         int     `json:"pid"`
	CPUS        float64 `json:"cpu_s"`   // its own and its waited-for children's (ffmpeg)
	CPU         float64 `json:"cpu_pct"` // of one core: 200 is two cores busy
	RSSStartMiB float64 `json:"rss_start_mib"`
	RSSEndMiB   float64 `json:"rss_end_mib"`
	HWMMiB      float64 `json:"rss_peak_mib"`       // VmHWM: the peak since the process started
	CPUPerReq   float64 `json:"cpu_us_per_request"` // per answered request
	Note        string  `json:"note,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyOf returns the quantiles of h.
func latencyOf(h *Histogram) Latency {
	return Latency{P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func rowOf(name string, st []*Stats, elapsed time.Duration) Row {
	var h Histogram
	r := Row{Scenario: name, ErrorKinds: map[string]int64{}, ErrorSamples: map[string]string{}}
	for _, s := range st {
		h.Merge(&s.Latency)
		r.OK += s.OK()
		kinds, samples := s.Errors()
		for k, n := range kinds {
			r.ErrorKinds[k] += n
			r.Errors += n
			if _, ok := r.ErrorSamples[k]; !ok {
				r.ErrorSamples[k] = samples[k]
			}
		}
	}
	r.Requests = r.OK + r.Errors
	if elapsed > 0 {
		r.RPS = float64(r.OK) / elapsed.Seconds()
	}
	r.Latency = latencyOf(&h)
	if len(r.ErrorKinds) == 0 {
		r.ErrorKinds, r.ErrorSamples = nil, nil
	}
	return r
}

// WriteText writes the report as a table, then every kind of error with a
// sample message.
func (r *Report) WriteText(w io.Writer) error {
	model := fmt.Sprintf("closed loop, %d connections", r.Connections)
	if r.Model == "open" {
		model = fmt.Sprintf("open loop at %.0f req/s, at most %d in flight", r.Rate, r.MaxInFlight)
	}
	fmt.Fprintf(w, "target %s: %s, %gs per run after %gs of warm-up\n", r.Target, model, r.DurationS, r.WarmupS)
	server := "server process unknown (give --pid): no server CPU or RSS"
	if r.ServerPID != 0 {
		server = fmt.Sprintf("server pid %d", r.ServerPID)
	}
	fmt.Fprintf(w, "%s; load tool GOMAXPROCS %d on %d CPUs; %d accounts, %d videos, hot video %d (%d comments)\n\n",
		server, r.GOMAXPROCS, r.CPUs, r.Setup.Accounts, r.Setup.Videos, r.Setup.HotVideo, r.Setup.HotComments)

	rows := [][]string{{"run", "req/s", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "ratio",
		"srv CPU", "srv µs/req", "srv RSS MiB", "tool CPU", "tool µs/req"}}
	line := func(name string, row Row, ratio *float64, srv *ProcReport, tool []string) {
		rs, cpu, per, rss := "", "", "", ""
		if ratio != nil {
			rs = fmt.Sprintf("%.2f", *ratio)
		}
		if srv != nil {
			cpu, per = fmt.Sprintf("%.0f%%", srv.CPU), fmt.Sprintf("%.0f", srv.CPUPerReq)
			rss = fmt.Sprintf("%.0f→%.0f (peak %.0f)", srv.RSSStartMiB, srv.RSSEndMiB, srv.HWMMiB)
		}
		rows = append(rows, append([]string{name, fmt.Sprintf("%.1f", row.RPS), strconv.FormatInt(row.Requests, 10), strconv.FormatInt(row.Errors, 10),
			fmt.Sprintf("%.2f", row.Latency.P50), fmt.Sprintf("%.2f", row.Latency.P90), fmt.Sprintf("%.2f", row.Latency.P99),
			fmt.Sprintf("%.1f", row.Latency.Max), rs, cpu, per, rss}, tool...))
	}
	for _, run := range r.Runs {
		name := run.Name
		if name == "ceiling" {
			name = "ceiling (bare Hertz)"
		}
		line(name, run.Row, run.Ratio, run.Server, []string{fmt.Sprintf("%.0f%%", run.ToolCPU), fmt.Sprintf("%.0f", run.ToolCPUPerReq)})
		for _, s := range run.Scenarios {
			line("  "+s.Scenario, s, nil, nil, []string{"", ""})
		}
	}
	writeTable(w, rows)
	var notes []string
	for _, run := range r.Runs {
		if run.Server != nil && run.Server.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", run.Name, run.Server.Note))
		}
		if l := run.StartLag; l != nil {
			notes = append(notes, fmt.Sprintf("  %s: the tool began its requests late by p50 %.2f, p99 %.2f, max %.1f ms (in the latency too)",
				run.Name, l.P50, l.P99, l.Max))
		}
		rows := run.Scenarios
		if len(rows) == 0 {
			rows = []Row{run.Row}
		}
		for _, s := range rows {
			for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
				where := run.Name
				if s.Scenario != run.Name {
					where += "/" + s.Scenario
				}
				notes = append(notes, fmt.Sprintf("  %s: %s ×%d, e.g. %q", where, k, s.ErrorKinds[k], s.ErrorSamples[k]))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes and errors:\n%s\n", strings.Join(notes, "\n"))
	}
	_, err := fmt.Fprintln(w, "\nreq/s counts successful answers; latency covers every answer; CPU is % of one core (µs/req: per answered\n"+
		"request); tool CPU is this process's; srv RSS is VmRSS at the start and end of the run, and VmHWM.")
	return err
}

// writeTable writes rows in columns: the first left-aligned, the others right.
func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// Placement is one placement's reports (the server in one process, a
// cluster), for WriteMarkdown.
type Placement struct {
	Name    string
	Reports []*Report
	// ServerNote says what the server CPU of this placement covers when that
	// is not the whole server (a cluster measured at its gateway).
	ServerNote string
}

// WriteMarkdown writes every run of every placement as one markdown table, a
// row per scenario and placement, scenarios in the order they first ran (a run
// under another load than the placement's first report is named with it):
// throughput, latency, errors, the ratio to the placement's own ceiling
// (measured in the same session), and the server's CPU per answered request.
// Notes under the table say what the ceiling's CPU covers, which kinds of
// error occurred, and each placement's ServerNote.
func WriteMarkdown(w io.Writer, placements []Placement) error {
	type cell struct {
		run     *RunReport
		ceiling float64
		load    string // the run's load, when not the placement's usual one
	}
	var order []string
	rows := map[string]map[int]cell{}
	for p, pl := range placements {
		ceiling := 0.0
		for _, rep := range pl.Reports {
			ceiling = max(ceiling, rep.CeilingRPS)
		}
		for _, rep := range pl.Reports {
			load := ""
			if first := pl.Reports[0]; rep.Model != first.Model || rep.Connections != first.Connections || rep.Rate != first.Rate {
				load = fmt.Sprintf(" (%d connections)", rep.Connections)
				if rep.Model == "open" {
					load = fmt.Sprintf(" (open loop, %s/s)", thousands(rep.Rate))
				}
			}
			for i := range rep.Runs {
				run := &rep.Runs[i]
				key := run.Name + load // a scenario run under two loads makes two rows
				if rows[key] == nil {
					rows[key] = map[int]cell{}
					order = append(order, key)
				}
				rows[key][p] = cell{run, ceiling, load}
			}
		}
	}
	var b strings.Builder
	b.WriteString("| scenario | placement | req/s | p50 / p99 ms | errors | ratio to ceiling | server µs CPU/req |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
	var notes []string
	for _, name := range order {
		for p, pl := range placements {
			c, ok := rows[name][p]
			if !ok {
				continue
			}
			run := c.run
			label := name
			if run.Name == "ceiling" {
				label = "ceiling (bare Hertz) ¹"
			}
			ratio := "–"
			switch {
			case run.Ratio != nil:
				ratio = fmt.Sprintf("%.2f", *run.Ratio)
			case c.ceiling > 0:
				ratio = fmt.Sprintf("%.2f", run.RPS/c.ceiling)
			}
			cpu := "–"
			if run.Server != nil {
				cpu = thousands(run.Server.CPUPerReq)
			}
			errors := strconv.FormatInt(run.Errors, 10)
			if run.Errors > 0 {
				errors = fmt.Sprintf("%d (%.1f%%)", run.Errors, 100*float64(run.Errors)/float64(max(run.Requests, 1)))
				each := run.Scenarios // a mix's errors, by scenario
				if len(each) == 0 {
					each = []Row{run.Row}
				}
				for _, s := range each {
					for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
						where := name
						if s.Scenario != run.Name {
							where += "/" + s.Scenario
						}
						notes = append(notes, fmt.Sprintf("%s, %s: %s ×%d, e.g. `%s`", where, pl.Name, k, s.ErrorKinds[k],
							sample(s.ErrorSamples[k])))
					}
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s / %s | %s | %s | %s |\n", label, pl.Name, rate(run.RPS),
				latency(run.Latency.P50), latency(run.Latency.P99), errors, ratio, cpu)
		}
	}
	b.WriteString("\n¹ A bare Hertz server inside the load tool replays the placement's guest-feed answer byte for byte;" +
		" its CPU is the tool's and the ceiling's together. Ratios are to the ceiling of the same placement and session.\n")
	for _, pl := range placements {
		if pl.ServerNote != "" {
			fmt.Fprintf(&b, "\n%s: %s\n", pl.Name, pl.ServerNote)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nErrors:\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// thousands formats a non-negative figure without decimals and with thousands
// separators, as the tables in docs/benchmarks.md write them.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// rate formats requests per second: one decimal below 100, none from there on.
func rate(v float64) string {
	if v < 99.95 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return thousands(v)
}

// sample makes an error message fit on one line of a markdown list, in a code
// span: whitespace folded, backquotes replaced, at most 160 characters.
func sample(msg string) string {
	msg = strings.ReplaceAll(strings.Join(strings.Fields(msg), " "), "`", "'")
	if r := []rune(msg); len(r) > 160 {
		msg = string(r[:159]) + "…"
	}
	return msg
}

// latency formats milliseconds: two decimals below 10 ms, one below 100 ms,
// none from there on.
func latency(ms float64) string {
	switch {
	case ms < 9.995:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	case ms < 99.95:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return thousands(ms)
}
