package password

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// testParams are cheap enough to hash thousands of times in a test run.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t testing.TB, p Params, maxInFlight int) *Hasher {
	t.Helper()
	h, err := NewHasher(p, maxInFlight)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

func mustHash(t testing.TB, h *Hasher, password string) string {
	t.Helper()
	s, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return s
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestHashAndVerify(t *testing.T) {
	h := newHasher(t, testParams, 2)
	ctx := context.Background()
	tests := []struct {
		name, password, attempt string
		want                    bool
	}{
		{"same password", "correct horse battery staple", "correct horse battery staple", true},
		{"wrong password", "correct horse battery staple", "correct horse battery stapler", false},
		{"case matters", "Secret", "secret", false},
		{"empty password", "", "", true},
		{"empty attempt", "secret", "", false},
		{"unicode", "密码🔑", "密码🔑", true},
		{"long", strings.Repeat("x", 10_000), strings.Repeat("x", 10_000), true},
		{"long, last byte differs", strings.Repeat("x", 10_000), strings.Repeat("x", 9_999) + "y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, h, tt.password)
			ok, err := h.Verify(ctx, tt.attempt, encoded)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify = %v, %v; want %v, nil", ok, err, tt.want)
			}
		})
	}
}

func TestHashWritesPHCString(t *testing.T) {
	h := newHasher(t, testParams, 1)
	a, b := mustHash(t, h, "secret"), mustHash(t, h, "secret")
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)
	for _, s := range []string{a, b} {
		m := phc.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("%q is not a PHC string with 16-byte salt and 32-byte hash", s)
		}
		salt, err := base64.RawStdEncoding.DecodeString(m[1])
		if err != nil || len(salt) != 16 {
			t.Errorf("salt %q: %d bytes, %v", m[1], len(salt), err)
		}
	}
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

// TestVerifyReferenceHashes checks interoperability with the reference
// implementation: these strings come from the argon2 command-line tool (Debian's
// argon2 0~20171227), e.g. `echo -n 'correct horse battery staple' | argon2
// mdouyin-kat-salt -id -t 2 -k 64 -p 1 -l 32 -e`.
func TestVerifyReferenceHashes(t *testing.T) {
	h := newHasher(t, testParams, 1)
	const password = "correct horse battery staple"
	for _, encoded := range []string{
		"$argon2id$v=19$m=64,t=2,p=1$bWRvdXlpbi1rYXQtc2FsdA$nQbbqysGZ8ZkhQN5x5S8L5wCo2wAkqX5YDiw73q5FzA",
		"$argon2id$v=19$m=256,t=3,p=2$bWRvdXlpbi1rYXQtc2FsdA$TbJNGqWIK5WOriCe7xhdjQiuS3nzb0SiTcwX6tLeOm8",
	} {
		for _, tt := range []struct {
			attempt string
			want    bool
		}{{password, true}, {password + "!", false}} {
			ok, err := h.Verify(context.Background(), tt.attempt, encoded)
			if err != nil || ok != tt.want {
				t.Errorf("Verify(%q, %s) = %v, %v; want %v", tt.attempt, encoded, ok, err, tt.want)
			}
		}
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	h := newHasher(t, testParams, 1)
	good := mustHash(t, h, "secret")
	fields := strings.Split(good, "$") // "", argon2id, v=19, m=64,t=1,p=1, salt, hash
	salt, key := fields[4], fields[5]
	with := func(params, salt, key string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + key
	}
	b64 := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }

	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "secret"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"no version", strings.Replace(good, "$v=19", "", 1)},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"empty hash", with("m=64,t=1,p=1", salt, "")},
		{"extra field", good + "$AAAA"},
		{"parameters reordered", with("t=1,m=64,p=1", salt, key)},
		{"parameter missing", with("m=64,t=1", salt, key)},
		{"extra parameter", with("m=64,t=1,p=1,keyid=x", salt, key)},
		{"non-numeric memory", with("m=lots,t=1,p=1", salt, key)},
		{"negative time", with("m=64,t=-1,p=1", salt, key)},
		{"plus sign", with("m=+64,t=1,p=1", salt, key)},
		{"leading zero", with("m=064,t=1,p=1", salt, key)},
		{"space", with("m=64, t=1,p=1", salt, key)},
		{"memory overflows uint32", with("m=4294967296,t=1,p=1", salt, key)},
		{"memory above 1 GiB", with("m=1048577,t=1,p=1", salt, key)},
		{"memory below 8 KiB per thread", with("m=15,t=1,p=2", salt, key)},
		{"zero time", with("m=64,t=0,p=1", salt, key)},
		{"time above limit", with("m=64,t=65,p=1", salt, key)},
		{"too much work", with("m=1048576,t=5,p=1", salt, key)},
		{"zero threads", with("m=64,t=1,p=0", salt, key)},
		{"256 threads", with("m=4096,t=1,p=256", salt, key)},
		{"salt not base64", with("m=64,t=1,p=1", "!!!!", key)},
		{"padded salt", with("m=64,t=1,p=1", base64.StdEncoding.EncodeToString(make([]byte, 16)), key)},
		{"non-canonical salt bits", with("m=64,t=1,p=1", "AAAAAAAAAAAAAAAAAAAAAB", key)},
		{"salt too short", with("m=64,t=1,p=1", b64(4), key)},
		{"salt too long", with("m=64,t=1,p=1", b64(65), key)},
		{"hash too short", with("m=64,t=1,p=1", salt, b64(8))},
		{"hash too long", with("m=64,t=1,p=1", salt, b64(65))},
		{"url-safe base64", with("m=64,t=1,p=1", strings.Repeat("-_", 11), key)},
		{"far too long", good + strings.Repeat("A", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), "secret", tt.encoded)
			if err == nil || ok {
				t.Fatalf("Verify(%q) = %v, %v; want false and an error", tt.encoded, ok, err)
			}
			if errs.CodeOf(err) != base.ErrCode_Internal {
				t.Errorf("a corrupt stored hash is an internal failure, got code %v", errs.CodeOf(err))
			}
			if len(tt.encoded) > 8 && strings.Contains(err.Error(), tt.encoded) {
				t.Errorf("error %q repeats the stored hash", err)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Error("NeedsRehash = false for a malformed hash")
			}
		})
	}
	if ok, err := h.Verify(context.Background(), "secret", good); err != nil || !ok {
		t.Fatalf("the unmodified hash no longer verifies: %v, %v", ok, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newHasher(t, testParams, 1)
	tests := []struct {
		name   string
		change func(*Params)
		want   bool
	}{
		{"same parameters", func(*Params) {}, false},
		{"more memory", func(p *Params) { p.Memory = 128 }, true},
		{"more time", func(p *Params) { p.Time = 2 }, true},
		{"more threads", func(p *Params) { p.Threads = 2 }, true},
		{"longer salt", func(p *Params) { p.SaltLen = 32 }, true},
		{"shorter key", func(p *Params) { p.KeyLen = 16 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams
			tt.change(&p)
			encoded := mustHash(t, newHasher(t, p, 1), "secret")
			if got := h.NeedsRehash(encoded); got != tt.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tt.want)
			}
			// Whatever the parameters, the hash still verifies.
			if ok, err := h.Verify(context.Background(), "secret", encoded); err != nil || !ok {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
}

func TestNewHasherValidates(t *testing.T) {
	tests := []struct {
		name        string
		change      func(*Params)
		maxInFlight int
		wantErr     bool
	}{
		{"test parameters", func(*Params) {}, 1, false},
		{"default parameters", func(p *Params) { *p = DefaultParams() }, 4, false},
		{"zero in flight", func(*Params) {}, 0, true},
		{"negative in flight", func(*Params) {}, -1, true},
		{"zero threads", func(p *Params) { p.Threads = 0 }, 1, true},
		{"zero time", func(p *Params) { p.Time = 0 }, 1, true},
		{"memory above 1 GiB", func(p *Params) { p.Memory = 2 << 20 }, 1, true},
		{"memory below 8 KiB per thread", func(p *Params) { p.Memory, p.Threads = 8, 2 }, 1, true},
		{"short salt", func(p *Params) { p.SaltLen = 4 }, 1, true},
		{"short key", func(p *Params) { p.KeyLen = 8 }, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams
			tt.change(&p)
			h, err := NewHasher(p, tt.maxInFlight)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewHasher error = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && h.MaxInFlight() != tt.maxInFlight {
				t.Errorf("MaxInFlight = %d, want %d", h.MaxInFlight(), tt.maxInFlight)
			}
		})
	}
}

// overlap wraps h's key derivation to record the most computations, and the most
// KiB of Argon2 memory, in flight at once.
type overlap struct {
	now, peak       atomic.Int64
	memNow, memPeak atomic.Int64
	calls           atomic.Int64
}

func raise(peak *atomic.Int64, v int64) {
	for old := peak.Load(); v > old && !peak.CompareAndSwap(old, v); old = peak.Load() {
	}
}

func (o *overlap) instrument(h *Hasher) {
	derive := h.derive
	h.derive = func(password, salt []byte, p Params) []byte {
		o.calls.Add(1)
		raise(&o.peak, o.now.Add(1))
		raise(&o.memPeak, o.memNow.Add(int64(p.Memory)))
		defer o.now.Add(-1)
		defer o.memNow.Add(-int64(p.Memory))
		return derive(password, salt, p)
	}
}

func TestConcurrencyNeverExceedsMaxInFlight(t *testing.T) {
	const (
		workers     = 32
		maxInFlight = 2
	)
	h := newHasher(t, testParams, maxInFlight)
	var o overlap
	o.instrument(h)

	var wg sync.WaitGroup
	var verified atomic.Int64
	for i := range workers {
		wg.Go(func() {
			pw := fmt.Sprintf("password-%d", i)
			encoded, err := h.Hash(context.Background(), pw)
			if err != nil {
				t.Errorf("Hash: %v", err)
				return
			}
			if ok, err := h.Verify(context.Background(), pw, encoded); err != nil || !ok {
				t.Errorf("Verify = %v, %v", ok, err)
				return
			}
			if err := h.DummyVerify(context.Background(), pw); err != nil {
				t.Errorf("DummyVerify: %v", err)
				return
			}
			verified.Add(1)
		})
	}
	wg.Wait()

	if got := verified.Load(); got != workers {
		t.Fatalf("%d of %d workers completed", got, workers)
	}
	if got := o.calls.Load(); got != 3*workers {
		t.Errorf("%d hashes computed, want %d", got, 3*workers)
	}
	if peak := o.peak.Load(); peak > maxInFlight || peak < 1 {
		t.Errorf("peak concurrent hashes = %d, want 1..%d", peak, maxInFlight)
	}
	if h.InFlight() != 0 || h.Queued() != 0 {
		t.Errorf("after the run InFlight = %d, Queued = %d; want 0, 0", h.InFlight(), h.Queued())
	}
}

// TestLargerStoredParamsTakeMoreSlots checks that verifying hashes made with more
// memory than the current parameters cannot push Argon2's memory beyond
// maxInFlight × current memory.
func TestLargerStoredParamsTakeMoreSlots(t *testing.T) {
	const maxInFlight = 4
	h := newHasher(t, testParams, maxInFlight)
	bigParams := testParams
	bigParams.Memory = 3 * testParams.Memory // three slots each
	big := mustHash(t, newHasher(t, bigParams, 1), "big")
	var o overlap
	o.instrument(h)

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			var ok bool
			var err error
			if i%2 == 0 {
				ok, err = h.Verify(context.Background(), "big", big)
			} else {
				var s string
				if s, err = h.Hash(context.Background(), "small"); err == nil {
					ok, err = h.Verify(context.Background(), "small", s)
				}
			}
			if err != nil || !ok {
				t.Errorf("worker %d: %v, %v", i, ok, err)
			}
		})
	}
	wg.Wait()

	if peak, limit := o.memPeak.Load(), int64(maxInFlight*testParams.Memory); peak > limit {
		t.Errorf("peak Argon2 memory %d KiB above %d KiB", peak, limit)
	}
}

// blockedHasher returns a Hasher whose every slot is taken by a hash that stays in
// progress until the test ends.
func blockedHasher(t *testing.T, maxInFlight int) *Hasher {
	t.Helper()
	h := newHasher(t, testParams, maxInFlight)
	entered, release := make(chan struct{}), make(chan struct{})
	derive := h.derive
	h.derive = func(password, salt []byte, p Params) []byte {
		select { // a call that should have stayed queued must not hang the test
		case entered <- struct{}{}:
		case <-release:
		}
		<-release
		return derive(password, salt, p)
	}
	var wg sync.WaitGroup
	for range maxInFlight {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "holder"); err != nil {
				t.Errorf("holder: %v", err)
			}
		})
	}
	for range maxInFlight {
		<-entered
	}
	t.Cleanup(func() {
		close(release)
		wg.Wait()
	})
	return h
}

func TestContextEndingWhileQueuedReturnsUnavailable(t *testing.T) {
	h := blockedHasher(t, 2)
	encoded := mustHash(t, newHasher(t, testParams, 1), "secret")
	ops := []struct {
		name string
		run  func(context.Context) error
	}{
		{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "secret"); return err }},
		{"Verify", func(ctx context.Context) error { _, err := h.Verify(ctx, "secret", encoded); return err }},
		{"DummyVerify", func(ctx context.Context) error { return h.DummyVerify(ctx, "secret") }},
	}
	for _, op := range ops {
		t.Run(op.name+"/cancelled while queued", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- op.run(ctx) }()
			waitFor(t, "the call to queue", func() bool { return h.Queued() == 1 })
			cancel()
			assertBusy(t, <-done)
			if h.Queued() != 0 {
				t.Errorf("Queued = %d after the caller left", h.Queued())
			}
		})
		t.Run(op.name+"/deadline while queued", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			assertBusy(t, op.run(ctx))
		})
	}
	if got := h.InFlight(); got != 2 {
		t.Errorf("InFlight = %d while both slots are held, want 2", got)
	}
}

func assertBusy(t *testing.T, err error) {
	t.Helper()
	e, ok := errs.From(err)
	if !ok || e.Code != base.ErrCode_Unavailable || e.Msg != "server busy, try again" {
		t.Fatalf("err = %v, want Unavailable %q", err, "server busy, try again")
	}
}

func TestDefaultParams(t *testing.T) {
	h := newHasher(t, DefaultParams(), 1)
	encoded := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("encoded = %q, want OWASP parameters m=19456,t=2,p=1", encoded)
	}
	for _, tt := range []struct {
		attempt string
		want    bool
	}{{"correct horse battery staple", true}, {"Correct horse battery staple", false}} {
		if ok, err := h.Verify(context.Background(), tt.attempt, encoded); err != nil || ok != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.attempt, ok, err, tt.want)
		}
	}
	if h.NeedsRehash(encoded) {
		t.Error("NeedsRehash = true for a hash with the current parameters")
	}
}

func BenchmarkHash(b *testing.B) {
	h := newHasher(b, DefaultParams(), runtime.GOMAXPROCS(0))
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashParallel(b *testing.B) {
	h := newHasher(b, DefaultParams(), runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestQueueIsBounded holds every slot, so hashes queue: past queuePerSlot waiters
// per slot a hash is refused at once as busy (Unavailable), and the queued ones
// all complete once the slots free up.
func TestQueueIsBounded(t *testing.T) {
	const slots = 2
	h := newHasher(t, testParams, slots)
	if err := h.sem.Acquire(context.Background(), slots); err != nil {
		t.Fatal(err)
	}
	limit := slots * queuePerSlot
	var wg sync.WaitGroup
	var done, busy atomic.Int64
	for range limit {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "queued"); err != nil {
				t.Errorf("a queued hash failed: %v", err)
				return
			}
			done.Add(1)
		})
	}
	waitFor(t, "every hash queued", func() bool { return h.Queued() == limit })
	for range 5 {
		_, err := h.Hash(context.Background(), "one too many")
		if errs.CodeOf(err) != base.ErrCode_Unavailable {
			t.Fatalf("hash past a full queue: %v, want Unavailable", err)
		}
		busy.Add(1)
	}
	if q := h.Queued(); q != limit {
		t.Fatalf("queued %d after refusals, want %d", q, limit)
	}
	h.sem.Release(slots)
	wg.Wait()
	if done.Load() != int64(limit) || busy.Load() != 5 {
		t.Fatalf("done %d (want %d), busy %d (want 5)", done.Load(), limit, busy.Load())
	}
	mustHash(t, h, "after") // the queue is free again
}
