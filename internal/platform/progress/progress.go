// Package progress draws progress bars for long command-line jobs (seeding a
// dataset, rebuilding the search index).
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress reports how far each phase of a long job is. On a terminal it redraws
// one status line in place (the phases running at the same time side by side) and
// leaves a line behind for each phase that ends; elsewhere (a log file, CI output,
// which would fill with carriage returns) it prints a plain line at every tenth of
// a phase and at its end. It draws at most ten times a second: a redraw per batch
// would cost more than the batch on a fast store. Phases may run on several
// goroutines at once.
type Progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu     sync.Mutex
	active []*Phase // in start order
	drawn  time.Time
}

// Phase is one phase of a Progress: a number of steps to do.
type Phase struct {
	p        *Progress
	name     string
	total    int64
	done     int64
	started  time.Time
	lastTick int64 // tenths reported so far, when not a terminal
	finished bool
}

// redrawEvery bounds how often a terminal line is redrawn.
const redrawEvery = 100 * time.Millisecond

// barWidth is the characters of one phase's bar.
const barWidth = 20

// New returns a Progress writing to w; tty says whether w is a terminal.
// A nil w, or a nil Progress, reports nothing.
func New(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, now: time.Now}
}

// Start begins a phase of total steps.
func (p *Progress) Start(name string, total int64) *Phase {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ph := &Phase{p: p, name: name, total: max(total, 0), started: p.now()}
	p.active = append(p.active, ph)
	if p.tty {
		p.draw(ph.started)
	}
	return ph
}

// Add records n more steps done.
func (ph *Phase) Add(n int64) {
	if ph == nil {
		return
	}
	p := ph.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if ph.finished {
		return
	}
	ph.done += n
	now := p.now()
	if p.tty {
		if now.Sub(p.drawn) >= redrawEvery {
			p.draw(now)
		}
		return
	}
	if ph.total > 0 {
		if tick := min(ph.done, ph.total) * 10 / ph.total; tick > ph.lastTick && tick < 10 {
			ph.lastTick = tick
			p.write(ph.line(now) + "\n")
		}
	}
}

// Finish ends the phase with its final line; finishing twice does nothing.
func (ph *Phase) Finish() {
	if ph == nil {
		return
	}
	p := ph.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if ph.finished {
		return
	}
	ph.finished = true
	for i, a := range p.active {
		if a == ph {
			p.active = append(p.active[:i], p.active[i+1:]...)
			break
		}
	}
	now := p.now()
	if !p.tty {
		p.write(ph.line(now) + "\n")
		return
	}
	// Replace the status line by the phase's final line, then redraw the others.
	p.write("\r" + ph.line(now) + "\x1b[K\n")
	if len(p.active) > 0 {
		p.draw(now)
	}
}

// draw redraws the terminal status line: every running phase's bar and state.
func (p *Progress) draw(now time.Time) {
	p.drawn = now
	parts := make([]string, 0, len(p.active))
	for _, ph := range p.active {
		filled := barWidth
		if ph.total > 0 {
			filled = int(min(ph.done, ph.total) * barWidth / ph.total)
		}
		parts = append(parts, fmt.Sprintf("%s [%s%s] %s", ph.name,
			strings.Repeat("=", filled), strings.Repeat(" ", barWidth-filled), ph.status(now)))
	}
	// \r returns to the line's start, \x1b[K clears what a longer line left.
	p.write("\r" + strings.Join(parts, " | ") + "\x1b[K")
}

// line is the phase's plain line.
func (ph *Phase) line(now time.Time) string {
	return fmt.Sprintf("%-9s %s", ph.name, ph.status(now))
}

// status is "count/total (pct) rate/s ETA d" or, once done, the elapsed time.
func (ph *Phase) status(now time.Time) string {
	elapsed := now.Sub(ph.started)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(ph.done) / elapsed.Seconds()
	}
	pct := 100.0
	if ph.total > 0 {
		pct = float64(min(ph.done, ph.total)) * 100 / float64(ph.total)
	}
	s := fmt.Sprintf("%d/%d (%.0f%%) %s/s", ph.done, ph.total, pct, humanRate(rate))
	switch {
	case ph.finished || ph.done >= ph.total:
		s += " in " + elapsed.Round(time.Millisecond).String()
	case rate > 0:
		eta := time.Duration(float64(ph.total-ph.done) / rate * float64(time.Second))
		s += " ETA " + eta.Round(time.Second).String()
	}
	return s
}

// humanRate prints a rate with a k/M suffix past ten thousand.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func (p *Progress) write(s string) {
	if p.w != nil {
		io.WriteString(p.w, s)
	}
}
