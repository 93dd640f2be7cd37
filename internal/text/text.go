// Package text holds the rules the roles share for what users type: titles,
// comments and messages.
package text

import (
	"strings"
	"unicode"
)

// Blank reports whether s would show as nothing: it holds only white space,
// control and formatting characters (U+200B ZERO WIDTH SPACE, U+FEFF, bidi
// marks), variation selectors, or the characters that fonts draw as empty
// (Hangul fillers, U+2800 BRAILLE PATTERN BLANK). An empty s is blank.
func Blank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !invisible(r) }) < 0
}

// drawnEmpty are letters and symbols, by their Unicode category, that every
// font draws as empty space.
var drawnEmpty = map[rune]bool{
	'\u115F': true, // HANGUL CHOSEONG FILLER
	'\u1160': true, // HANGUL JUNGSEONG FILLER
	'\u3164': true, // HANGUL FILLER
	'\uFFA0': true, // HALFWIDTH HANGUL FILLER
	'\u2800': true, // BRAILLE PATTERN BLANK
}

func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Variation_Selector, r) || drawnEmpty[r]
}
