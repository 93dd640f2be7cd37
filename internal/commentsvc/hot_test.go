package commentsvc

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestHotScore(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	hour := time.Hour.Milliseconds()
	const resolution = 1 / HotScoreScale

	t.Run("equal engagement, newer ranks higher", func(t *testing.T) {
		if older, newer := HotScore(5, 1, now-hour), HotScore(5, 1, now); !(newer > older) {
			t.Errorf("newer %v not above older %v", newer, older)
		}
		// Even a millisecond shows, as long as it is above the resolution.
		if a, b := HotScore(0, 0, now), HotScore(0, 0, now+5); !(b > a) {
			t.Errorf("5 ms later %v not above %v", b, a)
		}
	})

	t.Run("same time, more likes ranks higher", func(t *testing.T) {
		if few, many := HotScore(3, 0, now), HotScore(4, 0, now); !(many > few) {
			t.Errorf("4 likes %v not above 3 likes %v", many, few)
		}
	})

	t.Run("a reply weighs two likes", func(t *testing.T) {
		for _, c := range []struct{ likes, replies int64 }{{0, 1}, {3, 5}, {100, 50}} {
			if r, l := HotScore(c.likes, c.replies, now), HotScore(c.likes+2*c.replies, 0, now); r != l {
				t.Errorf("%d likes + %d replies = %v, %d likes = %v", c.likes, c.replies, r, c.likes+2*c.replies, l)
			}
		}
		if r, l := HotScore(0, 1, now), HotScore(1, 0, now); !(r > l) {
			t.Errorf("a reply %v not above a like %v", r, l)
		}
	})

	t.Run("ten times the engagement is worth HotDecaySeconds", func(t *testing.T) {
		decay := int64(HotDecaySeconds) * 1000
		for _, likes := range []int64{9, 99, 999} { // engagement 10, 100, 1000
			popular := HotScore(10*(likes+1)-1, 0, now)
			younger := HotScore(likes, 0, now+decay)
			if math.Abs(popular-younger) > 1.5*resolution {
				t.Errorf("engagement %d: %v, ten times less but %v s younger: %v", 10*(likes+1), popular, HotDecaySeconds, younger)
			}
		}
		if d := HotScore(0, 0, now+decay) - HotScore(0, 0, now); math.Abs(d-1) > 1.5*resolution {
			t.Errorf("%v s of age is worth %v, want 1", HotDecaySeconds, d)
		}
	})

	t.Run("zero at the epoch", func(t *testing.T) {
		if s := HotScore(0, 0, HotEpochUnix*1000); s != 0 {
			t.Errorf("HotScore at the epoch with no engagement = %v, want 0", s)
		}
		if s := HotScore(9, 0, HotEpochUnix*1000); s != 1 {
			t.Errorf("HotScore at the epoch with 9 likes = %v, want 1", s)
		}
	})

	t.Run("monotonic in likes", func(t *testing.T) {
		prev := HotScore(0, 0, now)
		for likes := int64(1); likes <= 2_000_000; likes += 1 + likes/1000 {
			s := HotScore(likes, 0, now)
			if !(s > prev) {
				t.Fatalf("%d likes: %v, not above %v", likes, s, prev)
			}
			prev = s
		}
		// Past the resolution a like may not show, but never lowers the score.
		for likes := int64(1 << 40); likes < 1<<40+1000; likes++ {
			if s := HotScore(likes+1, 0, now); s < HotScore(likes, 0, now) {
				t.Fatalf("%d likes scores below %d", likes+1, likes)
			}
		}
	})

	t.Run("negative counts are zero", func(t *testing.T) {
		zero := HotScore(0, 0, now)
		for _, c := range []struct{ likes, replies int64 }{{-1, 0}, {0, -1}, {-5, -7}, {math.MinInt64, math.MinInt64}} {
			if s := HotScore(c.likes, c.replies, now); s != zero {
				t.Errorf("HotScore(%d, %d) = %v, want %v", c.likes, c.replies, s, zero)
			}
		}
		if s, want := HotScore(-3, 2, now), HotScore(0, 2, now); s != want {
			t.Errorf("HotScore(-3, 2) = %v, want %v", s, want)
		}
	})

	t.Run("extreme inputs stay finite", func(t *testing.T) {
		for _, c := range []struct{ likes, replies, at int64 }{
			{math.MaxInt64, math.MaxInt64, now},
			{0, 0, math.MinInt64},
			{0, 0, math.MaxInt64},
			{0, 0, 0},
		} {
			if s := HotScore(c.likes, c.replies, c.at); math.IsNaN(s) || math.IsInf(s, 0) {
				t.Errorf("HotScore(%d, %d, %d) = %v", c.likes, c.replies, c.at, s)
			}
		}
		if s := HotScore(0, 0, 0); !(s < 0) {
			t.Errorf("a comment from 1970 scores %v, want below zero", s)
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		for i := range int64(100) {
			a, b := HotScore(i*7, i, now+i*12345), HotScore(i*7, i, now+i*12345)
			if math.Float64bits(a) != math.Float64bits(b) {
				t.Fatalf("two calls gave %v and %v", a, b)
			}
		}
	})

	t.Run("rounded to the resolution", func(t *testing.T) {
		for i := range int64(1000) {
			s := HotScore(i*i, i, now+i*987_654)
			if k := s * HotScoreScale; math.Abs(k-math.Round(k)) > 1e-6 {
				t.Fatalf("%v is not a multiple of %v", s, resolution)
			}
		}
	})

	t.Run("survives text round trips", func(t *testing.T) {
		// 'g' -1 is what Go drivers and JSON use; 14 digits is Redis Lua's
		// tostring; 'f' 7 is the decimal the score stands for.
		for i := range int64(1000) {
			at := now + (i-500)*86_400_000*7 // a range of about 19 years
			s := HotScore(i*i*i, i*3, at)
			for _, text := range []string{
				strconv.FormatFloat(s, 'g', -1, 64),
				strconv.FormatFloat(s, 'g', 14, 64),
				strconv.FormatFloat(s, 'f', 7, 64),
			} {
				back, err := strconv.ParseFloat(text, 64)
				if err != nil || math.Float64bits(back) != math.Float64bits(s) {
					t.Fatalf("%v printed as %q came back as %v (%v)", s, text, back, err)
				}
			}
		}
	})
}
