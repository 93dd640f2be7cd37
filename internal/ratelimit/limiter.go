package ratelimit

import (
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Limiter keeps one token bucket per key (a client address, an account) under a
// single Rule, in bounded memory.
//
// Buckets live in an otter cache holding at most maxKeys entries. An entry left unused
// for as long as its bucket takes to refill completely (but at least a minute and at
// most a day) is dropped: recreating it later yields the same full bucket, so idle keys
// cost nothing and forgetting them changes no answer. When more keys are active than fit, the cache's admission policy (W-TinyLFU)
// keeps the frequently seen ones and evicts the rest; an evicted key starts again with
// a full bucket, so maxKeys must comfortably exceed the number of clients active within
// one refill period, or a key rotating attacker could earn fresh bursts by crowding
// others out.
type Limiter struct {
	rule    Rule
	limit   rate.Limit
	now     func() time.Time
	buckets *otter.Cache[string, *rate.Limiter]
}

// Option adjusts a Limiter at construction.
type Option func(*options)

type options struct {
	now         func() time.Time
	customClock bool
}

// WithClock makes the limiter read time from now instead of the wall clock, so tests
// can move time forward without sleeping. now must be safe for concurrent use. With a
// custom clock the cache drops idle buckets during its maintenance on writes and on
// CleanUp only, never from a background ticker, since such a clock may not advance by
// itself.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now, o.customClock = now, true }
}

// minIdle is the shortest time a bucket is kept unused. Buckets of fast rules refill
// within seconds; keeping them a little longer saves recreating one for every request
// of a client that pauses between calls, at no cost in correctness.
const minIdle = time.Minute

// maxIdle caps how long an unused bucket is kept. A rule with a very slow refill (a
// large burst at a few per hour) would otherwise pin entries for days; after a day of
// silence a client may start over with a full bucket.
const maxIdle = 24 * time.Hour

// NewLimiter returns a limiter applying rule to each key, remembering at most maxKeys
// keys. An invalid rule, a maxKeys below one or a nil clock is a programming error and
// panics: rules from ParseRule and ParseClasses are always valid, and Rule.Validate
// checks one built by hand.
func NewLimiter(rule Rule, maxKeys int, opts ...Option) *Limiter {
	if err := rule.Validate(); err != nil {
		panic("ratelimit.NewLimiter: " + err.Error())
	}
	if maxKeys < 1 {
		panic(fmt.Sprintf("ratelimit.NewLimiter: maxKeys %d must be at least 1", maxKeys))
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		panic("ratelimit.NewLimiter: nil clock")
	}

	cacheOpts := &otter.Options[string, *rate.Limiter]{
		MaximumSize:      maxKeys,
		ExpiryCalculator: otter.ExpiryAccessing[string, *rate.Limiter](idleTimeout(rule)),
	}
	if o.customClock {
		cacheOpts.Clock = otterClock{now: o.now}
	}
	// otter.Must fails only on contradictory options, which the checks above exclude.
	buckets := otter.Must(cacheOpts)
	return &Limiter{rule: rule, limit: rate.Limit(rule.Rate), now: o.now, buckets: buckets}
}

// idleTimeout is how long a bucket of rule takes to refill from empty to full, within
// [minIdle, maxIdle].
func idleTimeout(rule Rule) time.Duration {
	secs := float64(rule.Burst) / rule.Rate
	if secs >= maxIdle.Seconds() {
		return maxIdle
	}
	return max(minIdle, time.Duration(math.Ceil(secs*float64(time.Second))))
}

// Allow takes a token from key's bucket. It reports whether one was there and, if not,
// how long until one will be: the value for a Retry-After header or a client's backoff.
// A refused request takes nothing, so a client that keeps trying while limited does
// not push its own recovery further away.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	b, _ := l.buckets.ComputeIfAbsent(key, func() (*rate.Limiter, bool) {
		return rate.NewLimiter(l.limit, l.rule.Burst), false
	})
	if b.AllowN(now, 1) {
		return true, 0
	}
	// Refused: the bucket holds less than one token. Concurrent callers can only
	// lower it further, so this is a lower bound on the wait; a millisecond floor keeps
	// it positive whatever the rounding.
	deficit := 1 - b.TokensAt(now)
	wait := time.Duration(math.Ceil(deficit / l.rule.Rate * float64(time.Second)))
	return false, max(wait, time.Millisecond)
}

// Rule returns the rule the limiter applies.
func (l *Limiter) Rule() Rule { return l.rule }

// Len returns about how many keys the limiter currently remembers; the cache counts
// asynchronously, so it may briefly lag behind evictions.
func (l *Limiter) Len() int { return l.buckets.EstimatedSize() }

// Close stops the cache's background clean-up goroutine. A limiter that is simply
// dropped stops it too, at the next tick; Close is for owners that shut down
// deterministically, such as tests checking for leaked goroutines.
func (l *Limiter) Close() { l.buckets.StopAllGoroutines() }

// otterClock adapts an injected clock to otter's. It never ticks: periodic clean-ups
// would run against a clock that may be frozen, and maintenance on writes and CleanUp
// is enough to honour expiry.
type otterClock struct{ now func() time.Time }

func (c otterClock) NowNano() int64                      { return c.now().UnixNano() }
func (c otterClock) Tick(time.Duration) <-chan time.Time { return nil }
