package cursor

import (
	"encoding/base64"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/idgen"
)

// FuzzDecode feeds Decode arbitrary client strings, and Encode arbitrary
// positions. A cursor comes back from clients verbatim, so Decode must refuse
// everything but the exact strings Encode writes for valid positions, and must
// read those back as the position they name.
func FuzzDecode(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(Encode(1795328542000, 382777811795968), int64(0), int64(1))
	f.Add("", int64(-1), int64(1))
	f.Add(enc("1.9007199254740991"), int64(1<<62), int64(1<<53-1))
	f.Add(enc("1.9007199254740992"), int64(5), int64(1<<53))
	f.Add(enc("01.5"), int64(1), int64(0))
	f.Add(enc("1.5")+"==", int64(1), int64(-7))
	f.Add("MS41", int64(1), int64(5)) // "1.5" written by hand
	f.Fuzz(func(t *testing.T, c string, at, id int64) {
		gotAt, gotID, ok := Decode(c)
		if !ok {
			if gotAt != 0 || gotID != 0 {
				t.Fatalf("Decode(%q) refused it but returned %d, %d", c, gotAt, gotID)
			}
		} else {
			if gotAt < 0 || !idgen.Valid(gotID) {
				t.Fatalf("Decode(%q) = %d, %d: not a valid position", c, gotAt, gotID)
			}
			if len(c) > maxLen {
				t.Fatalf("Decode accepted a %d-byte cursor, over the %d-byte bound", len(c), maxLen)
			}
			// Only the canonical form passes, so one position has one cursor.
			if again := Encode(gotAt, gotID); again != c {
				t.Fatalf("Decode(%q) = %d, %d, which encodes as %q", c, gotAt, gotID, again)
			}
		}

		// Encode, then Decode: a valid position comes back exactly; any other
		// is refused, since no handler may act on it.
		e := Encode(at, id)
		if len(e) > maxLen {
			t.Fatalf("Encode(%d, %d) = %q is longer than Decode reads", at, id, e)
		}
		rAt, rID, rOK := Decode(e)
		valid := at >= 0 && idgen.Valid(id)
		switch {
		case valid && (!rOK || rAt != at || rID != id):
			t.Fatalf("Decode(Encode(%d, %d)) = %d, %d, %v", at, id, rAt, rID, rOK)
		case !valid && rOK:
			t.Fatalf("Decode(Encode(%d, %d)) accepted an invalid position", at, id)
		}
	})
}
