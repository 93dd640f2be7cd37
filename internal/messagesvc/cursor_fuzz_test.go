package messagesvc

import (
	"testing"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// FuzzDecodeCursor feeds the chat's cursor reader what a client may send back,
// in both reading directions, and encodes arbitrary positions. A cursor is
// accepted only in the exact spelling encodeCursor writes for its direction,
// naming a non-negative time and a valid id; anything else is refused with
// InvalidArgument. Every position a page can end at comes back intact.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(formHistory, Position{CreateTime: 1795328542000, ID: 382777811795968}), int64(0), int64(1))
	f.Add(encodeCursor(formIncoming, Position{CreateTime: 0, ID: 1<<53 - 1}), int64(-1), int64(1<<53))
	f.Add("aDEuNQ", int64(1<<62), int64(5)) // "h1.5" written by hand
	f.Add("aDAxLjU", int64(1), int64(0))    // "h01.5": a leading zero
	f.Add("aC0xLjU", int64(1), int64(-5))   // "h-1.5": a negative time
	f.Add("aDEuNQ==", int64(1), int64(5))   // padded
	f.Add("eDEuNQ", int64(1), int64(5))     // "x1.5": an unknown direction
	f.Add("", int64(0), int64(0))
	forms := []form{formHistory, formIncoming}
	f.Fuzz(func(t *testing.T, s string, at, id int64) {
		for _, fm := range forms {
			p, err := decodeCursor(fm, s)
			if err != nil {
				if p != (Position{}) || errs.CodeOf(err) != base.ErrCode_InvalidArgument {
					t.Fatalf("decodeCursor(%c, %q) = %+v, %v; want InvalidArgument", fm, s, p, err)
				}
			} else {
				if p.CreateTime < 0 || !idgen.Valid(p.ID) {
					t.Fatalf("decodeCursor(%c, %q) = %+v: not a position", fm, s, p)
				}
				if again := encodeCursor(fm, p); again != s {
					t.Fatalf("decodeCursor(%c, %q) = %+v, which encodes as %q", fm, s, p, again)
				}
				for _, other := range forms {
					if _, err := decodeCursor(other, s); other != fm && err == nil {
						t.Fatalf("cursor %q of direction %c accepted for %c", s, fm, other)
					}
				}
			}

			pos := Position{CreateTime: at, ID: id}
			back, err := decodeCursor(fm, encodeCursor(fm, pos))
			valid := at >= 0 && idgen.Valid(id)
			switch {
			case valid && (err != nil || back != pos):
				t.Fatalf("decodeCursor(encodeCursor(%c, %+v)) = %+v, %v", fm, pos, back, err)
			case !valid && err == nil:
				t.Fatalf("decodeCursor(encodeCursor(%c, %+v)) accepted an invalid position", fm, pos)
			}
		}
	})
}
