// Package token issues and verifies the signed tokens that identify a logged-in user.
//
// A token is a JWT signed with HMAC-SHA256 and nothing else: the verifier pins the
// algorithm, so a token that names another one (`none`, HS512, RS256 with the HMAC
// secret passed off as a public key) is refused before any signature check. The
// claims are the issuer "mdouyin", the user id as the subject, an audience that keeps
// app tokens and admin-console tokens apart, and the issue and expiry times.
//
// The header's `kid` names the key that signed the token. A Manager signs with its
// current key and also accepts a list of previous ones, so rotating the secret is two
// deploys: add the new secret as current with the old one as previous, then drop the
// old one once every token it signed has expired. Nobody is logged out in between.
//
// Every verification failure returns the same errs.Error with code Unauthenticated
// and a message fit for the user: the client learns nothing about why, and the
// library's internal text never reaches it.
package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

const (
	// Issuer is the `iss` claim of every token.
	Issuer = "mdouyin"

	// AudienceApp and AudienceAdmin are the audiences of the app's user tokens and
	// of the operations console's tokens. Each has its own Manager and secret; the
	// audience claim makes sure a token from one is refused by the other even if
	// the two secrets were configured the same by mistake.
	AudienceApp   = "app"
	AudienceAdmin = "admin"

	// MinSecretLen is the shortest secret NewManager accepts: HS256 is only as strong
	// as its key, and 32 random bytes match the hash's 256 bits.
	MinSecretLen = 32

	// MaxTokenLen bounds the token Verify will look at. Real tokens are about 250
	// bytes; anything far longer is refused before it is decoded, so garbage cannot
	// make the server spend time or memory on JSON parsing.
	MaxTokenLen = 4096

	// Leeway is the clock difference between servers that Verify tolerates on the
	// issue and expiry times.
	Leeway = 30 * time.Second

	// maxUserID is 2^53: user ids are ids from idgen, which stay below it.
	maxUserID = 1 << 53

	// unauthenticatedMsg is what the user reads for every rejected token.
	unauthenticatedMsg = "invalid or expired token; please log in again"
)

// Key is a signing secret and the id that names it in a token's `kid` header.
type Key struct {
	ID     string
	Secret []byte
}

// KeyFromSecret returns the Key for secret, deriving its ID from the secret itself
// (a domain-separated SHA-256, first 8 bytes in hex). Operators then handle only
// secrets, and every server holding the same secret agrees on its ID without being
// told.
func KeyFromSecret(secret []byte) Key {
	h := sha256.New()
	h.Write([]byte("mdouyin token key id\x00"))
	h.Write(secret)
	return Key{ID: hex.EncodeToString(h.Sum(nil)[:8]), Secret: bytes.Clone(secret)}
}

// Manager issues tokens for one audience and verifies them. It is safe for
// concurrent use.
type Manager struct {
	audience string
	current  Key
	keys     map[string][]byte // current and previous secrets by key id
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	// verified remembers tokens that passed every check, so a client sending
	// the same token on every request costs a map lookup instead of a parse and
	// an HMAC (an eighth of the gateway's CPU on a logged-in read before it).
	verified *hotkey.Cache[verifiedToken]
}

// verifiedToken is what Verify learnt of a token that passed.
type verifiedToken struct {
	id       int64
	iat, exp time.Time
}

// Bounds of Manager.verified: entries are kept for verifiedTTL at most (a hit
// checks the token's times again, so this bounds only memory), and the oldest
// go first past verifiedMax (about 3 MB of tokens).
const (
	verifiedMax = 10_000
	verifiedTTL = time.Minute
)

type options struct {
	now func() time.Time
}

// Option configures a Manager.
type Option func(*options)

// WithClock makes the Manager read the time from now instead of time.Now, so tests
// can issue tokens in the past and verify them in the future.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// NewManager returns a Manager that issues tokens for audience, signed with current
// and valid for ttl, and that also accepts tokens signed with any of the previous
// keys. Every secret must be at least MinSecretLen bytes, and two keys may share an
// ID only if they are the same secret.
func NewManager(audience string, current Key, previous []Key, ttl time.Duration, opts ...Option) (*Manager, error) {
	if audience == "" {
		return nil, errors.New("token: empty audience")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("token: ttl %v must be positive", ttl)
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("token: nil clock")
	}

	keys := make(map[string][]byte, 1+len(previous))
	for i, k := range append([]Key{current}, previous...) {
		which := "current key"
		if i > 0 {
			which = fmt.Sprintf("previous key %d", i-1)
		}
		if k.ID == "" {
			return nil, fmt.Errorf("token: %s has no ID", which)
		}
		if len(k.Secret) < MinSecretLen {
			return nil, fmt.Errorf("token: %s %q: secret of %d bytes, want at least %d",
				which, k.ID, len(k.Secret), MinSecretLen)
		}
		if s, ok := keys[k.ID]; ok && !bytes.Equal(s, k.Secret) {
			return nil, fmt.Errorf("token: %s: ID %q names two different secrets", which, k.ID)
		}
		keys[k.ID] = bytes.Clone(k.Secret)
	}

	return &Manager{
		audience: audience,
		current:  Key{ID: current.ID, Secret: keys[current.ID]},
		keys:     keys,
		ttl:      ttl,
		now:      o.now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(Issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(o.now),
			jwt.WithStrictDecoding(),
		),
		verified: hotkey.NewCache[verifiedToken](verifiedMax, verifiedTTL, o.now),
	}, nil
}

// TTL returns how long the tokens this Manager issues stay valid, so the login
// response can tell the client.
func (m *Manager) TTL() time.Duration { return m.ttl }

// Issue returns a token for userID, signed with the current key. userID must be a
// valid id (positive and below 2^53); anything else is a bug in the caller.
func (m *Manager) Issue(userID int64) (string, error) {
	if userID <= 0 || userID >= maxUserID {
		return "", fmt.Errorf("token: user id %d out of range", userID)
	}
	now := m.now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   strconv.FormatInt(userID, 10),
		Audience:  jwt.ClaimStrings{m.audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(m.ttl)),
	})
	t.Header["kid"] = m.current.ID
	s, err := t.SignedString(m.current.Secret)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}

// Verify returns the user id of a token this Manager, or one sharing its keys and
// audience, issued and that is still valid.
//
// A token is valid when it is at most MaxTokenLen bytes, is signed with HS256 by a
// key the Manager knows (named by `kid`), has issuer Issuer and the Manager's
// audience, has not expired, was issued no later than now and no earlier than the
// Manager's current TTL ago (both with Leeway), and names a canonical decimal user id
// in (0, 2^53). The TTL check means shortening the TTL in configuration takes effect
// for tokens already out, not only for new ones.
//
// Every failure returns an errs.Error with code Unauthenticated.
func (m *Manager) Verify(token string) (int64, error) {
	if token == "" || len(token) > MaxTokenLen {
		return 0, unauthenticated()
	}
	now := m.now()
	// A token that passed before passes again until it expires: the checks of
	// its signature, issuer, audience and subject do not depend on the time,
	// and of those that do, only the two below can turn false as time passes.
	if v, ok := m.verified.Get(token); ok {
		if !now.Before(v.exp.Add(Leeway)) || now.Sub(v.iat) > m.ttl+Leeway {
			return 0, unauthenticated()
		}
		return v.id, nil
	}
	var claims jwt.RegisteredClaims
	if _, err := m.parser.ParseWithClaims(token, &claims, m.key); err != nil {
		return 0, unauthenticated()
	}
	if claims.IssuedAt == nil || now.Sub(claims.IssuedAt.Time) > m.ttl+Leeway {
		return 0, unauthenticated()
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 || id >= maxUserID || strconv.FormatInt(id, 10) != claims.Subject {
		return 0, unauthenticated()
	}
	m.verified.Set("", token, verifiedToken{id: id, iat: claims.IssuedAt.Time, exp: claims.ExpiresAt.Time})
	return id, nil
}

// key is the jwt.Keyfunc: it returns the secret the token's `kid` names. It checks
// the algorithm again although the parser already pinned it, because handing an
// HMAC secret to any other algorithm is the classic JWT forgery.
func (m *Manager) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, errors.New("unexpected signing method")
	}
	kid, _ := t.Header["kid"].(string)
	secret, ok := m.keys[kid]
	if !ok {
		return nil, errors.New("unknown key id")
	}
	return secret, nil
}

// unauthenticated returns the one error every rejected token gets. It is built per
// call rather than shared so that no caller can alter what others return.
func unauthenticated() *errs.Error {
	return errs.New(base.ErrCode_Unauthenticated, unauthenticatedMsg)
}
