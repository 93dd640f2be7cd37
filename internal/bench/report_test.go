package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestWriteMarkdown(t *testing.T) {
	ratio := func(r float64) *float64 { return &r }
	one := &Report{Model: "closed", Connections: 64, CeilingRPS: 20000, Runs: []RunReport{
		{Name: "ceiling", Row: Row{Scenario: "ceiling", Requests: 200000, OK: 200000, RPS: 20000, Latency: Latency{P50: 1.234, P99: 15.43}},
			Ratio: ratio(1), Server: &ProcReport{CPUPerReq: 44.4}},
		{Name: "feed_guest", Row: Row{Scenario: "feed_guest", Requests: 10000, OK: 9990, Errors: 10, RPS: 12345.6,
			ErrorKinds: map[string]int64{"status_code 10001": 10}, ErrorSamples: map[string]string{"status_code 10001": "too\n many `requests`"},
			Latency: Latency{P50: 5, P99: 204.4}}, Ratio: ratio(0.61728), Server: &ProcReport{CPUPerReq: 1181.4}},
		{Name: "feed_user", Row: Row{Scenario: "feed_user", RPS: 2000, Latency: Latency{P50: 25, P99: 65}}},
	}}
	// A second invocation of the same placement without a ceiling of its own:
	// its ratios come from the placement's ceiling.
	writes := &Report{Model: "closed", Connections: 4, Runs: []RunReport{
		{Name: "like", Row: Row{Scenario: "like", Requests: 5000, OK: 5000, RPS: 5000, Latency: Latency{P50: 12.04, P99: 99.96}}},
		{Name: "mix", Row: Row{Scenario: "mix", Requests: 3, OK: 2, Errors: 1, RPS: 2, Latency: Latency{P50: 1, P99: 2},
			ErrorKinds: map[string]int64{"http 500": 1}, ErrorSamples: map[string]string{"http 500": "boom"}},
			Scenarios: []Row{{Scenario: "publish", Errors: 1, ErrorKinds: map[string]int64{"http 500": 1}, ErrorSamples: map[string]string{"http 500": "boom"}}},
			Server:    &ProcReport{CPUPerReq: 10}},
	}}
	cluster := &Report{CeilingRPS: 10000, Runs: []RunReport{
		{Name: "ceiling", Row: Row{Scenario: "ceiling", RPS: 10000}, Ratio: ratio(1)},
		{Name: "like", Row: Row{Scenario: "like", RPS: 2500, Latency: Latency{P50: 20, P99: 150}}, Ratio: ratio(0.25), Server: &ProcReport{CPUPerReq: 900}},
	}}
	paced := &Report{Model: "open", Rate: 1000, Connections: 64, Runs: []RunReport{
		{Name: "feed_user", Row: Row{Scenario: "feed_user", RPS: 999.6, Latency: Latency{P50: 2, P99: 9.996}}},
	}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, []Placement{
		{Name: "one process", Reports: []*Report{one, writes, paced}},
		{Name: "cluster", Reports: []*Report{cluster, paced}, ServerNote: "server CPU is the gateway's"},
	}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	lines := strings.Split(got, "\n")
	want := []string{
		"| scenario | placement | req/s | p50 / p99 ms | errors | ratio to ceiling | server µs CPU/req |",
		"| --- | --- | ---: | ---: | ---: | ---: | ---: |",
		"| ceiling (bare Hertz) ¹ | one process | 20,000 | 1.23 / 15.4 | 0 | 1.00 | 44 |",
		"| ceiling (bare Hertz) ¹ | cluster | 10,000 | 0.00 / 0.00 | 0 | 1.00 | – |",
		"| feed_guest | one process | 12,346 | 5.00 / 204 | 10 (0.1%) | 0.62 | 1,181 |",
		"| feed_user | one process | 2,000 | 25.0 / 65.0 | 0 | 0.10 | – |",
		"| like (4 connections) | one process | 5,000 | 12.0 / 100 | 0 | 0.25 | – |",
		"| mix (4 connections) | one process | 2.0 | 1.00 / 2.00 | 1 (33.3%) | 0.00 | 10 |",
		// The same scenario under another load is a row of its own.
		"| feed_user (open loop, 1,000/s) | one process | 1,000 | 2.00 / 10.0 | 0 | 0.05 | – |",
		"| feed_user (open loop, 1,000/s) | cluster | 1,000 | 2.00 / 10.0 | 0 | 0.10 | – |",
		"| like | cluster | 2,500 | 20.0 / 150 | 0 | 0.25 | 900 |",
		"",
	}
	if !slices.Equal(lines[:len(want)], want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(lines[:min(len(lines), len(want))], "\n"), strings.Join(want, "\n"))
	}
	if strings.Count(got, "http 500") != 1 {
		t.Errorf("the mix's error is noted %d times, want once (by scenario):\n%s", strings.Count(got, "http 500"), got)
	}
	for _, note := range []string{
		"cluster: server CPU is the gateway's\n",
		"- feed_guest, one process: status_code 10001 ×10, e.g. `too many 'requests'`\n",
		"- mix (4 connections)/publish, one process: http 500 ×1, e.g. `boom`\n",
		"¹ A bare Hertz server",
	} {
		if !strings.Contains(got, note) {
			t.Errorf("output lacks %q:\n%s", note, got)
		}
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 1234567: "1,234,567", 12345.6: "12,346"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestWriteTextNotesStartLag: an open-loop run says how late the tool began
// its requests; a run without lags (the closed loop) says nothing of it.
func TestWriteTextNotesStartLag(t *testing.T) {
	r := &Report{Model: "open", Rate: 1000, MaxInFlight: 512, Runs: []RunReport{
		{Name: "feed_user", Row: Row{Scenario: "feed_user", RPS: 1000}, StartLag: &Latency{P50: 0.05, P99: 6.5, Max: 24.7}},
		{Name: "feed_guest", Row: Row{Scenario: "feed_guest", RPS: 1000}},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if want := "feed_user: the tool began its requests late by p50 0.05, p99 6.50, max 24.7 ms"; !strings.Contains(out, want) {
		t.Errorf("the report lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "feed_guest: the tool began") {
		t.Errorf("a run without start lags notes one:\n%s", out)
	}
}
