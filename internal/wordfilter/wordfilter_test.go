package wordfilter

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		text  string
		want  []Match
	}{
		{"chinese", []string{"赌博"}, "禁止赌博行为", []Match{{"赌博", 6, 12}}},
		{"chinese clean", []string{"赌博"}, "赌一把博一次", nil},
		{
			"overlapping he she hers", []string{"he", "she", "hers"}, "ushers",
			[]Match{{"she", 1, 4}, {"he", 2, 4}, {"hers", 2, 6}},
		},
		{"same word overlapping itself", []string{"aa"}, "aaaa", []Match{{"aa", 0, 2}, {"aa", 1, 3}, {"aa", 2, 4}}},
		{
			"prefixes of each other", []string{"abcd", "ab", "abc"}, "xabcd",
			[]Match{{"ab", 1, 3}, {"abc", 1, 4}, {"abcd", 1, 5}},
		},
		{"failure into a shorter word", []string{"abcd", "bc"}, "abce", []Match{{"bc", 1, 3}}},
		{"word two failures away", []string{"abcd", "bcd", "c"}, "abce", []Match{{"c", 2, 3}}},
		{"failure link past a dead end", []string{"abcx", "bcy", "cx"}, "abcx", []Match{{"abcx", 0, 4}, {"cx", 2, 4}}},
		{"longer word broken off", []string{"abcd"}, "abcabcd", []Match{{"abcd", 3, 7}}},
		{"case-insensitive latin", []string{"SpAm"}, "no SPAM here, spam", []Match{{"SpAm", 3, 7}, {"SpAm", 14, 18}}},
		{"mixed latin and chinese", []string{"UP主"}, "这个up主真棒", []Match{{"UP主", 6, 11}}},
		{"occurrence longer than the word", []string{"kelvin"}, "\u212Aelvin", []Match{{"kelvin", 0, 8}}},
		{"long s folds with s", []string{"ss"}, "ſS", []Match{{"ss", 0, 3}}},
		{"dotted capital I is not i", []string{"i"}, "İ", nil},
		{"invalid byte reads as U+FFFD", []string{"a\uFFFDb"}, "a\xffb", []Match{{"a\uFFFDb", 0, 3}}},
		{"each bad byte is one letter", []string{"a\uFFFDb"}, "a\xff\xfeb", nil},
		{"invalid text, no match", []string{"x"}, "\xff\xfe\xc3", nil},
		{"truncated sequence at the end", []string{"赌"}, "赌\xe8\xb5", []Match{{"赌", 0, 3}}},
		{"words trimmed and deduplicated", []string{" spam\t", "SPAM", "", "  "}, "Spam", []Match{{"spam", 0, 4}}},
		{"no words", nil, "anything", nil},
		{"empty text", []string{"a"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(tt.words)
			got := f.Find(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Find(%q) = %v, want %v", tt.text, got, tt.want)
			}
			if c := f.Contains(tt.text); c != (len(tt.want) > 0) {
				t.Errorf("Contains(%q) = %v, want %v", tt.text, c, len(tt.want) > 0)
			}
			if ref := naiveFind(tt.words, tt.text); !slices.Equal(ref, tt.want) {
				t.Errorf("reference disagrees with the table: %v", ref)
			}
		})
	}
}

func TestLen(t *testing.T) {
	tests := []struct {
		words []string
		want  int
	}{
		{nil, 0},
		{[]string{"", " ", "\t\n"}, 0},
		{[]string{"赌博", "赌博", " 赌博 "}, 1},
		{[]string{"spam", "SPAM", "SpAm", "spa"}, 2},
		{[]string{"he", "she", "hers", "his"}, 4},
	}
	for _, tt := range tests {
		if got := New(tt.words).Len(); got != tt.want {
			t.Errorf("New(%q).Len() = %d, want %d", tt.words, got, tt.want)
		}
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if f.Contains("spam") || f.Find("spam") != nil || f.Len() != 0 {
		t.Error("nil filter matched something")
	}
}

// TestFoldRune checks, over every code point, that foldRune picks one letter
// per strings.EqualFold class: constant along each SimpleFold orbit and
// EqualFold to its input. The reference below leans on this.
func TestFoldRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		c := foldRune(r)
		if c != foldRune(unicode.SimpleFold(r)) {
			t.Fatalf("foldRune(%U) = %U differs from the fold of %U", r, c, unicode.SimpleFold(r))
		}
		if !strings.EqualFold(string(r), string(c)) {
			t.Fatalf("foldRune(%U) = %U, not EqualFold", r, c)
		}
	}
}

// TestAgainstReference compares the automaton with the naive matchers on
// random words and texts drawn from a small alphabet full of case traps, so
// that matches, overlaps and near misses are common.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 1))
	for i := range 3000 {
		words := make([]string, rng.IntN(8))
		for j := range words {
			words[j] = randomText(rng, 1+rng.IntN(4))
			if rng.IntN(10) == 0 {
				words[j] = " " + words[j] + "\t"
			}
		}
		text := randomText(rng, rng.IntN(40))
		checkAgainstReference(t, words, text)
		if t.Failed() {
			t.Fatalf("case %d: words %q, text %q", i, words, text)
		}
	}
}

// TestAgainstReferenceTinyAlphabet uses two letters (in both cases) and many
// words, so that long failure chains, the part easiest to get subtly wrong,
// are everywhere.
func TestAgainstReferenceTinyAlphabet(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 2))
	tiny := []rune("abAB")
	for i := range 3000 {
		words := make([]string, rng.IntN(12))
		for j := range words {
			words[j] = randomRunes(rng, tiny, 1+rng.IntN(6))
		}
		text := randomRunes(rng, tiny, rng.IntN(60))
		checkAgainstReference(t, words, text)
		if t.Failed() {
			t.Fatalf("case %d: words %q, text %q", i, words, text)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	words := []string{"he", "she", "hers", "赌博", "SpAm"}
	text := "ushers 赌博 spam"
	f := New(words)
	want := naiveFind(words, text)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := f.Find(text); !slices.Equal(got, want) || !f.Contains(text) {
					t.Errorf("Find = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzFilter(f *testing.F) {
	f.Add("he\nshe\nhers", "ushers")
	f.Add("赌博\nUP主", "这个up主在赌博")
	f.Add("SpAm\nkelvin", "SPAM \u212Aelvin")
	f.Add("a\uFFFDb", "a\xffb\xfe")
	f.Fuzz(func(t *testing.T, words, text string) {
		// The reference is slow; cut long inputs (perhaps mid-letter, which
		// is one more case of invalid UTF-8) rather than skip them.
		list := strings.Split(words, "\n")
		list, text = list[:min(len(list), 64)], text[:min(len(text), 1024)]
		checkAgainstReference(t, list, text)
	})
}

func checkAgainstReference(t *testing.T, words []string, text string) {
	t.Helper()
	f := New(words)
	want := naiveFind(words, text)
	if got := f.Find(text); !slices.Equal(got, want) {
		t.Errorf("Find(%q) with words %q = %v, want %v", text, words, got, want)
	}
	wantContains := naiveContains(words, text)
	if wantContains != (len(want) > 0) {
		t.Errorf("references disagree on %q with words %q", text, words)
	}
	if got := f.Contains(text); got != wantContains {
		t.Errorf("Contains(%q) with words %q = %v, want %v", text, words, got, wantContains)
	}
}

// letters reads s as the filter does, one U+FFFD per invalid byte; offs holds
// the byte offset of each letter and, last, len(s).
func letters(s string) (rs []rune, offs []int) {
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		rs = append(rs, r)
		offs = append(offs, i)
		i += w
	}
	return rs, append(offs, len(s))
}

// naiveFind is the reference for Find: every window of the text compared
// with every word by strings.EqualFold, independent of foldRune.
func naiveFind(words []string, text string) []Match {
	type word struct {
		given   string
		letters string
		n       int
	}
	var ws []word
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		rs, _ := letters(w)
		if !slices.ContainsFunc(ws, func(o word) bool { return strings.EqualFold(o.letters, string(rs)) }) {
			ws = append(ws, word{w, string(rs), len(rs)})
		}
	}
	rs, offs := letters(text)
	var all []Match
	for end := 1; end <= len(rs); end++ {
		var here []Match
		for _, w := range ws {
			if start := end - w.n; start >= 0 && strings.EqualFold(string(rs[start:end]), w.letters) {
				here = append(here, Match{w.given, offs[start], offs[end]})
			}
		}
		slices.SortFunc(here, func(a, b Match) int { return a.Start - b.Start })
		all = append(all, here...)
	}
	return all
}

// naiveContains is the reference for Contains: strings.Index over the text
// and the words with every letter folded.
func naiveContains(words []string, text string) bool {
	fold := func(s string) string {
		var b strings.Builder
		rs, _ := letters(s)
		for _, r := range rs {
			b.WriteRune(foldRune(r))
		}
		return b.String()
	}
	ft := fold(text)
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" && strings.Index(ft, fold(w)) >= 0 {
			return true
		}
	}
	return false
}

// trapAlphabet mixes the letters of the table tests with case-folding traps:
// three-letter orbits (k K U+212A, s S ſ, σ ς Σ), İ beside i, a replacement
// character and an invalid byte, which must read alike.
var trapAlphabet = []string{
	"a", "b", "h", "e", "s", "r", "A", "H", "S", "ſ", "k", "K", "\u212A",
	"σ", "ς", "Σ", "i", "I", "İ", "赌", "博", "主", "U", "p", " ",
	"\uFFFD", "\xff", "\xe8\xb5",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(trapAlphabet[rng.IntN(len(trapAlphabet))])
	}
	return b.String()
}

// benchWords returns n distinct words of 2 to 4 letters from pool, none of
// which occurs in text, so that a scan goes all the way through.
func benchWords(rng *rand.Rand, pool []rune, n int, text string) []string {
	seen := make(map[string]bool)
	var words []string
	for len(words) < n {
		w := make([]rune, 2+rng.IntN(3))
		for i := range w {
			w[i] = pool[rng.IntN(len(pool))]
		}
		s := string(w)
		if seen[s] || strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
			continue
		}
		seen[s] = true
		words = append(words, s)
	}
	return words
}

func randomRunes(rng *rand.Rand, pool []rune, n int) string {
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = pool[rng.IntN(len(pool))]
	}
	return string(rs)
}

// benchCases are 1,000 words and a 1,000-letter text that contains none of
// them: the worst case for Contains, a full scan. In "cjk" every letter of the
// text is in the words' alphabet, so the automaton is always mid-word; in
// "latin" the text is mixed-case letters and spaces.
func benchCases() []struct {
	name  string
	words []string
	text  string
} {
	rng := rand.New(rand.NewPCG(7, 7))
	var cjk []rune
	for r := rune(0x4E00); len(cjk) < 300; r += 37 {
		cjk = append(cjk, r)
	}
	lower := []rune("abcdefghijklmnopqrstuvwxyz")
	mixed := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ      ")
	cjkText := randomRunes(rng, cjk, 1000)
	latinText := randomRunes(rng, mixed, 1000)
	return []struct {
		name  string
		words []string
		text  string
	}{
		{"cjk", benchWords(rng, cjk, 1000, cjkText), cjkText},
		{"latin", benchWords(rng, lower, 1000, latinText), latinText},
	}
}

func BenchmarkContains(b *testing.B) {
	for _, bc := range benchCases() {
		f := New(bc.words)
		if f.Len() != 1000 || utf8.RuneCountInString(bc.text) != 1000 || f.Contains(bc.text) {
			b.Fatalf("%s: bad benchmark input", bc.name)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				f.Contains(bc.text)
			}
		})
	}
}

func BenchmarkFind(b *testing.B) {
	for _, bc := range benchCases() {
		f := New(bc.words)
		// Plant a few words so Find has something to report.
		rs := []rune(bc.text)
		text := bc.words[0] + string(rs[:500]) + bc.words[1] + string(rs[500:]) + bc.words[2]
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				f.Find(text)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				New(bc.words)
			}
		})
	}
}
