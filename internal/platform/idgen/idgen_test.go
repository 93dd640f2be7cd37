package idgen

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// fakeClock is a wall clock that tests set and step by hand. It is safe for
// concurrent use; with step > 0 every reading advances it, which lets a test issue
// more ids than one real second could hold without waiting.
type fakeClock struct {
	nanos atomic.Int64
	step  time.Duration
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.Set(t)
	return c
}

func (c *fakeClock) Now() time.Time {
	return time.Unix(0, c.nanos.Add(int64(c.step))).UTC()
}

func (c *fakeClock) Set(t time.Time)         { c.nanos.Store(t.UnixNano()) }
func (c *fakeClock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }

// someTime is an arbitrary whole second well inside the id range.
var someTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func mustNew(t testing.TB, node int, opts ...Option) *Generator {
	t.Helper()
	g, err := New(node, opts...)
	if err != nil {
		t.Fatalf("New(%d): %v", node, err)
	}
	return g
}

func mustNext(t testing.TB, g *Generator) int64 {
	t.Helper()
	id, err := g.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return id
}

func TestNewValidatesArguments(t *testing.T) {
	tests := []struct {
		name    string
		node    int
		opts    []Option
		wantErr bool
	}{
		{"node 0", 0, nil, false},
		{"node 255", MaxNode, nil, false},
		{"node -1", -1, nil, true},
		{"node 256", MaxNode + 1, nil, true},
		{"node 1000", 1000, nil, true},
		{"nil clock", 1, []Option{WithClock(nil)}, true},
		{"negative max ahead", 1, []Option{WithMaxAhead(-time.Second)}, true},
		{"zero max ahead", 1, []Option{WithMaxAhead(0)}, false},
		{"clock before epoch", 1, []Option{WithClock(newFakeClock(time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC)).Now)}, true},
		{"clock after range", 1, []Option{WithClock(newFakeClock(time.Unix(epochUnix+maxSec+1, 0)).Now)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.node, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%d) error = %v, want error: %v", tt.node, err, tt.wantErr)
			}
			if err == nil && g.Node() != tt.node {
				t.Errorf("Node() = %d, want %d", g.Node(), tt.node)
			}
		})
	}
}

func TestNextIsUniqueAndMonotonicUnderConcurrency(t *testing.T) {
	const (
		workers = 8
		perG    = 50_000
		node    = 42
	)
	// Each clock reading advances 100 µs: 10,000 readings per fake second, within
	// one second's 16,384 ids, so the test exercises second changes as well as
	// contention without ever running too far ahead.
	clock := newFakeClock(someTime)
	clock.step = 100 * time.Microsecond
	g := mustNew(t, node, WithClock(clock.Now))

	results := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ids := make([]int64, 0, perG)
			for range perG {
				id, err := g.Next()
				if err != nil {
					t.Errorf("Next: %v", err)
					return
				}
				ids = append(ids, id)
			}
			results[w] = ids
		})
	}
	wg.Wait()

	all := make([]int64, 0, workers*perG)
	for w, ids := range results {
		if len(ids) != perG {
			t.Fatalf("worker %d got %d ids, want %d", w, len(ids), perG)
		}
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("worker %d: id %d at %d is not greater than the previous %d", w, id, i, ids[i-1])
			}
			if !Valid(id) || Node(id) != node {
				t.Fatalf("worker %d: id %d invalid or from node %d", w, id, Node(id))
			}
		}
		all = append(all, ids...)
	}
	slices.Sort(all)
	if i := firstDuplicate(all); i >= 0 {
		t.Fatalf("id %d issued twice", all[i])
	}
	last := all[len(all)-1]
	if got, max := Time(last), clock.Now(); got.After(max) {
		t.Errorf("last id's second %v is ahead of the clock %v, though the clock kept pace", got, max)
	}
}

// firstDuplicate returns the index of the first element equal to its predecessor in
// sorted ids, or -1.
func firstDuplicate(sorted []int64) int {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return i
		}
	}
	return -1
}

func TestNextSurvivesClockSteppingBackwards(t *testing.T) {
	clock := newFakeClock(someTime)
	g := mustNew(t, 7, WithClock(clock.Now))

	prev := mustNext(t, g)
	steps := []struct {
		name     string
		set      time.Time
		wantTime time.Time // the second the next ids must carry
	}{
		{"back 5 s", someTime.Add(-5 * time.Second), someTime},
		{"back 1 s more", someTime.Add(-6 * time.Second), someTime},
		{"back to the same second", someTime, someTime},
		{"forward past the last second", someTime.Add(3 * time.Second), someTime.Add(3 * time.Second)},
		{"back by 2 s", someTime.Add(1 * time.Second), someTime.Add(3 * time.Second)},
		{"back by less than a second", someTime.Add(3*time.Second - time.Millisecond), someTime.Add(3 * time.Second)},
	}
	for _, s := range steps {
		clock.Set(s.set)
		for range 100 {
			id := mustNext(t, g)
			if id <= prev {
				t.Fatalf("%s: id %d not greater than previous %d", s.name, id, prev)
			}
			if got := Time(id); !got.Equal(s.wantTime) {
				t.Fatalf("%s: Time(id) = %v, want %v", s.name, got, s.wantTime)
			}
			prev = id
		}
	}
}

func TestNextBorrowsNextSecondWhenSequenceRunsOut(t *testing.T) {
	clock := newFakeClock(someTime)
	g := mustNew(t, 3, WithClock(clock.Now))
	clock.Advance(time.Second) // a second New has not touched: all 16,384 are free

	now := someTime.Add(time.Second)
	for i := range seqMask + 1 {
		id := mustNext(t, g)
		if got := Time(id); !got.Equal(now) {
			t.Fatalf("id %d: Time = %v, want %v", i, got, now)
		}
		if seq := id & seqMask; seq != int64(i) {
			t.Fatalf("id %d: sequence %d, want %d", i, seq, i)
		}
	}
	id := mustNext(t, g)
	if got, want := Time(id), now.Add(time.Second); !got.Equal(want) {
		t.Fatalf("after exhaustion Time = %v, want the borrowed second %v", got, want)
	}
	if seq := id & seqMask; seq != 0 {
		t.Fatalf("borrowed second starts at sequence %d, want 0", seq)
	}

	// When the wall clock reaches the borrowed second, Next continues in it rather
	// than restarting its sequence.
	clock.Advance(time.Second)
	if next := mustNext(t, g); next != id+1 {
		t.Fatalf("Next in the borrowed second = %d, want %d", next, id+1)
	}
}

func TestNextFailsWhenTooFarAhead(t *testing.T) {
	clock := newFakeClock(someTime)
	g := mustNew(t, 9, WithClock(clock.Now), WithMaxAhead(2*time.Second))
	clock.Advance(time.Second)

	// The current second plus two borrowed ones.
	var last int64
	for range 3 * (seqMask + 1) {
		last = mustNext(t, g)
	}
	if got, want := Time(last), someTime.Add(3*time.Second); !got.Equal(want) {
		t.Fatalf("last id Time = %v, want %v", got, want)
	}

	_, err := g.Next()
	if !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("Next beyond max ahead: err = %v, want ErrTooFarAhead", err)
	}
	if code := errs.CodeOf(err); code != base.ErrCode_Unavailable {
		t.Errorf("error code = %v, want Unavailable", code)
	}

	// Once the wall clock catches up, Next issues again, above every earlier id.
	clock.Advance(time.Second)
	if id := mustNext(t, g); id <= last {
		t.Fatalf("after catching up: id %d not greater than %d", id, last)
	}

	// A wall clock stepping back further than max ahead is refused, not papered over.
	clock.Set(someTime.Add(-time.Hour))
	if _, err := g.Next(); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("clock an hour back: err = %v, want ErrTooFarAhead", err)
	}
}

func TestZeroMaxAheadNeverBorrows(t *testing.T) {
	clock := newFakeClock(someTime)
	g := mustNew(t, 1, WithClock(clock.Now), WithMaxAhead(0))
	for range seqMask { // the rest of New's second
		mustNext(t, g)
	}
	if _, err := g.Next(); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("err = %v, want ErrTooFarAhead", err)
	}
}

func TestIDsStayBelow2To53AtTheEndOfTheRange(t *testing.T) {
	lastSecond := time.Unix(epochUnix+maxSec, 0)
	clock := newFakeClock(lastSecond.Add(-time.Second))
	g := mustNew(t, MaxNode, WithClock(clock.Now))
	clock.Set(lastSecond.Add(999 * time.Millisecond))

	var id int64
	for range seqMask + 1 {
		id = mustNext(t, g)
		if !Valid(id) {
			t.Fatalf("id %d not valid", id)
		}
	}
	if id != limit-1 {
		t.Fatalf("last id of the range = %d, want 2^53-1 = %d", id, int64(limit-1))
	}
	if got := Time(id); !got.Equal(lastSecond) {
		t.Errorf("Time = %v, want %v", got, lastSecond)
	}
	if lastSecond.Year() < 2092 {
		t.Errorf("range ends in %d, want at least 68 years from 2024", lastSecond.Year())
	}
	if _, err := g.Next(); err == nil {
		t.Fatal("Next past the end of the id space succeeded")
	}
}

func TestNodeAndTimeRoundTrip(t *testing.T) {
	tests := []struct {
		node int
		at   time.Time
	}{
		{0, time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)},
		{1, someTime},
		{128, someTime.Add(500 * time.Millisecond)},
		{MaxNode, time.Date(2070, 6, 30, 23, 59, 59, 999_999_999, time.UTC)},
		{MaxNode, time.Unix(epochUnix+maxSec, 0)},
	}
	for _, tt := range tests {
		// New claims the first id of its second, so start it a second earlier.
		clock := newFakeClock(tt.at.Add(-time.Second))
		g := mustNew(t, tt.node, WithClock(clock.Now))
		clock.Set(tt.at)
		id := mustNext(t, g)

		wantTime := tt.at.Truncate(time.Second)
		if got := Node(id); got != tt.node {
			t.Errorf("Node(%d) = %d, want %d", id, got, tt.node)
		}
		if got := Time(id); !got.Equal(wantTime) {
			t.Errorf("Time(%d) = %v, want %v", id, got, wantTime)
		}
		if lo, hi := MinForTime(tt.at), MinForTime(tt.at.Add(time.Second)); id < lo || id >= hi {
			t.Errorf("id %d outside [MinForTime(t), MinForTime(t+1s)) = [%d, %d)", id, lo, hi)
		}
		if MinForTime(tt.at) != MinForTime(wantTime) {
			t.Errorf("MinForTime depends on the fraction of the second")
		}
	}
}

func TestMinForTimeClampsOutOfRangeTimes(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want int64
	}{
		{"before epoch", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"epoch", time.Unix(epochUnix, 0), 0},
		{"one second in", time.Unix(epochUnix+1, 0), 1 << secShift},
		{"after the range", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), limit},
	}
	for _, tt := range tests {
		if got := MinForTime(tt.at); got != tt.want {
			t.Errorf("%s: MinForTime = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		id   int64
		want bool
	}{
		{-1, false},
		{0, false},
		{1, true},
		{limit - 1, true},
		{limit, false},
		{1 << 62, false},
	}
	for _, tt := range tests {
		if got := Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestNextAtIssuesUniqueIDsForPastSeconds(t *testing.T) {
	const node = 200
	clock := newFakeClock(someTime)
	g := mustNew(t, node, WithClock(clock.Now))

	// 20,000 ids over 100 past seconds, in random order, plus ids from Next in the
	// present: all distinct, each carrying the second it was asked for.
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []int64
	for range 20_000 {
		at := someTime.Add(-time.Duration(1+rng.IntN(100))*time.Second - time.Duration(rng.IntN(1e9)))
		id, err := g.NextAt(at)
		if err != nil {
			t.Fatalf("NextAt(%v): %v", at, err)
		}
		if got := Time(id); !got.Equal(at.Truncate(time.Second)) {
			t.Fatalf("Time(NextAt(%v)) = %v", at, got)
		}
		if Node(id) != node || !Valid(id) {
			t.Fatalf("NextAt(%v) = %d: node %d, valid %v", at, id, Node(id), Valid(id))
		}
		ids = append(ids, id)
	}
	for range 1000 {
		ids = append(ids, mustNext(t, g))
	}
	slices.Sort(ids)
	if i := firstDuplicate(ids); i >= 0 {
		t.Fatalf("id %d issued twice", ids[i])
	}
}

func TestNextAtRejections(t *testing.T) {
	clock := newFakeClock(someTime.Add(500 * time.Millisecond))
	g := mustNew(t, 1, WithClock(clock.Now))
	tests := []struct {
		name string
		at   time.Time
	}{
		{"the second New ran in", someTime},
		{"the future", someTime.Add(time.Hour)},
		{"before the epoch", time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if id, err := g.NextAt(tt.at); err == nil {
			t.Errorf("NextAt(%s) = %d, want an error", tt.name, id)
		}
	}
}

func TestNextAtFailsWhenASecondIsUsedUp(t *testing.T) {
	g := mustNew(t, 5, WithClock(newFakeClock(someTime).Now))
	past := someTime.Add(-time.Minute)
	for i := range seqMask + 1 {
		if _, err := g.NextAt(past); err != nil {
			t.Fatalf("NextAt #%d: %v", i, err)
		}
	}
	if _, err := g.NextAt(past); err == nil {
		t.Fatal("NextAt after 16,384 ids in one second succeeded")
	}
	if _, err := g.NextAt(past.Add(time.Second)); err != nil {
		t.Fatalf("NextAt in the following second: %v", err)
	}
}

func TestNextAtNeverIssuesZero(t *testing.T) {
	g := mustNew(t, 0, WithClock(newFakeClock(someTime).Now))
	id, err := g.NextAt(time.Unix(epochUnix, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !Valid(id) {
		t.Fatalf("NextAt(epoch) on node 0 = %d, not a valid id", id)
	}
}

// The benchmarks read the real clock but allow running far ahead of it: they
// measure what one id costs, not the 16,384-per-second capacity of the id layout.
func BenchmarkNext(b *testing.B) {
	g := mustNew(b, 1, WithMaxAhead(24*time.Hour))
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNextParallel(b *testing.B) {
	g := mustNew(b, 1, WithMaxAhead(24*time.Hour))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Next(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestGuard(t *testing.T) {
	var lapsed error
	g, err := New(3, WithGuard(func() error { return lapsed }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Next(); err != nil {
		t.Fatal(err)
	}
	lapsed = errors.New("lease lapsed")
	if _, err := g.Next(); !errors.Is(err, lapsed) {
		t.Fatalf("Next with a failing guard: %v", err)
	}
	if _, err := g.NextAt(time.Now().Add(-time.Hour)); !errors.Is(err, lapsed) {
		t.Fatalf("NextAt with a failing guard: %v", err)
	}
	lapsed = nil
	if _, err := g.Next(); err != nil {
		t.Fatalf("Next once the guard passes again: %v", err)
	}
}
