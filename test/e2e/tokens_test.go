package e2e

// Tokens a client could present to the server: every kind of forgery the
// authorization matrix (authz_test.go) tries. Forgeries that need the server's own
// key (expired tokens, admin-audience tokens, tokens naming an account that does
// not exist) are made with its secret: the in-process server's, or
// MDOUYIN_JWT_SECRET for a server given by MDOUYIN_E2E_URL.

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/token"
)

// forger mints tokens the way an attacker, or someone holding the server's
// secret, would.
type forger struct {
	server token.Key // the key the server signs with
}

func newForger(t *testing.T) forger {
	t.Helper()
	if jwtSecret == "" {
		t.Fatal("MDOUYIN_JWT_SECRET must name the server's secret: the authorization matrix forges tokens with it")
	}
	return forger{server: token.KeyFromSecret([]byte(jwtSecret))}
}

// sign issues a token for sub with key and audience, issued issuedAgo ago and
// valid for ttl from then.
func (f forger) sign(t *testing.T, audience string, key token.Key, sub int64, issuedAgo, ttl time.Duration) string {
	t.Helper()
	m, err := token.NewManager(audience, key, nil, ttl, token.WithClock(func() time.Time { return time.Now().Add(-issuedAgo) }))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Issue(sub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// valid is a token the server itself could have issued.
func (f forger) valid(t *testing.T, audience string, sub int64) string {
	return f.sign(t, audience, f.server, sub, 0, time.Hour)
}

// expired is signed with the server's key but expired an hour ago (far beyond
// the verifier's clock leeway), well within the server's token lifetime.
func (f forger) expired(t *testing.T, audience string, sub int64) string {
	return f.sign(t, audience, f.server, sub, 2*time.Hour, time.Hour)
}

// wrongKey is signed with another secret while naming the server's key id in
// its header, so that nothing but the signature gives it away.
func (f forger) wrongKey(t *testing.T, audience string, sub int64) string {
	other := token.Key{ID: f.server.ID, Secret: []byte(strings.Repeat("not-the-server-secret/", 2))}
	return f.sign(t, audience, other, sub, 0, time.Hour)
}

// unsigned is the `alg: none` forgery: claims that are right in every other
// respect, the server's key id, and no signature.
func (f forger) unsigned(t *testing.T, audience string, sub int64) string {
	now := time.Now()
	header := map[string]any{"alg": "none", "typ": "JWT", "kid": f.server.ID}
	claims := map[string]any{"iss": token.Issuer, "aud": []string{audience}, "sub": strconv.FormatInt(sub, 10),
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	return jwtPart(t, header) + "." + jwtPart(t, claims) + "."
}

// retargeted is tok with its claims edited by edit and its header and signature
// kept: the tampered-payload forgery (another user's id in a token of one's own,
// an app token relabelled for the admin console).
func retargeted(t *testing.T, tok string, edit func(claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %.20q… is not a JWT", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("token payload: %v", err)
	}
	edit(claims)
	return parts[0] + "." + jwtPart(t, claims) + "." + parts[2]
}

// jwtPart is the base64url JSON of one part of a JWT.
func jwtPart(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
