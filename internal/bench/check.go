package bench

import (
	"bytes"
	"encoding/json"
)

// StatusCode finds the member "status_code" of the top-level JSON object in body
// and returns its integer value; found is false when body is not an object, the
// member is missing, its value is not an integer, or the JSON is cut short. It
// scans once without decoding or allocating: nested objects and strings are
// skipped whole, so a "status_code" inside a video title or a nested object is
// never mistaken for the answer's. It does not validate the rest of the
// document, and the first top-level occurrence wins.
func StatusCode(body []byte) (code int64, found bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, false
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return 0, false // '}' (no more members) or malformed
		}
		end := stringEnd(body, i)
		if end < 0 {
			return 0, false
		}
		isStatus := keyIs(body[i:end], "status_code")
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return 0, false
		}
		i = skipSpace(body, i+1)
		if isStatus {
			return integer(body, i)
		}
		if i = skipValue(body, i); i < 0 {
			return 0, false
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return 0, false
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that opens at b[i] (a
// quote), or -1 when it is not closed.
func stringEnd(b []byte, i int) int {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		i += q + 1
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for j := i - 2; b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
	}
}

// keyIs reports whether the quoted JSON string raw equals want. Escapes are
// rare in keys, so only a key holding a backslash is decoded.
func keyIs(raw []byte, want string) bool {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == want
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}

// integer parses a JSON integer at b[i:] that must be followed by the end of the
// value (space, ',' or '}').
func integer(b []byte, i int) (int64, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i-start >= 18 {
			return 0, false // far outside int32; not a status code
		}
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return 0, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || (b[i] != ',' && b[i] != '}') {
		return 0, false // a fraction, an exponent, or cut short
	}
	if neg {
		v = -v
	}
	return v, true
}

// skipValue returns the index just past the JSON value at b[i], or -1 when it
// is cut short. Containers are skipped by counting brackets outside strings.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		// Only brackets outside strings matter; strings are skipped whole.
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				i-- // the loop steps past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return i
			}
			i++
		}
		return -1
	}
}
