package cursor

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

func TestRoundTrip(t *testing.T) {
	for _, p := range [][2]int64{{0, 1}, {1795328542000, 382777811795968}, {1, 1<<53 - 1}} {
		at, id, ok := Decode(Encode(p[0], p[1]))
		if !ok || at != p[0] || id != p[1] {
			t.Errorf("round trip of %v gave %d, %d, %v", p, at, id, ok)
		}
	}
}

func TestRefusesAnythingElse(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{
		"", "!!!", strings.Repeat("A", 65), enc("12"), enc("-1.5"), enc("1.0"), enc("1.-5"),
		enc("1.9007199254740992"), enc("01.5"), enc("1.05"), enc("+1.5"), enc("1.5.6"), enc("a.5"),
		base64.URLEncoding.EncodeToString([]byte("1.5")) + "==", // padded: not the form Encode writes
	} {
		if at, id, ok := Decode(c); ok {
			t.Errorf("Decode(%q) = %d, %d, true", c, at, id)
		}
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		page *base.Page
		want int
		bad  bool
	}{
		{nil, 30, false},
		{&base.Page{}, 30, false},
		{&base.Page{Count: 1}, 1, false},
		{&base.Page{Count: 100}, 100, false},
		{&base.Page{Count: 101}, 100, false},
		{&base.Page{Count: -1}, 0, true},
	} {
		got, err := Size(c.page, 30, 100)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("Size(%v) = %d, %v; want %d, error %v", c.page, got, err, c.want, c.bad)
		}
	}
}
