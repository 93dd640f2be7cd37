package cache_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// Expiry tests use a short TTL and poll for its effect until this deadline, so a slow
// machine makes them slower, not flaky.
const (
	shortTTL     = 80 * time.Millisecond
	longTTL      = time.Minute
	pollDeadline = 10 * time.Second
	pollInterval = 5 * time.Millisecond
)

func TestConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		runConformance(t, func(t *testing.T) cache.Cache { return cache.NewLocal(10_000) })
	})
	t.Run("redis", func(t *testing.T) {
		client := dialTestRedis(t)
		runConformance(t, func(t *testing.T) cache.Cache { return cache.NewRedis(client, testPrefix(t, client)) })
	})
}

// dialTestRedis connects to the Redis named by the test environment, skipping without one.
func dialTestRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	addr := testenv.RedisAddr(t)
	client, err := cache.DialRedis(t.Context(), addr, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// testPrefix returns a key prefix no other test run uses and deletes every key under it
// when the test ends.
func testPrefix(t *testing.T, client redis.UniversalClient) string {
	t.Helper()
	prefix := "mdouyin_test:" + strings.ToLower(rand.Text()) + ":"
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		var keys []string
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
			}
		}
	})
	return prefix
}

func mustGet(t *testing.T, c cache.Cache, key string) ([]byte, bool) {
	t.Helper()
	val, ok, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !ok && val != nil {
		t.Errorf("Get(%q) missed but returned %q", key, val)
	}
	return val, ok
}

func mustSet(t *testing.T, c cache.Cache, key, val string, ttl time.Duration) {
	t.Helper()
	if err := c.Set(t.Context(), key, []byte(val), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// waitForMiss polls until key is gone, failing the test if it outlives the deadline.
func waitForMiss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		if _, ok := mustGet(t, c, key); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still cached %v after it should have expired", key, pollDeadline)
		}
		time.Sleep(pollInterval)
	}
}

func runConformance(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	t.Run("GetSetMiss", func(t *testing.T) {
		c := newCache(t)
		if _, ok := mustGet(t, c, "absent"); ok {
			t.Error("Get of a key never set reported a hit")
		}
		mustSet(t, c, "k", "v1", longTTL)
		mustSet(t, c, "other", "x", longTTL)
		if val, ok := mustGet(t, c, "k"); !ok || string(val) != "v1" {
			t.Errorf("Get(k) = %q, %v; want \"v1\", true", val, ok)
		}
		mustSet(t, c, "k", "v2", longTTL)
		if val, ok := mustGet(t, c, "k"); !ok || string(val) != "v2" {
			t.Errorf("Get(k) after overwrite = %q, %v; want \"v2\", true", val, ok)
		}
		if val, ok := mustGet(t, c, "other"); !ok || string(val) != "x" {
			t.Errorf("Get(other) = %q, %v; want \"x\", true", val, ok)
		}
		binary := []byte{0, 0xff, 0xfe, '\n', 0}
		if err := c.Set(t.Context(), "binary", binary, longTTL); err != nil {
			t.Fatal(err)
		}
		if val, ok := mustGet(t, c, "binary"); !ok || string(val) != string(binary) {
			t.Errorf("Get(binary) = %q, %v; want %q", val, ok, binary)
		}
	})

	t.Run("GetManySetMany", func(t *testing.T) {
		c := newCache(t)
		got, err := c.GetMany(t.Context(), nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("GetMany(nil) = %v, %v; want empty", got, err)
		}
		if err := c.SetMany(t.Context(), map[string][]byte{"a": []byte("1"), "b": {}, "c": []byte("3")}, longTTL); err != nil {
			t.Fatal(err)
		}
		mustSet(t, c, "c", "3b", longTTL)
		got, err = c.GetMany(t.Context(), []string{"a", "b", "c", "absent"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": "1", "b": "", "c": "3b"}
		if len(got) != len(want) {
			t.Fatalf("GetMany = %q; want %q", got, want)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g == nil || string(g) != v {
				t.Errorf("GetMany[%q] = %q (present %v); want %q", k, g, ok, v)
			}
		}
		if err := c.SetMany(t.Context(), map[string][]byte{"x": []byte("y")}, 0); err == nil {
			t.Error("SetMany with a zero TTL succeeded; want an error")
		}
	})

	t.Run("EmptyValueIsNotAMiss", func(t *testing.T) {
		c := newCache(t)
		for _, v := range [][]byte{{}, nil} {
			if err := c.Set(t.Context(), "empty", v, longTTL); err != nil {
				t.Fatal(err)
			}
			val, ok := mustGet(t, c, "empty")
			if !ok || val == nil || len(val) != 0 {
				t.Errorf("Get after Set(%#v) = %#v, %v; want an empty non-nil slice and a hit", v, val, ok)
			}
		}
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		c := newCache(t)
		buf := []byte("hello")
		if err := c.Set(t.Context(), "k", buf, longTTL); err != nil {
			t.Fatal(err)
		}
		buf[0] = 'J'
		got, _ := mustGet(t, c, "k")
		if string(got) != "hello" {
			t.Fatalf("after the caller changed its slice Get = %q, want \"hello\"", got)
		}
		got[0] = 'X'
		if again, _ := mustGet(t, c, "k"); string(again) != "hello" {
			t.Errorf("after the caller changed a returned slice Get = %q, want \"hello\"", again)
		}
		nx := []byte("flag")
		if ok, err := c.SetNX(t.Context(), "nx", nx, longTTL); err != nil || !ok {
			t.Fatalf("SetNX = %v, %v", ok, err)
		}
		nx[0] = 'X'
		if got, _ := mustGet(t, c, "nx"); string(got) != "flag" {
			t.Errorf("after the caller changed its SetNX slice Get = %q, want \"flag\"", got)
		}
	})

	t.Run("TTLExpiry", func(t *testing.T) {
		c := newCache(t)
		start := time.Now()
		mustSet(t, c, "short", "s", shortTTL)
		mustSet(t, c, "long", "l", longTTL)
		mustSet(t, c, "extended", "e", shortTTL)
		mustSet(t, c, "extended", "e", longTTL) // a rewrite resets the lifetime
		mustSet(t, c, "shortened", "x", longTTL)
		mustSet(t, c, "shortened", "x", shortTTL)
		if _, ok := mustGet(t, c, "short"); !ok && time.Since(start) < shortTTL {
			t.Errorf("entry missing %v after Set, before its TTL of %v", time.Since(start), shortTTL)
		}
		waitForMiss(t, c, "short")
		waitForMiss(t, c, "shortened")
		if elapsed := time.Since(start); elapsed < shortTTL-10*time.Millisecond {
			t.Errorf("entry expired after %v, before its TTL of %v", elapsed, shortTTL)
		}
		for _, k := range []string{"long", "extended"} {
			if _, ok := mustGet(t, c, k); !ok {
				t.Errorf("%q expired with the short-lived entries", k)
			}
		}
	})

	t.Run("InvalidTTL", func(t *testing.T) {
		c := newCache(t)
		for _, ttl := range []time.Duration{0, -time.Second, time.Microsecond} {
			if err := c.Set(t.Context(), "k", []byte("v"), ttl); err == nil {
				t.Errorf("Set with ttl %v succeeded", ttl)
			}
			if ok, err := c.SetNX(t.Context(), "k", []byte("v"), ttl); err == nil || ok {
				t.Errorf("SetNX with ttl %v = %v, %v; want an error", ttl, ok, err)
			}
		}
		if _, ok := mustGet(t, c, "k"); ok {
			t.Error("a write with an invalid TTL stored a value")
		}
	})

	t.Run("SetNX", func(t *testing.T) {
		c := newCache(t)
		ctx := t.Context()
		if ok, err := c.SetNX(ctx, "flag", []byte("first"), shortTTL); err != nil || !ok {
			t.Fatalf("SetNX on an absent key = %v, %v; want true", ok, err)
		}
		if ok, err := c.SetNX(ctx, "flag", []byte("second"), longTTL); err != nil || ok {
			t.Errorf("SetNX on a present key = %v, %v; want false", ok, err)
		}
		if val, ok := mustGet(t, c, "flag"); ok && string(val) != "first" {
			t.Errorf("losing SetNX changed the value to %q", val)
		}
		// Once the flag expires the next SetNX wins again.
		deadline := time.Now().Add(pollDeadline)
		for {
			ok, err := c.SetNX(ctx, "flag", []byte("third"), longTTL)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SetNX still loses %v after the flag's TTL", pollDeadline)
			}
			time.Sleep(pollInterval)
		}
		if val, ok := mustGet(t, c, "flag"); !ok || string(val) != "third" {
			t.Errorf("after SetNX on an expired key Get = %q, %v; want \"third\"", val, ok)
		}
		// SetNX over a value written by Set loses too.
		mustSet(t, c, "plain", "set", longTTL)
		if ok, err := c.SetNX(ctx, "plain", []byte("nx"), longTTL); err != nil || ok {
			t.Errorf("SetNX over a Set value = %v, %v; want false", ok, err)
		}
	})

	t.Run("SetNXHasOneWinner", func(t *testing.T) {
		// A race is lost only now and then, so run many rounds, each on its own key.
		c := newCache(t)
		const rounds, racers = 50, 32
		for round := range rounds {
			key := fmt.Sprint("lock:", round)
			start := make(chan struct{})
			results := make([]bool, racers)
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					results[i], errs[i] = c.SetNX(t.Context(), key, []byte(fmt.Sprint(i)), longTTL)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i := range racers {
				if errs[i] != nil {
					t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
				}
				if results[i] {
					if winner >= 0 {
						t.Fatalf("round %d: racers %d and %d both won SetNX", round, winner, i)
					}
					winner = i
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no racer won SetNX", round)
			}
			if val, _ := mustGet(t, c, key); string(val) != fmt.Sprint(winner) {
				t.Fatalf("round %d: value is %q, want the winner's %d", round, val, winner)
			}
		}
	})

	t.Run("DeleteMany", func(t *testing.T) {
		c := newCache(t)
		for _, k := range []string{"a", "b", "c"} {
			mustSet(t, c, k, k, longTTL)
		}
		if err := c.Delete(t.Context(), "a", "b", "never-set"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := c.Delete(t.Context()); err != nil {
			t.Errorf("Delete with no keys: %v", err)
		}
		for _, k := range []string{"a", "b"} {
			if _, ok := mustGet(t, c, k); ok {
				t.Errorf("%q survived Delete", k)
			}
		}
		if val, ok := mustGet(t, c, "c"); !ok || string(val) != "c" {
			t.Errorf("Delete removed a key it was not given: Get(c) = %q, %v", val, ok)
		}
		// A deleted SetNX flag can be taken again.
		if ok, err := c.SetNX(t.Context(), "a", []byte("again"), longTTL); err != nil || !ok {
			t.Errorf("SetNX after Delete = %v, %v; want true", ok, err)
		}
	})
}

func TestRedisPrefixNamespacesKeys(t *testing.T) {
	client := dialTestRedis(t)
	ctx := t.Context()
	p1, p2 := testPrefix(t, client), testPrefix(t, client)
	c1, c2 := cache.NewRedis(client, p1), cache.NewRedis(client, p2)
	mustSet(t, c1, "k", "one", longTTL)
	if _, ok := mustGet(t, c2, "k"); ok {
		t.Error("a cache with another prefix sees the key")
	}
	raw, err := client.Get(ctx, p1+"k").Result()
	if err != nil || raw != "one" {
		t.Errorf("raw GET %sk = %q, %v; want \"one\"", p1, raw, err)
	}
	ttl, err := client.PTTL(ctx, p1+"k").Result()
	if err != nil || ttl <= 0 || ttl > longTTL {
		t.Errorf("raw PTTL = %v, %v; want a positive TTL up to %v", ttl, err, longTTL)
	}
	if err := c2.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, c1, "k"); !ok {
		t.Error("Delete through another prefix removed the key")
	}
}

func TestDialRedisNamesAddress(t *testing.T) {
	// Nothing listens on port 1, so this needs no server.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const password = "s3cr3t-Passw0rd"
	client, err := cache.DialRedis(ctx, "127.0.0.1:1", password, 0)
	if err == nil {
		client.Close()
		t.Fatal("DialRedis succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), password) {
		t.Errorf("error %q must name the address and not the password", err)
	}
}

func TestLocalIsBounded(t *testing.T) {
	const bound = 100
	c := cache.NewLocal(bound)
	for i := range 10 * bound {
		mustSet(t, c, fmt.Sprint(i), "v", longTTL)
	}
	// Eviction runs in otter's maintenance, which may trail the writes; poll for it.
	deadline := time.Now().Add(pollDeadline)
	for {
		present := 0
		for i := range 10 * bound {
			if _, ok := mustGet(t, c, fmt.Sprint(i)); ok {
				present++
			}
		}
		if present <= bound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries present in a cache bounded to %d", present, bound)
		}
		time.Sleep(pollInterval)
	}
}

func TestNewLocalRejectsNonPositiveSize(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLocal(%d) did not panic", n)
				}
			}()
			cache.NewLocal(n)
		}()
	}
}

func BenchmarkLocalGet(b *testing.B) {
	c := cache.NewLocal(100_000)
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("video:%d:page:0", i)
		if err := c.Set(ctx, keys[i], make([]byte, 512), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, _ := c.Get(ctx, keys[i&(len(keys)-1)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
