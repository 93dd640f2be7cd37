package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Cache on a Redis server or cluster shared by every replica.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Cache = (*Redis)(nil)

// NewRedis returns a Cache that stores key under prefix+key, so that mdouyin (or one test
// run) can share a Redis with others, e.g. with the prefix "mdouyin:". The client stays the
// caller's to close.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// DialRedis connects to the Redis server at addr, selects database db and pings it, so a
// wrong address or password is reported at startup, naming the address (never the
// password). The caller closes the client.
func DialRedis(ctx context.Context, addr, password string, db int) (redis.UniversalClient, error) {
	client := redis.NewClient(&redis.Options{Addr: addr, Password: password, DB: db})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("cache: ping redis at %s (db %d): %w", addr, db, err)
	}
	return client, nil
}

// Get returns the value stored under key, or ok == false if there is none.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	val, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: redis get %q: %w", key, err)
	}
	if val == nil {
		val = []byte{}
	}
	return val, true, nil
}

// Set stores val under key for ttl, replacing any value and TTL already there.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := r.client.Set(ctx, r.prefix+key, val, ttl).Err(); err != nil {
		return fmt.Errorf("cache: redis set %q: %w", key, err)
	}
	return nil
}

// SetNX stores val under key for ttl unless the key exists (SET NX PX), reporting whether
// it did; Redis runs the check and the write as one command.
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	ok, err := r.client.SetNX(ctx, r.prefix+key, val, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("cache: redis setnx %q: %w", key, err)
	}
	return ok, nil
}

// Delete removes the keys; absent keys are ignored. The deletes go out as one pipeline of
// single-key commands rather than one multi-key DEL, which a Redis Cluster refuses when the
// keys live in different slots.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, r.prefix+k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: redis delete %d keys: %w", len(keys), err)
	}
	return nil
}

// GetMany reads keys with one pipeline of GETs (not one MGET, which a Redis Cluster
// refuses across slots).
func (r *Redis) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, r.prefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cache: redis get %d keys: %w", len(keys), err)
	}
	for i, c := range cmds {
		val, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cache: redis get %q: %w", keys[i], err)
		}
		if val == nil {
			val = []byte{}
		}
		out[keys[i]] = val
	}
	return out, nil
}

// SetMany stores every value with one pipeline of SETs.
func (r *Redis) SetMany(ctx context.Context, vals map[string][]byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if len(vals) == 0 {
		return nil
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, v := range vals {
			p.Set(ctx, r.prefix+k, v, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: redis set %d keys: %w", len(vals), err)
	}
	return nil
}
