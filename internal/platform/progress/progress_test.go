package progress

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock advances only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestProgressPlainPrintsEveryTenth(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := New(&out, false)
	p.now = clock.now
	ph := p.Start("likes", 1000)
	for range 100 {
		clock.advance(10 * time.Millisecond)
		ph.Add(10)
	}
	ph.Finish()
	ph.Finish()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 9 tenths and a final line:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "likes") || !strings.Contains(lines[0], "100/1000 (10%) 1000/s ETA 1s") {
		t.Errorf("first line %q", lines[0])
	}
	// 1000 steps in 1 s.
	if last := lines[9]; !strings.Contains(last, "1000/1000 (100%) 1000/s in 1s") {
		t.Errorf("final line %q", last)
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage returns in plain output")
	}
}

func TestProgressTerminalRedrawsAtMostTenTimesASecond(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := New(&out, true)
	p.now = clock.now
	a := p.Start("follows", 1_000_000)
	b := p.Start("likes", 1000)
	for range 1000 { // one second of steps every millisecond
		clock.advance(time.Millisecond)
		a.Add(1000)
		b.Add(1)
	}
	if draws := strings.Count(out.String(), "\r"); draws < 10 || draws > 13 {
		t.Errorf("%d redraws in one second", draws)
	}
	last := out.String()[strings.LastIndex(out.String(), "\r"):]
	if !strings.Contains(last, "follows [====================]") || !strings.Contains(last, " | likes [") {
		t.Errorf("status line %q does not show both phases", last)
	}
	a.Finish()
	final := out.String()[strings.LastIndex(out.String(), "\n")+1:]
	if !strings.Contains(out.String(), "follows   1000000/1000000 (100%) 1.00M/s in 1s\x1b[K\n") {
		t.Errorf("follows left no final line: %q", out.String()[len(out.String())-200:])
	}
	if !strings.Contains(final, "likes [") || strings.Contains(final, "follows") {
		t.Errorf("status after follows ended: %q", final)
	}
	b.Finish()
	if !strings.HasSuffix(out.String(), "\n") {
		t.Error("no final newline")
	}
}

func TestProgressNilAndNoWriter(t *testing.T) {
	var p *Progress
	ph := p.Start("x", 1)
	ph.Add(1)
	ph.Finish()
	q := New(nil, true)
	ph = q.Start("x", 0)
	ph.Add(5)
	ph.Finish()
}

func TestProgressConcurrentPhases(t *testing.T) {
	var out strings.Builder
	p := New(&out, false)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			ph := p.Start(name, 100)
			for range 100 {
				ph.Add(1)
			}
			ph.Finish()
		})
	}
	wg.Wait()
	for _, name := range []string{"a", "b", "c"} {
		if !strings.Contains(out.String(), name+"         100/100 (100%)") {
			t.Errorf("no final line for %s:\n%s", name, out.String())
		}
	}
}
