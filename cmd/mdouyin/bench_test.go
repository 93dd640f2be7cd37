package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/internal/app/apptest"
	"github.com/mdouyin/mdouyin/internal/bench"
)

// TestBenchAgainstAServer runs `mdouyin bench` against a whole one-process
// server started here: the mix of every scenario (publish included) must get
// only successful answers, and the ceiling run must report ratios.
func TestBenchAgainstAServer(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI")
		}
		t.Skip("ffmpeg not installed")
	}
	base, stop, err := apptest.Serve(map[string]string{
		"MDOUYIN_DATA_DIR":            t.TempDir(),
		"MDOUYIN_RATE_LIMITS":         "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB": "8192",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	getenv := func(string) string { return "" }

	// Every scenario at weight 1: the mix hands them out in turn, so each one
	// runs within the first few requests.
	var mix []string
	for _, name := range bench.ScenarioNames() {
		mix = append(mix, name+"=1")
	}
	jsonFile := filepath.Join(t.TempDir(), "mix.json")
	var out, errOut bytes.Buffer
	args := []string{"bench", "--url", base, "--scenario", "mix", "--mix", strings.Join(mix, ","),
		"--duration", "2s", "--warmup", "0", "--connections", "4", "--accounts", "3", "--json", jsonFile}
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	t.Logf("mdouyin %s\n%s", strings.Join(args, " "), out.String())
	var rep bench.Report
	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs, want the mix", len(rep.Runs))
	}
	m := rep.Runs[0]
	if m.Name != "mix" || m.Errors != 0 || m.OK == 0 || m.RPS <= 0 || m.Latency.P50 <= 0 || m.Latency.Max < m.Latency.P99 {
		t.Errorf("mix: %+v\n%s", m.Row, out.String())
	}
	if len(m.Scenarios) != len(bench.ScenarioNames()) {
		t.Fatalf("%d scenarios in the mix, want %d", len(m.Scenarios), len(bench.ScenarioNames()))
	}
	for _, s := range m.Scenarios {
		if s.OK == 0 || s.Errors != 0 {
			t.Errorf("scenario %s: %d ok, errors %v %v", s.Scenario, s.OK, s.ErrorKinds, s.ErrorSamples)
		}
	}
	// The server is this process, found from the URL's port.
	if rep.ServerPID != os.Getpid() || m.Server == nil || m.Server.RSSEndMiB <= 0 || m.Server.CPUS <= 0 {
		t.Errorf("server figures: pid %d, %+v", rep.ServerPID, m.Server)
	}
	if rep.Setup.Accounts != 3 || rep.Setup.Videos == 0 || rep.Setup.HotComments < 30 {
		t.Errorf("setup: %+v", rep.Setup)
	}
	if !strings.Contains(out.String(), "comment_list_cold") || !strings.Contains(out.String(), "p99 ms") {
		t.Errorf("text report:\n%s", out.String())
	}

	// The ceiling: the bare server first, then each read scenario with its ratio.
	out.Reset()
	args = []string{"bench", "ceiling", "--url", base, "--duration", "300ms", "--warmup", "0", "--connections", "4",
		"--accounts", "2", "--format", "json"}
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("bench ceiling: %v\n%s", err, errOut.String())
	}
	rep = bench.Report{}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out.String())
	}
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Name)
		if r.Errors != 0 || r.OK == 0 || r.Ratio == nil || *r.Ratio <= 0 {
			t.Errorf("run %s: %+v ratio %v", r.Name, r.Row, r.Ratio)
		}
	}
	if want := "ceiling feed_guest feed_user user_info comment_list_hot comment_list_hot_guest comment_list_cold"; strings.Join(names, " ") != want {
		t.Errorf("runs %v, want %s", names, want)
	}
	if rep.CeilingRPS <= 0 || *rep.Runs[0].Ratio != 1 {
		t.Errorf("ceiling: %v req/s", rep.CeilingRPS)
	}
}

func TestBenchRefusesBadFlags(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--scenario", "nosuch"}, "nosuch"},
		{[]string{"bench", "--mix", "like=x"}, "--mix"},
		{[]string{"bench", "--rate", "fast"}, "--rate"},
		{[]string{"bench", "--rate", "-5/s"}, "--rate"},
		{[]string{"bench", "--connections", "0"}, "--connections"},
		{[]string{"bench", "--format", "xml"}, "--format"},
		{[]string{"bench", "ceiling", "--scenario", "mix"}, "drop --scenario"},
		{[]string{"bench", "--url", "ftp://x"}, "--url"},
		{[]string{"bench", "extra"}, "unexpected arguments"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, getenv, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error about %q", c.args, err, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		want float64
	}{{"1000", 1000}, {"1000/s", 1000}, {"120/m", 2}, {"2/ms", 2000}, {"0.5", 0.5}} {
		if got, err := parseRate(c.in); err != nil || got != c.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
