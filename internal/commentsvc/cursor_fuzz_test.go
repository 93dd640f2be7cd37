package commentsvc

import (
	"math"
	"testing"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// FuzzDecodeCursor feeds the comment list's cursor reader what a client may
// send back, for each order, and encodes arbitrary positions. A cursor is
// accepted only in the exact spelling encodeCursor writes, for its own order,
// naming a finite score and a valid id; every other string is refused with
// CommentCursorInvalid. Every position a page can end at comes back intact.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(ByTime, cache.Member{Score: 12, ID: 382777811795968}), 0.5, int64(7))
	f.Add(encodeCursor(ByHot, cache.Member{Score: 1.5e+21, ID: 1}), -0.0, int64(1<<53-1))
	f.Add(encodeCursor(ByThread, cache.Member{Score: -3.25, ID: 9}), math.Inf(1), int64(1<<53))
	f.Add("MC4xLjU", math.NaN(), int64(0)) // "0.1.5" written by hand
	f.Add("MC4wMS41", 1e-300, int64(-1))   // "0.01.5": the same position spelled another way
	f.Add("MC5OYU4uNQ", 0.0, int64(5))     // "0.NaN.5"
	f.Add("MC4xLjU=", 1.0, int64(5))       // padded
	f.Fuzz(func(t *testing.T, c string, score float64, id int64) {
		for _, o := range []Order{ByTime, ByHot, ByThread} {
			m, err := decodeCursor(c, o)
			switch {
			case c == "":
				if m != nil || err != nil {
					t.Fatalf("decodeCursor(\"\", %d) = %v, %v; want the first page", o, m, err)
				}
			case err != nil:
				if m != nil || errs.CodeOf(err) != base.ErrCode_CommentCursorInvalid {
					t.Fatalf("decodeCursor(%q, %d) = %v, %v; want CommentCursorInvalid", c, o, m, err)
				}
			default:
				if math.IsNaN(m.Score) || math.IsInf(m.Score, 0) || !idgen.Valid(m.ID) {
					t.Fatalf("decodeCursor(%q, %d) = %+v: not a position", c, o, *m)
				}
				if again := encodeCursor(o, *m); again != c {
					t.Fatalf("decodeCursor(%q, %d) = %+v, which encodes as %q", c, o, *m, again)
				}
				for _, other := range []Order{ByTime, ByHot, ByThread} {
					if _, err := decodeCursor(c, other); other != o && err == nil {
						t.Fatalf("cursor %q of order %d accepted for order %d", c, o, other)
					}
				}
			}

			e := encodeCursor(o, cache.Member{Score: score, ID: id})
			back, err := decodeCursor(e, o)
			valid := !math.IsNaN(score) && !math.IsInf(score, 0) && idgen.Valid(id)
			switch {
			case valid && (err != nil || back.Score != score || back.ID != id):
				t.Fatalf("decodeCursor(encodeCursor(%d, %v, %d)) = %v, %v", o, score, id, back, err)
			case !valid && err == nil:
				t.Fatalf("decodeCursor(encodeCursor(%d, %v, %d)) accepted an invalid position", o, score, id)
			}
		}
	})
}
