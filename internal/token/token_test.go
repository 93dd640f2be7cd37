package token

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// clock is a settable time source, safe for concurrent use.
type clock struct{ nanos atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.nanos.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.nanos.Load()) }

var (
	now     = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	secretA = []byte("0123456789abcdef0123456789abcdef")
	secretB = []byte("fedcba9876543210fedcba9876543210")
	secretC = []byte("a completely unrelated 32+ byte secret")
)

func newManager(t testing.TB, audience string, current Key, previous []Key, ttl time.Duration, at time.Time) *Manager {
	t.Helper()
	m, err := NewManager(audience, current, previous, ttl, WithClock(newClock(at).Now))
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

func mustIssue(t testing.TB, m *Manager, id int64) string {
	t.Helper()
	s, err := m.Issue(id)
	if err != nil {
		t.Fatalf("Issue(%d): %v", id, err)
	}
	return s
}

// signer produces the signature segment for a JWT's signing input.
type signer func(t testing.TB, input string) string

func hmacSigner(secret []byte, h func() hash.Hash) signer {
	return func(_ testing.TB, input string) string {
		mac := hmac.New(h, secret)
		mac.Write([]byte(input))
		return b64(mac.Sum(nil))
	}
}

func rsaSigner(key *rsa.PrivateKey) signer {
	return func(t testing.TB, input string) string {
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return b64(sig)
	}
}

func noSignature(testing.TB, string) string { return "" }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge builds a JWT by hand, so tests can produce tokens the Manager would never
// issue.
func forge(t testing.TB, header, claims map[string]any, sign signer) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(c)
	return input + "." + sign(t, input)
}

// goodClaims are the claims Issue would write for user 42 at now with a one-hour
// TTL; cases change one thing at a time.
func goodClaims(changes map[string]any) map[string]any {
	c := map[string]any{
		"iss": Issuer,
		"sub": "42",
		"aud": []string{AudienceApp},
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func header(alg, kid string) map[string]any {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return h
}

func TestVerify(t *testing.T) {
	keyA, keyB, keyC := KeyFromSecret(secretA), KeyFromSecret(secretB), KeyFromSecret(secretC)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs256A := hmacSigner(secretA, sha256.New)

	// The manager under test: current key A, previous key B, one-hour TTL, at now.
	m := newManager(t, AudienceApp, keyA, []Key{keyB}, time.Hour, now)
	issuedAt := func(at time.Time, ttl time.Duration) *Manager {
		return newManager(t, AudienceApp, keyA, nil, ttl, at)
	}

	tests := []struct {
		name   string
		token  func(t testing.TB) string
		wantID int64 // 0: must be rejected
	}{
		{"valid", func(t testing.TB) string { return mustIssue(t, m, 42) }, 42},
		{"largest id", func(t testing.TB) string { return mustIssue(t, m, 1<<53-1) }, 1<<53 - 1},
		{"signed with the previous key", func(t testing.TB) string {
			return mustIssue(t, newManager(t, AudienceApp, keyB, nil, time.Hour, now), 7)
		}, 7},
		{"hand-built like Issue", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(nil), hs256A)
		}, 42},

		{"expired", func(t testing.TB) string { return mustIssue(t, issuedAt(now.Add(-2*time.Hour), time.Hour), 42) }, 0},
		{"expired within leeway", func(t testing.TB) string {
			return mustIssue(t, issuedAt(now.Add(-time.Hour-Leeway/2), time.Hour), 42)
		}, 42},
		{"expired just beyond leeway", func(t testing.TB) string {
			return mustIssue(t, issuedAt(now.Add(-time.Hour-Leeway-time.Second), time.Hour), 42)
		}, 0},
		{"issued in the future beyond leeway", func(t testing.TB) string {
			return mustIssue(t, issuedAt(now.Add(time.Minute), time.Hour), 42)
		}, 0},
		{"issued in the future within leeway", func(t testing.TB) string {
			return mustIssue(t, issuedAt(now.Add(Leeway/2), time.Hour), 42)
		}, 42},
		{"issued longer ago than the current TTL", func(t testing.TB) string {
			return mustIssue(t, issuedAt(now.Add(-2*time.Hour), 24*time.Hour), 42)
		}, 0},
		{"not yet valid (nbf)", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"nbf": now.Add(time.Hour).Unix()}), hs256A)
		}, 0},
		{"no exp", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"exp": nil}), hs256A)
		}, 0},
		{"no iat", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"iat": nil}), hs256A)
		}, 0},

		{"wrong key under a known kid", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(nil), hmacSigner(secretC, sha256.New))
		}, 0},
		{"unknown kid", func(t testing.TB) string {
			return mustIssue(t, newManager(t, AudienceApp, keyC, nil, time.Hour, now), 42)
		}, 0},
		{"no kid", func(t testing.TB) string { return forge(t, header("HS256", ""), goodClaims(nil), hs256A) }, 0},
		{"kid not a string", func(t testing.TB) string {
			h := header("HS256", "")
			h["kid"] = 1
			return forge(t, h, goodClaims(nil), hs256A)
		}, 0},

		{"alg none", func(t testing.TB) string { return forge(t, header("none", keyA.ID), goodClaims(nil), noSignature) }, 0},
		{"alg None", func(t testing.TB) string { return forge(t, header("None", keyA.ID), goodClaims(nil), noSignature) }, 0},
		{"HS512 with the right secret", func(t testing.TB) string {
			return forge(t, header("HS512", keyA.ID), goodClaims(nil), hmacSigner(secretA, sha512.New))
		}, 0},
		{"RS256 signed with an RSA key", func(t testing.TB) string {
			return forge(t, header("RS256", keyA.ID), goodClaims(nil), rsaSigner(rsaKey))
		}, 0},
		{"RS256 header over an HMAC signature", func(t testing.TB) string {
			return forge(t, header("RS256", keyA.ID), goodClaims(nil), hs256A)
		}, 0},

		{"tampered subject", func(t testing.TB) string {
			parts := strings.Split(mustIssue(t, m, 42), ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			forged := bytes.Replace(payload, []byte(`"sub":"42"`), []byte(`"sub":"43"`), 1)
			if bytes.Equal(forged, payload) {
				t.Fatalf("payload %s has no sub to tamper with", payload)
			}
			parts[1] = b64(forged)
			return strings.Join(parts, ".")
		}, 0},
		{"signature stripped", func(t testing.TB) string {
			s := mustIssue(t, m, 42)
			return s[:strings.LastIndexByte(s, '.')+1]
		}, 0},

		{"wrong issuer", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"iss": "someone-else"}), hs256A)
		}, 0},
		{"no issuer", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"iss": nil}), hs256A)
		}, 0},
		{"admin token at the app", func(t testing.TB) string {
			return mustIssue(t, newManager(t, AudienceAdmin, keyA, nil, time.Hour, now), 42)
		}, 0},
		{"no audience", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"aud": nil}), hs256A)
		}, 0},

		{"sub missing", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": nil}), hs256A)
		}, 0},
		{"sub non-numeric", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "alice"}), hs256A)
		}, 0},
		{"sub zero", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "0"}), hs256A)
		}, 0},
		{"sub negative", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "-42"}), hs256A)
		}, 0},
		{"sub 2^53", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "9007199254740992"}), hs256A)
		}, 0},
		{"sub beyond int64", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "99999999999999999999"}), hs256A)
		}, 0},
		{"sub with plus sign", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "+42"}), hs256A)
		}, 0},
		{"sub with leading zero", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID), goodClaims(map[string]any{"sub": "042"}), hs256A)
		}, 0},

		{"empty", func(testing.TB) string { return "" }, 0},
		{"garbage", func(testing.TB) string { return "not a token" }, 0},
		{"empty segments", func(testing.TB) string { return ".." }, 0},
		{"bearer prefix", func(t testing.TB) string { return "Bearer " + mustIssue(t, m, 42) }, 0},
		{"four segments", func(t testing.TB) string { return mustIssue(t, m, 42) + ".x" }, 0},
		{"1 MB", func(testing.TB) string { return strings.Repeat("a", 1<<20) + ".b.c" }, 0},
		{"valid but longer than MaxTokenLen", func(t testing.TB) string {
			s := forge(t, header("HS256", keyA.ID),
				goodClaims(map[string]any{"pad": strings.Repeat("x", MaxTokenLen)}), hs256A)
			if len(s) <= MaxTokenLen {
				t.Fatalf("token of %d bytes is not over the limit", len(s))
			}
			return s
		}, 0},
		{"valid with padding below MaxTokenLen", func(t testing.TB) string {
			return forge(t, header("HS256", keyA.ID),
				goodClaims(map[string]any{"pad": strings.Repeat("x", MaxTokenLen/2)}), hs256A)
		}, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := m.Verify(tt.token(t))
			if tt.wantID != 0 {
				if err != nil || id != tt.wantID {
					t.Fatalf("Verify = %d, %v; want %d, nil", id, err, tt.wantID)
				}
				return
			}
			assertUnauthenticated(t, id, err)
		})
	}
}

func assertUnauthenticated(t *testing.T, id int64, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify = %d, nil; want a rejection", id)
	}
	if id != 0 {
		t.Errorf("rejected token still yielded id %d", id)
	}
	e, ok := errs.From(err)
	if !ok || e.Code != base.ErrCode_Unauthenticated || e.Msg != unauthenticatedMsg {
		t.Errorf("err = %v; want code Unauthenticated with message %q", err, unauthenticatedMsg)
	}
	if !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("errors.Is(err, errs.ErrUnauthenticated) = false for %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	keyOld, keyNew := KeyFromSecret(secretA), KeyFromSecret(secretB)
	before := newManager(t, AudienceApp, keyOld, nil, time.Hour, now)
	during := newManager(t, AudienceApp, keyNew, []Key{keyOld}, time.Hour, now)
	after := newManager(t, AudienceApp, keyNew, nil, time.Hour, now)

	oldToken := mustIssue(t, before, 1)
	newToken := mustIssue(t, during, 2)

	tests := []struct {
		name   string
		m      *Manager
		token  string
		wantID int64
	}{
		{"old token, before", before, oldToken, 1},
		{"old token, during", during, oldToken, 1},
		{"new token, during", during, newToken, 2},
		{"new token, after", after, newToken, 2},
		{"old token, after", after, oldToken, 0},
		{"new token, before (rolled back)", before, newToken, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.m.Verify(tt.token)
			if tt.wantID == 0 {
				assertUnauthenticated(t, id, err)
			} else if err != nil || id != tt.wantID {
				t.Fatalf("Verify = %d, %v; want %d", id, err, tt.wantID)
			}
		})
	}
}

func TestKeyFromSecret(t *testing.T) {
	secret := bytes.Clone(secretA)
	k := KeyFromSecret(secret)
	if again := KeyFromSecret(secretA); again.ID != k.ID {
		t.Errorf("ID not deterministic: %q then %q", k.ID, again.ID)
	}
	if other := KeyFromSecret(secretB); other.ID == k.ID {
		t.Errorf("different secrets share ID %q", k.ID)
	}
	if len(k.ID) != 16 {
		t.Errorf("ID %q: %d characters, want 16", k.ID, len(k.ID))
	}
	secret[0] ^= 0xff
	if !bytes.Equal(k.Secret, secretA) {
		t.Error("Key shares its secret with the caller's slice")
	}
}

func TestNewManagerValidates(t *testing.T) {
	good, other := KeyFromSecret(secretA), KeyFromSecret(secretB)
	short := KeyFromSecret(secretA[:MinSecretLen-1])
	tests := []struct {
		name     string
		audience string
		current  Key
		previous []Key
		ttl      time.Duration
		opts     []Option
		wantErr  bool
	}{
		{"ok", AudienceApp, good, []Key{other}, time.Hour, nil, false},
		{"same key twice", AudienceApp, good, []Key{good}, time.Hour, nil, false},
		{"empty audience", "", good, nil, time.Hour, nil, true},
		{"zero ttl", AudienceApp, good, nil, 0, nil, true},
		{"negative ttl", AudienceApp, good, nil, -time.Hour, nil, true},
		{"short current secret", AudienceApp, short, nil, time.Hour, nil, true},
		{"short previous secret", AudienceApp, good, []Key{short}, time.Hour, nil, true},
		{"current without ID", AudienceApp, Key{Secret: secretA}, nil, time.Hour, nil, true},
		{"one ID, two secrets", AudienceApp, good, []Key{{ID: good.ID, Secret: secretB}}, time.Hour, nil, true},
		{"nil clock", AudienceApp, good, nil, time.Hour, []Option{WithClock(nil)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewManager(tt.audience, tt.current, tt.previous, tt.ttl, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewManager error = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && m.TTL() != tt.ttl {
				t.Errorf("TTL() = %v, want %v", m.TTL(), tt.ttl)
			}
		})
	}
}

func TestNewManagerCopiesSecrets(t *testing.T) {
	secret := bytes.Clone(secretA)
	m := newManager(t, AudienceApp, Key{ID: "k1", Secret: secret}, nil, time.Hour, now)
	tok := mustIssue(t, m, 42)
	secret[0] ^= 0xff // the caller reuses its buffer
	if id, err := m.Verify(tok); err != nil || id != 42 {
		t.Fatalf("Verify after the caller changed its slice = %d, %v", id, err)
	}
}

func TestIssueRejectsInvalidUserIDs(t *testing.T) {
	m := newManager(t, AudienceApp, KeyFromSecret(secretA), nil, time.Hour, now)
	for _, id := range []int64{-1, 0, 1 << 53, 1 << 62} {
		if s, err := m.Issue(id); err == nil {
			t.Errorf("Issue(%d) = %q, want an error", id, s)
		}
	}
}

func TestIssueWritesTheDocumentedClaims(t *testing.T) {
	key := KeyFromSecret(secretA)
	m := newManager(t, AudienceAdmin, key, nil, 90*time.Minute, now)
	parts := strings.Split(mustIssue(t, m, 12345), ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	var h struct{ Alg, Kid string }
	var c struct {
		Iss, Sub string
		Aud      []string
		Iat, Exp int64
	}
	for i, v := range []any{&h, &c} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	if h.Alg != "HS256" || h.Kid != key.ID {
		t.Errorf("header = %+v, want HS256 with kid %q", h, key.ID)
	}
	if c.Iss != Issuer || c.Sub != "12345" || len(c.Aud) != 1 || c.Aud[0] != AudienceAdmin ||
		c.Iat != now.Unix() || c.Exp != now.Add(90*time.Minute).Unix() {
		t.Errorf("claims = %+v", c)
	}
}

func BenchmarkIssue(b *testing.B) {
	m := newManager(b, AudienceApp, KeyFromSecret(secretA), nil, time.Hour, now)
	for b.Loop() {
		if _, err := m.Issue(1234567890); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	m := newManager(b, AudienceApp, KeyFromSecret(secretA), []Key{KeyFromSecret(secretB)}, time.Hour, now)
	tok := mustIssue(b, m, 1234567890)
	for b.Loop() {
		if _, err := m.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyRemembersOnlyWhatStillHolds: a token verified once is answered from
// the Manager's memory afterwards, but that memory never outlives the token: as
// the clock moves past its expiry (with Leeway) it is refused like any expired
// token, and a token differing from a remembered one in a single byte is checked
// in full and refused.
func TestVerifyRemembersOnlyWhatStillHolds(t *testing.T) {
	c := newClock(now)
	m, err := NewManager(AudienceApp, KeyFromSecret(secretA), nil, time.Hour, WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	tok := mustIssue(t, m, 42)
	for i := range 3 {
		if id, err := m.Verify(tok); err != nil || id != 42 {
			t.Fatalf("verify #%d: id %d, err %v; want 42", i+1, id, err)
		}
	}
	if m.verified.Len() != 1 {
		t.Fatalf("%d tokens remembered, want 1", m.verified.Len())
	}
	last := tok[len(tok)-1] ^ 1
	if _, err := m.Verify(tok[:len(tok)-1] + string(last)); errs.CodeOf(err) != base.ErrCode_Unauthenticated {
		t.Fatalf("a token with its signature's last byte changed: %v, want Unauthenticated", err)
	}

	c.nanos.Store(now.Add(time.Hour + Leeway/2).UnixNano())
	if id, err := m.Verify(tok); err != nil || id != 42 {
		t.Fatalf("within the leeway after expiry: id %d, err %v; want 42", id, err)
	}
	c.nanos.Store(now.Add(time.Hour + Leeway).UnixNano())
	if _, err := m.Verify(tok); errs.CodeOf(err) != base.ErrCode_Unauthenticated {
		t.Fatalf("at expiry plus the leeway: %v, want Unauthenticated", err)
	}
	// A Manager that never saw the token agrees at each of those times.
	fresh := func(at time.Time) error {
		_, err := newManager(t, AudienceApp, KeyFromSecret(secretA), nil, time.Hour, at).Verify(tok)
		return err
	}
	if fresh(now.Add(time.Hour+Leeway/2)) != nil || fresh(now.Add(time.Hour+Leeway)) == nil {
		t.Fatal("a Manager parsing the token afresh disagrees with the remembered answers")
	}
}
