package cache

import (
	"context"
	"time"

	"github.com/maypok86/otter/v2"
)

// Local is an in-process Cache bounded by entry count. It never returns an error; the
// error results exist to satisfy Cache.
type Local struct {
	c *otter.Cache[string, localEntry]
}

var _ Cache = (*Local)(nil)

// localEntry keeps each value's TTL beside it, so the expiry calculator can give every
// entry its own lifetime and a Set replaces value and lifetime in one step.
type localEntry struct {
	val []byte
	ttl time.Duration
}

// NewLocal returns a Local holding at most maxEntries entries; beyond that, otter evicts
// the entries least likely to be used again. It panics if maxEntries is not positive, a
// configuration error that validation should have caught.
func NewLocal(maxEntries int) *Local {
	if maxEntries <= 0 {
		panic("cache: NewLocal needs a positive maxEntries")
	}
	return &Local{c: otter.Must(&otter.Options[string, localEntry]{
		MaximumSize: maxEntries,
		// The lifetime restarts when a value is written and is not extended by reads, as
		// with Redis SET ... PX.
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, localEntry]) time.Duration {
			return e.Value.ttl
		}),
	})}
}

// Get returns a copy of the value stored under key, if it has not expired.
func (l *Local) Get(_ context.Context, key string) ([]byte, bool, error) {
	e, ok := l.c.GetIfPresent(key)
	if !ok {
		return nil, false, nil
	}
	return clone(e.val), true, nil
}

// Set stores a copy of val under key for ttl, replacing any value and TTL already there.
func (l *Local) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	l.c.Set(key, localEntry{val: clone(val), ttl: ttl})
	return nil
}

// SetNX stores a copy of val under key for ttl unless a live entry is there already. The
// check and the write happen under the entry's lock, so among concurrent callers exactly
// one wins.
func (l *Local) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	e := localEntry{val: clone(val), ttl: ttl}
	won := false
	l.c.Compute(key, func(old localEntry, found bool) (localEntry, otter.ComputeOp) {
		if found { // an expired entry counts as absent
			return old, otter.CancelOp
		}
		won = true
		return e, otter.WriteOp
	})
	return won, nil
}

// Delete removes the keys; absent keys are ignored.
func (l *Local) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		l.c.Invalidate(k)
	}
	return nil
}

// GetMany returns copies of the live values stored under keys.
func (l *Local) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if e, ok := l.c.GetIfPresent(k); ok {
			out[k] = clone(e.val)
		}
	}
	return out, nil
}

// SetMany stores a copy of every value in vals for ttl.
func (l *Local) SetMany(_ context.Context, vals map[string][]byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	for k, v := range vals {
		l.c.Set(k, localEntry{val: clone(v), ttl: ttl})
	}
	return nil
}
