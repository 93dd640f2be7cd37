package text

import "testing"

func TestBlank(t *testing.T) {
	for _, c := range []struct {
		s     string
		blank bool
	}{
		{"", true},
		{" \t\r\n\u3000\u00a0", true},
		{"\u200b\u200c\u200d\u2060\ufeff", true},
		{"\u202e\u200e\u200f", true},       // bidi controls
		{"\ufe0f\ufe0e\U000E0100", true},   // variation selectors
		{"\u3164\u115f\u1160\uffa0", true}, // Hangul fillers
		{"\u2800 \u2800", true},            // Braille blank
		{"\x00\x07\x7f", true},             // controls
		{"a", false},
		{"\u200b好\u200b", false},
		{"😀", false},
		{"\u2801", false}, // a Braille dot is drawn
		{"\u0301", false}, // a combining mark alone is drawn on a dotted circle
	} {
		if got := Blank(c.s); got != c.blank {
			t.Errorf("Blank(%+q) = %v, want %v", c.s, got, c.blank)
		}
	}
}
