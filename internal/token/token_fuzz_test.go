package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify hands Verify tokens an attacker could send: raw strings, tokens
// built from arbitrary header and claims JSON and signed with the current key,
// the previous key, an unknown key or no key at all, and real tokens with one
// byte changed. Verify must never panic, must refuse with the one
// Unauthenticated error, and may accept a token only if an independent reading
// of it (below, not the jwt library) finds every rule of the package comment
// met. Tokens with arbitrary claims signed by the real key stand for claims
// the server itself might one day write wrongly: the checks must hold even then.
func FuzzVerify(f *testing.F) {
	keyA, keyB := KeyFromSecret(secretA), KeyFromSecret(secretB)
	m := newManager(f, AudienceApp, keyA, []Key{keyB}, time.Hour, now)
	issued := mustIssue(f, m, 42)
	keys := map[string][]byte{keyA.ID: secretA, keyB.ID: secretB}

	f.Fuzz(func(t *testing.T, mode uint8, header, claims, raw string, pos uint16, flip byte) {
		var tok string
		input := b64([]byte(header)) + "." + b64([]byte(claims))
		switch mode % 6 {
		case 0:
			tok = raw
		case 1: // the current key
			tok = input + "." + hmacSigner(secretA, sha256.New)(t, input)
		case 2: // the previous key
			tok = input + "." + hmacSigner(secretB, sha256.New)(t, input)
		case 3: // a key the server does not have
			tok = input + "." + hmacSigner(secretC, sha256.New)(t, input)
		case 4: // no signature, as alg none sends it
			tok = input + "."
		case 5: // a real token with one byte changed (flip 0 leaves it intact)
			b := []byte(issued)
			b[int(pos)%len(b)] ^= flip
			tok = string(b)
		}

		id, err := m.Verify(tok)
		if err != nil {
			assertUnauthenticated(t, id, err)
			// A token that clearly meets every rule must pass, or logged-in
			// users would be turned away.
			if refusal(tok, keys, time.Hour, -slack) == "" {
				t.Fatalf("Verify(%q) refused a token that meets every rule: %v", tok, err)
			}
			return
		}
		if why := refusal(tok, keys, time.Hour, slack); why != "" {
			t.Fatalf("Verify(%q) accepted user %d, but %s", tok, id, why)
		}
		if sub := subject(tok); sub != id {
			t.Fatalf("Verify(%q) = %d, but its subject is %d", tok, id, sub)
		}
	})
}

// slack is how far from a time boundary refusal judges: the jwt library rounds
// fractional times, and near a boundary either answer is right. refusal widens
// the rules by it to list what must be refused, and narrows them by it (and
// keeps times within a sane range) to tell what must be accepted.
const slack = 2 * time.Second

// refusal reads tok without the jwt library and returns why it must be refused,
// or "" when it meets every rule: three segments of strict unpadded base64url;
// a JSON header naming HS256 and a known kid whose secret signs the first two
// segments; claims with issuer Issuer, audience AudienceApp, a subject that is a
// canonical id below 2^53, an expiry not past, an issue time neither in the
// future nor longer than ttl ago, and no not-before in the future (each with
// Leeway, widened by margin).
func refusal(tok string, keys map[string][]byte, ttl, margin time.Duration) string {
	if tok == "" || len(tok) > MaxTokenLen {
		return "its length is out of bounds"
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "it does not have three segments"
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err1 := dec.DecodeString(parts[0])
	cb, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "a segment is not strict base64url"
	}
	var h map[string]any
	if json.Unmarshal(hb, &h) != nil || h == nil {
		return "its header is not a JSON object"
	}
	if h["alg"] != "HS256" {
		return "its alg is not HS256"
	}
	kid, _ := h["kid"].(string)
	secret, ok := keys[kid]
	if !ok {
		return "its kid names no key"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return "its signature is not the HMAC of its kid's secret"
	}

	// The registered claims, matched by name as encoding/json matches struct
	// fields; each value is then judged here.
	var c struct {
		Iss json.RawMessage `json:"iss"`
		Sub json.RawMessage `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.RawMessage `json:"exp"`
		Nbf json.RawMessage `json:"nbf"`
		Iat json.RawMessage `json:"iat"`
		Jti json.RawMessage `json:"jti"`
	}
	if json.Unmarshal(cb, &c) != nil {
		return "its claims are not a JSON object"
	}
	var iss string
	if json.Unmarshal(c.Iss, &iss) != nil || iss != Issuer {
		return "its issuer is not " + Issuer
	}
	var sub string
	if json.Unmarshal(c.Sub, &sub) != nil {
		return "its subject is not a string"
	}
	if n, err := strconv.ParseInt(sub, 10, 64); err != nil || n <= 0 || n >= maxUserID || strconv.FormatInt(n, 10) != sub {
		return "its subject is not a canonical id"
	}
	var aud any
	if json.Unmarshal(c.Aud, &aud) != nil {
		return "its audience is not JSON"
	}
	switch a := aud.(type) {
	case string:
		if a != AudienceApp {
			return "its audience is not " + AudienceApp
		}
	case []any:
		var list []string
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return "its audience list holds a non-string"
			}
			list = append(list, s)
		}
		if !slices.Contains(list, AudienceApp) {
			return "its audience list lacks " + AudienceApp
		}
	default:
		return "its audience is neither a string nor a list"
	}
	seconds := func(raw json.RawMessage) (float64, bool) {
		var n json.Number
		if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
			return 0, false
		}
		f, err := n.Float64()
		if margin < 0 && (f <= 0 || f >= 1e11) {
			// Far-off times overflow the library's conversion; what it does
			// with them is only bound by the lenient rules.
			return 0, false
		}
		return f, err == nil && !math.IsInf(f, 0)
	}
	at := func(d time.Duration) float64 { return float64(now.Add(d).Unix()) }
	exp, ok := seconds(c.Exp)
	if !ok {
		return "it has no numeric expiry"
	}
	if exp < at(-Leeway-margin) {
		return "it has expired"
	}
	iat, ok := seconds(c.Iat)
	if !ok {
		return "it has no numeric issue time"
	}
	if iat > at(Leeway+margin) {
		return "it was issued in the future"
	}
	if iat < at(-ttl-Leeway-margin) {
		return "it was issued longer than the TTL ago"
	}
	if len(c.Nbf) > 0 && !bytes.Equal(c.Nbf, []byte("null")) {
		nbf, ok := seconds(c.Nbf)
		if !ok || nbf > at(Leeway+margin) {
			return "its not-before is not numeric or is in the future"
		}
	}
	if len(c.Jti) > 0 {
		var jti *string
		if json.Unmarshal(c.Jti, &jti) != nil {
			return "its jti is not a string"
		}
	}
	return ""
}

// subject returns the user id a token that passed refusal names.
func subject(tok string) int64 {
	cb, _ := base64.RawURLEncoding.Strict().DecodeString(strings.Split(tok, ".")[1])
	var c struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(cb, &c)
	n, _ := strconv.ParseInt(c.Sub, 10, 64)
	return n
}
