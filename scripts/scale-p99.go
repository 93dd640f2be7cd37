//go:build ignore

// scale-p99 prints "p50 p99 errors" (milliseconds, count) of one run of a
// report `mdouyin bench --json` wrote, for scripts/scale.sh.
//
//	go run scripts/scale-p99.go report.json feed_user
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mdouyin/mdouyin/internal/bench"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: scale-p99 REPORT.json SCENARIO")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	for _, run := range rep.Runs {
		if run.Name == os.Args[2] {
			fmt.Printf("%.2f %.2f %d\n", run.Latency.P50, run.Latency.P99, run.Errors)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "%s: no run named %s\n", os.Args[1], os.Args[2])
	os.Exit(1)
}
