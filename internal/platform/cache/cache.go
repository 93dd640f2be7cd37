// Package cache is the byte-valued cache the services keep hot data in: an in-process cache
// when every role runs in one process or for per-process hot keys, Redis when replicas must
// share what they cache. Callers encode their own values; the cache only stores bytes.
package cache

import (
	"context"
	"fmt"
	"time"
)

// Cache is a byte-valued key/value cache with per-entry TTL. Misses are not errors.
//
// Values are copied in and out: a caller may reuse the slice it passed to Set, and may
// modify the slice Get returns, without affecting the cache. An entry stored with an empty
// value is found as an empty, non-nil slice, so "cached as empty" differs from a miss.
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// SetNX sets key only if it is absent and reports whether it did; used for short-lived flags against stampedes.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	Delete(ctx context.Context, keys ...string) error
	// GetMany returns the values found for keys, by key; missing keys are left out. It
	// is one round trip for a remote cache, so a page of items costs one call, not one
	// per item.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// SetMany stores every entry of vals for ttl, in one round trip.
	SetMany(ctx context.Context, vals map[string][]byte, ttl time.Duration) error
}

// minTTL is the shortest TTL accepted: Redis keeps expiry in milliseconds. Zero and negative
// TTLs are refused rather than read as "never expire", because a cache entry that never
// expires is a stale value waiting to be served.
const minTTL = time.Millisecond

func checkTTL(ttl time.Duration) error {
	if ttl < minTTL {
		return fmt.Errorf("cache: ttl %v is shorter than %v", ttl, minTTL)
	}
	return nil
}

// clone returns a copy of b that is never nil, so an empty value stays distinguishable from
// a miss.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
