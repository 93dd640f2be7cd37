// Package wordfilter finds sensitive words in user text: comments are refused
// when they contain one, and moderators see every occurrence highlighted.
//
// The matcher is an Aho-Corasick automaton over Unicode code points, so one
// pass over a comment finds every listed word no matter how long the list is,
// and a Chinese character is one step, not three bytes.
package wordfilter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match is one occurrence of a listed word in a text.
type Match struct {
	// Word is the listed word as given to New, trimmed. When several entries
	// differ only in letter case, the first one given stands for all of them.
	Word string
	// Start and End are byte offsets into the text, so text[Start:End] is the
	// occurrence as written, which may differ from Word in case and even in
	// byte length (the Kelvin sign U+212A is the letter k in three bytes).
	Start, End int
}

// Filter matches a fixed list of words. It is never changed after New, so one
// Filter may be used by any number of goroutines at once. The nil *Filter
// matches nothing.
//
// Letters match regardless of case, with the same per-letter equivalence as
// strings.EqualFold ("SpAm" matches "spam", "UP主" matches "up主"); text without
// case, such as Chinese, matches exactly. Invalid UTF-8, in the text or in a
// word, reads as U+FFFD, one replacement character per bad byte.
type Filter struct {
	// The alphabet is the set of letters, folded, that occur in some word,
	// numbered densely. A text letter outside it cannot continue any match,
	// which is what most letters of a clean comment are, so the scan resets to
	// the root without looking at the automaton.
	asciiSym [utf8.RuneSelf]int32 // symbol of each ASCII letter, -1 outside the alphabet
	sym      map[rune]int32       // symbol of every other letter in the alphabet

	// rootNext is the root's transition on each symbol, 0 (the root) for none.
	// The root is where a scan spends most of its time, so it gets a table.
	rootNext []int32

	// Transitions of the other states, sorted by symbol: state s has
	// edgeSym[edgeStart[s]:edgeStart[s+1]] leading to the same range of edgeTo.
	edgeStart []int32
	edgeSym   []int32
	edgeTo    []int32

	fail []int32 // state of the longest proper suffix that is also a trie path
	out  []int32 // word ending exactly at the state, -1 for none
	dict []int32 // nearest state on the fail chain where a word ends, -1 for none
	hit  []bool  // out or dict is set: being in the state means a word was seen

	words    []string // as given, trimmed, one per distinct folded word
	wordLen  []int32  // length of each word in runes
	maxRunes int      // the longest word in runes: how far back Find may need to look
}

// New builds a filter for words. Each word is trimmed of surrounding white
// space; empty words are dropped and words equal up to case are kept once.
// Building takes time linear in the total length of the words.
func New(words []string) *Filter {
	f := &Filter{sym: make(map[rune]int32)}
	for i := range f.asciiSym {
		f.asciiSym[i] = -1
	}

	// Build the trie. The transitions live in a map while it grows; they are
	// laid out for matching once every state is known.
	type edge struct{ from, sym, to int32 }
	var edges []edge
	next := make(map[uint64]int32) // from<<32 | sym -> to
	f.out = []int32{-1}
	var symbols int32
	var folded []int32
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		folded = folded[:0]
		for _, r := range w {
			c := foldRune(r)
			s, ok := f.symbol(c)
			if !ok {
				s = symbols
				symbols++
				f.addSymbol(c, s)
			}
			folded = append(folded, s)
		}
		var state int32
		for _, s := range folded {
			key := uint64(state)<<32 | uint64(s)
			to, ok := next[key]
			if !ok {
				to = int32(len(f.out))
				f.out = append(f.out, -1)
				next[key] = to
				edges = append(edges, edge{state, s, to})
			}
			state = to
		}
		if f.out[state] >= 0 {
			continue // the same word again, perhaps in other letter case
		}
		f.out[state] = int32(len(f.words))
		f.words = append(f.words, w)
		f.wordLen = append(f.wordLen, int32(len(folded)))
		f.maxRunes = max(f.maxRunes, len(folded))
	}
	states := len(f.out)

	// Lay the transitions out sorted by state, and within a state by symbol,
	// with two counting sorts: first by symbol, then stably by state.
	bySym := make([]edge, len(edges))
	count := make([]int32, int(symbols)+1)
	for _, e := range edges {
		count[e.sym+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	for _, e := range edges {
		bySym[count[e.sym]] = e
		count[e.sym]++
	}
	f.rootNext = make([]int32, symbols)
	f.edgeStart = make([]int32, states+1)
	for _, e := range bySym {
		if e.from == 0 {
			f.rootNext[e.sym] = e.to
		}
		f.edgeStart[e.from+1]++
	}
	for i := 1; i <= states; i++ {
		f.edgeStart[i] += f.edgeStart[i-1]
	}
	f.edgeSym = make([]int32, len(edges))
	f.edgeTo = make([]int32, len(edges))
	fill := append([]int32(nil), f.edgeStart[:states]...)
	for _, e := range bySym {
		f.edgeSym[fill[e.from]] = e.sym
		f.edgeTo[fill[e.from]] = e.to
		fill[e.from]++
	}

	// Failure links, breadth first so that a state's fail target, being
	// shallower, is finished before the state itself.
	f.fail = make([]int32, states)
	f.dict = make([]int32, states)
	f.hit = make([]bool, states)
	f.dict[0] = -1
	queue := make([]int32, 0, states)
	queue = append(queue, 0)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for i := f.edgeStart[u]; i < f.edgeStart[u+1]; i++ {
			v, s := f.edgeTo[i], f.edgeSym[i]
			if u != 0 {
				// Walk u's fail chain to the longest suffix that continues
				// with s. Each word's walk is bounded by its length overall.
				fs := f.fail[u]
				for {
					if to, ok := next[uint64(fs)<<32|uint64(s)]; ok {
						f.fail[v] = to
						break
					}
					if fs == 0 {
						break // f.fail[v] stays the root
					}
					fs = f.fail[fs]
				}
			}
			if fv := f.fail[v]; f.out[fv] >= 0 {
				f.dict[v] = fv
			} else {
				f.dict[v] = f.dict[fv]
			}
			f.hit[v] = f.out[v] >= 0 || f.dict[v] >= 0
			queue = append(queue, v)
		}
	}
	return f
}

// foldRune maps r to one representative of its case-folding orbit (the
// letters unicode.SimpleFold cycles through, the classes strings.EqualFold
// uses), the smallest, so that two letters fold alike exactly when EqualFold
// calls them equal. Plain ToLower would not do: it maps "İ" to "i", which
// EqualFold keeps apart, and leaves "ſ" apart from "s", which it joins.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		m = min(m, c)
	}
	return m
}

// addSymbol puts every letter of the folding orbit of c into the alphabet as
// symbol s, so the text is folded by the same lookup that finds its symbol.
func (f *Filter) addSymbol(c rune, s int32) {
	r := c
	for {
		if r < utf8.RuneSelf {
			f.asciiSym[r] = s
		} else {
			f.sym[r] = s
		}
		if r = unicode.SimpleFold(r); r == c {
			return
		}
	}
}

// symbol returns the alphabet symbol of r, and false if no word contains a
// letter that folds like r.
func (f *Filter) symbol(r rune) (int32, bool) {
	if r >= 0 && r < utf8.RuneSelf {
		s := f.asciiSym[r]
		return s, s >= 0
	}
	s, ok := f.sym[r]
	return s, ok
}

// step returns the state after reading symbol s in state state.
func (f *Filter) step(state, s int32) int32 {
	for state != 0 {
		lo, hi := f.edgeStart[state], f.edgeStart[state+1]
		for lo < hi {
			m := int32(uint32(lo+hi) >> 1)
			if f.edgeSym[m] < s {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo < f.edgeStart[state+1] && f.edgeSym[lo] == s {
			return f.edgeTo[lo]
		}
		state = f.fail[state]
	}
	return f.rootNext[s]
}

// Contains reports whether any word of the filter occurs in text. It stops at
// the first occurrence; the time is linear in the length of text.
func (f *Filter) Contains(text string) bool {
	if f.Len() == 0 {
		return false
	}
	var state int32
	for i := 0; i < len(text); {
		r, w := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(text[i:])
		}
		i += w
		s, ok := f.symbol(r)
		if !ok {
			state = 0
			continue
		}
		state = f.step(state, s)
		if f.hit[state] {
			return true
		}
	}
	return false
}

// Find returns every occurrence of every word in text, overlapping ones
// included, ordered by End and, among occurrences ending at the same byte, by
// Start (the longest word first). It returns nil when there is none.
func (f *Filter) Find(text string) []Match {
	if f.Len() == 0 {
		return nil
	}
	// starts remembers where each of the last maxRunes letters began, since a
	// word of n letters ending here began n letters back.
	var buf [32]int
	starts := buf[:]
	if f.maxRunes > len(buf) {
		starts = make([]int, f.maxRunes)
	}
	var (
		matches []Match
		state   int32
		n       int // letters read
	)
	for i := 0; i < len(text); {
		r, w := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(text[i:])
		}
		starts[n%f.maxRunes] = i
		n++
		i += w
		s, ok := f.symbol(r)
		if !ok {
			state = 0
			continue
		}
		state = f.step(state, s)
		if !f.hit[state] {
			continue
		}
		at := state
		if f.out[at] < 0 {
			at = f.dict[at]
		}
		for ; at >= 0; at = f.dict[at] {
			word := f.out[at]
			begin := starts[(n-int(f.wordLen[word]))%f.maxRunes]
			matches = append(matches, Match{Word: f.words[word], Start: begin, End: i})
		}
	}
	return matches
}

// Len returns the number of distinct words in the filter, words equal up to
// case counting once.
func (f *Filter) Len() int {
	if f == nil {
		return 0
	}
	return len(f.words)
}
