// Package password hashes and checks account passwords with Argon2id.
//
// Argon2id is memory-hard: each hash with the default parameters fills 19 MiB, which
// is what makes offline guessing expensive, and also what lets a flood of logins
// exhaust a server's memory if every request hashes at once. A Hasher therefore runs
// at most a fixed number of hashes at a time; the rest queue, and a request whose
// context ends while it waits gets an Unavailable error ("server busy") instead of
// holding memory it would not use in time.
//
// Hashes are stored as PHC strings ($argon2id$v=19$m=...,t=...,p=...$salt$hash) that
// carry their own parameters, so the parameters can be raised later: old hashes still
// verify, and NeedsRehash tells the login path to store a fresh one.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// Params are Argon2id's cost parameters and output sizes.
type Params struct {
	Memory  uint32 // KiB of memory per hash
	Time    uint32 // passes over the memory
	Threads uint8  // lanes computed in parallel
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key stored
}

// DefaultParams returns OWASP's recommended Argon2id configuration (m=19 MiB, t=2,
// p=1) with a 16-byte salt and a 32-byte key: about 20-40 ms of one core per hash.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Limits on parameters, for the Hasher's own and for those read from stored hashes.
// The upper ones stop a corrupt or planted hash from making one login allocate
// gigabytes or run for minutes; the lower ones refuse parameters too weak to be a
// deliberate choice.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxWork    = 1 << 22 // Memory × Time, KiB-passes: e.g. 1 GiB × 4, 64 MiB × 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	// maxEncodedLen bounds the PHC string Verify will parse; the longest valid
	// one (64-byte salt and key, largest parameters) is under 220 bytes.
	maxEncodedLen = 256

	// prefix starts every hash: the algorithm and argon2.Version (0x13 = 19),
	// the only version x/crypto computes.
	prefix = "$argon2id$v=19$"
)

// check reports why p cannot be used, or nil.
func (p Params) check() error {
	switch {
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("memory %d KiB is below 8 KiB per thread", p.Memory)
	case p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB is above %d KiB", p.Memory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d outside [1, %d]", p.Time, maxTime)
	case uint64(p.Memory)*uint64(p.Time) > maxWork:
		return fmt.Errorf("memory × time = %d above %d", uint64(p.Memory)*uint64(p.Time), maxWork)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with at most a fixed number of Argon2id
// computations in flight. It is safe for concurrent use.
type Hasher struct {
	params Params
	max    int64
	sem    *semaphore.Weighted

	inFlight atomic.Int64
	queued   atomic.Int64

	// derive computes the key. It is argon2.IDKey except in tests, which wrap it
	// to observe how many computations overlap.
	derive func(password, salt []byte, p Params) []byte
}

// NewHasher returns a Hasher that creates hashes with p and runs at most maxInFlight
// hashes at once, so that Argon2id's memory stays within about maxInFlight ×
// p.Memory KiB. It returns an error for parameters it would refuse to verify
// (see Verify) or maxInFlight < 1, because a misconfigured cost is better caught at
// start-up than at the first login.
func NewHasher(p Params, maxInFlight int) (*Hasher, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	if maxInFlight < 1 {
		return nil, fmt.Errorf("password: maxInFlight %d, want at least 1", maxInFlight)
	}
	return &Hasher{
		params: p,
		max:    int64(maxInFlight),
		sem:    semaphore.NewWeighted(int64(maxInFlight)),
		derive: func(password, salt []byte, p Params) []byte {
			return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		},
	}, nil
}

// Hash returns the PHC string of password under the Hasher's parameters with a
// fresh random salt. It waits for a free slot; if ctx ends first it returns an
// errs.Error with code Unavailable.
//
// Hash accepts passwords of any length; bounding them is the caller's input
// validation.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt) // never fails: crypto/rand aborts the program instead
	key, err := h.run(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a PHC string from Hash. The
// parameters come from encoded, so hashes made under older parameters still verify.
//
// It returns an error, never a panic, for a malformed string or one whose
// parameters are outside the limits (memory above 1 GiB, for instance); such an
// error means the stored hash is corrupt, not that the password is wrong. Like Hash,
// it returns an Unavailable errs.Error if ctx ends while it waits for a slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.run(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyVerify spends what Verify spends on a hash made with the Hasher's current
// parameters, queue included, and reports no match. A login for an unknown account
// calls it instead of returning at once, so response times do not tell an attacker
// which accounts exist. Its only error is the same Unavailable error Verify returns.
func (h *Hasher) DummyVerify(ctx context.Context, password string) error {
	salt := make([]byte, h.params.SaltLen)
	_, err := h.run(ctx, password, salt, h.params)
	return err
}

// NeedsRehash reports whether encoded was made with parameters other than the
// Hasher's, so that the login path can store a new hash while it has the password in
// hand. A malformed encoding needs rehashing too.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

// InFlight returns how many hashes are being computed now.
func (h *Hasher) InFlight() int { return int(h.inFlight.Load()) }

// Queued returns how many callers are waiting for a slot.
func (h *Hasher) Queued() int { return int(h.queued.Load()) }

// MaxInFlight returns the most hashes the Hasher computes at once.
func (h *Hasher) MaxInFlight() int { return int(h.max) }

// queuePerSlot bounds the hashes waiting for a slot, per slot.
const queuePerSlot = 64

var errBusy = errs.New(base.ErrCode_Unavailable, "server busy, try again")

// run derives the key for password under p once a slot is free.
//
// A hash takes one slot per p.Memory the Hasher's own parameters would use (rounded
// up, at most all of them), so stored hashes made under larger parameters than the
// current ones cannot push memory beyond what maxInFlight was sized for.
func (h *Hasher) run(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	weight := min(max(int64((uint64(p.Memory)+uint64(h.params.Memory)-1)/uint64(h.params.Memory)), 1), h.max)

	// The queue is bounded too: past queuePerSlot waiters per slot (seconds of
	// work) a login is told the server is busy instead of waiting behind a flood.
	if h.queued.Add(1) > h.max*queuePerSlot {
		h.queued.Add(-1)
		return nil, errBusy
	}
	err := h.sem.Acquire(ctx, weight)
	h.queued.Add(-1)
	if err != nil {
		return nil, errBusy
	}
	defer h.sem.Release(weight)

	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	return h.derive([]byte(password), salt, p), nil
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", prefix, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decode parses a PHC string as encode writes it, strictly: one canonical spelling
// per hash, so nothing but what Hash produced (or the reference implementation, which
// writes the same form) is accepted. Its errors never include encoded itself, which
// is a credential.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("password: malformed hash: "+format, args...)
	}
	if len(encoded) > maxEncodedLen {
		return fail("%d bytes, longer than %d", len(encoded), maxEncodedLen)
	}
	rest, ok := strings.CutPrefix(encoded, prefix)
	if !ok {
		return fail("not an Argon2id version 19 PHC string")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return fail("want parameters, salt and hash after the version, got %d fields", len(fields))
	}
	ps := strings.Split(fields[0], ",")
	if len(ps) != 3 {
		return fail("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(ps[i], name)
		if !ok {
			return fail("parameter %d is not %s", i+1, name)
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil || strconv.FormatUint(v, 10) != digits {
			return fail("parameter %snot a canonical number", name)
		}
		vals[i] = v
	}
	if vals[2] > 255 {
		return fail("parallelism %d above 255", vals[2])
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(fields[1]); err != nil {
		return fail("salt is not unpadded base64")
	}
	if key, err = b64.DecodeString(fields[2]); err != nil {
		return fail("hash is not unpadded base64")
	}
	p = Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.check(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}
