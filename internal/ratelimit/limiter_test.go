package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestLimiter(t *testing.T, rule string, maxKeys int, clock *fakeClock) *Limiter {
	t.Helper()
	r, err := ParseRule(rule)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLimiter(r, maxKeys, WithClock(clock.Now))
	t.Cleanup(l.Close)
	return l
}

// take calls Allow n times and returns how many were allowed.
func take(l *Limiter, key string, n int) int {
	allowed := 0
	for range n {
		if ok, _ := l.Allow(key); ok {
			allowed++
		}
	}
	return allowed
}

func TestLimiterBurstThenRefill(t *testing.T) {
	clock := newFakeClock()
	l := newTestLimiter(t, "2/s:3", 100, clock)

	if got := take(l, "a", 3); got != 3 {
		t.Fatalf("burst: %d of 3 allowed", got)
	}
	ok, retry := l.Allow("a")
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("after the burst: ok=%v retryAfter=%v; want refused, retry in 500ms", ok, retry)
	}

	clock.Advance(499 * time.Millisecond)
	ok, retry = l.Allow("a")
	if ok || retry <= 0 || retry > 2*time.Millisecond {
		t.Fatalf("1ms before the next token: ok=%v retryAfter=%v; want refused, retry within 2ms", ok, retry)
	}

	clock.Advance(time.Millisecond)
	if got := take(l, "a", 2); got != 1 {
		t.Errorf("after one refill interval: %d allowed, want exactly 1", got)
	}

	// Refused attempts took nothing: after one more interval there is again one token.
	clock.Advance(500 * time.Millisecond)
	if got := take(l, "a", 2); got != 1 {
		t.Errorf("after retrying while limited: %d allowed, want 1", got)
	}

	// A long pause refills to the burst and no further.
	clock.Advance(time.Hour)
	if got := take(l, "a", 10); got != 3 {
		t.Errorf("after an hour: %d allowed, want the burst of 3", got)
	}
}

func TestLimiterSlowRuleRetryAfter(t *testing.T) {
	clock := newFakeClock()
	l := newTestLimiter(t, "30/m", 10, clock)
	if got := take(l, "k", 31); got != 30 {
		t.Fatalf("%d of 31 allowed, want 30", got)
	}
	if _, retry := l.Allow("k"); retry != 2*time.Second {
		t.Errorf("retryAfter = %v, want 2s (one token every two seconds)", retry)
	}
}

func TestLimiterKeysIndependent(t *testing.T) {
	clock := newFakeClock()
	l := newTestLimiter(t, "1/s:2", 100, clock)
	if got := take(l, "ip:192.0.2.1", 5); got != 2 {
		t.Fatalf("first key: %d allowed, want 2", got)
	}
	if got := take(l, "ip:192.0.2.2", 5); got != 2 {
		t.Errorf("second key: %d allowed, want its own burst of 2", got)
	}
	if got := take(l, "user:7", 1); got != 1 {
		t.Errorf("third key refused")
	}
}

func TestLimiterMemoryBounded(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 100
	l := newTestLimiter(t, "10/s", maxKeys, clock)
	for i := range 20 * maxKeys {
		if ok, _ := l.Allow(fmt.Sprintf("ip:%d", i)); !ok {
			t.Fatalf("fresh key %d refused", i)
		}
	}
	l.buckets.CleanUp()
	if n := l.Len(); n > maxKeys || n == 0 {
		t.Errorf("after %d keys the limiter holds %d, want 1..%d", 20*maxKeys, n, maxKeys)
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clock := newFakeClock()
	l := newTestLimiter(t, "10/s", 1000, clock)
	for i := range 50 {
		l.Allow(fmt.Sprintf("k%d", i))
	}
	l.buckets.CleanUp()
	if n := l.Len(); n != 50 {
		t.Fatalf("holding %d keys, want 50", n)
	}

	// A key in use stays; the others go once idle longer than a refill (floored at a minute).
	clock.Advance(40 * time.Second)
	l.Allow("k0")
	clock.Advance(40 * time.Second)
	l.buckets.CleanUp()
	if n := l.Len(); n != 1 {
		t.Errorf("after 80s idle, holding %d keys, want only the one used 40s ago", n)
	}
	if _, ok := l.buckets.GetIfPresent("k0"); !ok {
		t.Error("the recently used key was forgotten")
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want time.Duration
	}{
		{Rule{Rate: 100, Burst: 200}, minIdle},
		{Rule{Rate: 1000.0 / 3600, Burst: 1000}, time.Hour},
		{Rule{Rate: 1.0 / 3600, Burst: 1 << 30}, maxIdle},
	} {
		if got := idleTimeout(tc.rule); got != tc.want {
			t.Errorf("idleTimeout(%v) = %v, want %v", tc.rule, got, tc.want)
		}
	}
}

func TestNewLimiterPanicsOnBadInput(t *testing.T) {
	for name, build := range map[string]func(){
		"zero burst":   func() { NewLimiter(Rule{Rate: 1, Burst: 0}, 10) },
		"zero rate":    func() { NewLimiter(Rule{Rate: 0, Burst: 1}, 10) },
		"zero maxKeys": func() { NewLimiter(Rule{Rate: 1, Burst: 1}, 0) },
		"nil clock":    func() { NewLimiter(Rule{Rate: 1, Burst: 1}, 1, WithClock(nil)) },
	} {
		if !panics(build) {
			t.Errorf("%s: NewLimiter did not panic", name)
		}
	}
	if panics(func() { NewLimiter(Rule{Rate: 1, Burst: 1}, 1).Close() }) {
		t.Error("NewLimiter panicked on valid input")
	}
}

func panics(f func()) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	f()
	return false
}

func TestLimiterConcurrent(t *testing.T) {
	clock := newFakeClock()
	l := newTestLimiter(t, "1/h:100", 1000, clock)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 8 {
		wg.Go(func() {
			n := take(l, "shared", 50)
			mu.Lock()
			allowed += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("%d of 400 concurrent requests allowed, want exactly the burst of 100", allowed)
	}
}
