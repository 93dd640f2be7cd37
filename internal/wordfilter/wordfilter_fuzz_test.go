package wordfilter

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzFilterLong is FuzzFilter at the sizes the server meets: up to a thousand
// words and texts of up to 16 KiB (a fuzzed text repeated), beyond what the
// quadratic reference of FuzzFilter can check. The reference here finds every
// occurrence by looking up each window of the folded text whose length is that
// of some word in a set of the folded words: linear in the text for a fixed
// list, and independent of the automaton.
func FuzzFilterLong(f *testing.F) {
	f.Fuzz(func(t *testing.T, words, text string, repeat uint8) {
		list := strings.Split(words, "\n")
		list = list[:min(len(list), 1024)]
		text = strings.Repeat(text, 1+int(repeat%64))
		text = text[:min(len(text), 16<<10)]

		flt := New(list)
		got := flt.Find(text)
		want := windowFind(list, text)
		if !slices.Equal(got, want) {
			t.Fatalf("Find with %d words over %d bytes: got %d matches, want %d\nfirst difference: %s",
				len(list), len(text), len(got), len(want), firstDifference(got, want))
		}
		if c := flt.Contains(text); c != (len(want) > 0) {
			t.Fatalf("Contains = %v with %d matches", c, len(want))
		}
		for _, m := range got {
			if m.Start < 0 || m.Start >= m.End || m.End > len(text) {
				t.Fatalf("match %+v out of the text's %d bytes", m, len(text))
			}
		}
	})
}

// windowFind is the reference for Find described at FuzzFilterLong. Words
// equal up to case are one word, reported as the first given.
func windowFind(words []string, text string) []Match {
	fold := func(rs []rune) string {
		var b strings.Builder
		for _, r := range rs {
			b.WriteRune(foldRune(r))
		}
		return b.String()
	}
	given := map[string]string{} // folded word -> first spelling given
	lengths := map[int]bool{}
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		rs, _ := letters(w)
		k := fold(rs)
		if _, seen := given[k]; !seen {
			given[k] = w
			lengths[len(rs)] = true
		}
	}
	ls := make([]int, 0, len(lengths))
	for l := range lengths {
		ls = append(ls, l)
	}
	// Longest first: at one end the longest word starts earliest, and Find
	// orders by Start there.
	slices.Sort(ls)
	slices.Reverse(ls)

	rs, offs := letters(text)
	folded := []rune(fold(rs))
	var out []Match
	for end := 1; end <= len(folded); end++ {
		for _, l := range ls {
			if l > end {
				continue
			}
			if w, ok := given[string(folded[end-l:end])]; ok {
				out = append(out, Match{Word: w, Start: offs[end-l], End: offs[end]})
			}
		}
	}
	return out
}

// firstDifference describes where two match lists first differ.
func firstDifference(got, want []Match) string {
	for i := range max(len(got), len(want)) {
		var g, w any = "none", "none"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("#%d: got %+v, want %+v", i, g, w)
		}
	}
	return "none"
}
