//go:build ignore

// bench-table is the formatting half of scripts/bench.sh: it reads the JSON
// reports `mdouyin bench --json` wrote for each placement and writes them as
// one markdown table (bench.WriteMarkdown), after an optional header file.
//
//	go run scripts/bench-table.go -placement 'one process=one.json' \
//	    -placement 'cluster=cluster.json' -note 'cluster=server CPU is the gateway's' \
//	    -header header.md -o docs/benchmarks-table.md
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mdouyin/mdouyin/internal/bench"
)

// list is a repeatable flag of NAME=VALUE pairs, in the order given.
type list [][2]string

func (l *list) String() string { return fmt.Sprint(*l) }

func (l *list) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want NAME=VALUE, not %q", v)
	}
	*l = append(*l, [2]string{name, value})
	return nil
}

func main() {
	var placements, notes list
	flag.Var(&placements, "placement", "NAME=FILE[,FILE...]: a placement and its JSON reports (repeat, in table order)")
	flag.Var(&notes, "note", "NAME=TEXT: what the server CPU of placement NAME covers")
	header := flag.String("header", "", "a file written before the table")
	out := flag.String("o", "", "output file (default stdout)")
	flag.Parse()
	if err := run(placements, notes, *header, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench-table:", err)
		os.Exit(1)
	}
}

func run(placements, notes list, header, out string) error {
	if len(placements) == 0 {
		return fmt.Errorf("no -placement given")
	}
	var pls []bench.Placement
	for _, p := range placements {
		pl := bench.Placement{Name: p[0]}
		for _, file := range strings.Split(p[1], ",") {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var rep bench.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			pl.Reports = append(pl.Reports, &rep)
		}
		for _, n := range notes {
			if n[0] == pl.Name {
				pl.ServerNote = n[1]
			}
		}
		pls = append(pls, pl)
	}
	var b bytes.Buffer
	if header != "" {
		h, err := os.ReadFile(header)
		if err != nil {
			return err
		}
		b.Write(h)
	}
	if err := bench.WriteMarkdown(&b, pls); err != nil {
		return err
	}
	if out == "" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
