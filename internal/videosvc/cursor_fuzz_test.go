package videosvc

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// FuzzParseListCursor feeds the publish list's cursor reader what a client
// may send back, and writes arbitrary positions the way ListByAuthor writes
// its next cursor. An accepted cursor names a non-negative time and a valid
// id, the numbers written before and after its first dot; anything else is
// refused with InvalidArgument; every position a page can end at comes back
// intact.
func FuzzParseListCursor(f *testing.F) {
	f.Add("1795328542000.382777811795968", int64(0), int64(1))
	f.Add("", int64(-1), int64(1<<53))
	f.Add("0.9007199254740991", int64(1<<62), int64(1<<53-1))
	f.Add("-1.5", int64(5), int64(0))
	f.Add("1.2.3", int64(5), int64(-5))
	f.Add("+01.05", int64(5), int64(5))
	f.Add("9223372036854775808.1", int64(5), int64(5))
	f.Add(" 1.5", int64(5), int64(5))
	f.Fuzz(func(t *testing.T, cur string, at, id int64) {
		p, err := parseListCursor(cur)
		switch {
		case cur == "":
			if err != nil || p.Time != 1<<63-1 || p.ID != 0 {
				t.Fatalf("parseListCursor(\"\") = %+v, %v; want the newest first", p, err)
			}
		case err != nil:
			if p != (Position{}) || errs.CodeOf(err) != base.ErrCode_InvalidArgument {
				t.Fatalf("parseListCursor(%q) = %+v, %v; want InvalidArgument", cur, p, err)
			}
		default:
			if p.Time < 0 || !idgen.Valid(p.ID) {
				t.Fatalf("parseListCursor(%q) = %+v: not a position", cur, p)
			}
			ts, ids, _ := strings.Cut(cur, ".")
			wantT, err1 := strconv.ParseInt(ts, 10, 64)
			wantID, err2 := strconv.ParseInt(ids, 10, 64)
			if err1 != nil || err2 != nil || wantT != p.Time || wantID != p.ID {
				t.Fatalf("parseListCursor(%q) = %+v, which is not what it says", cur, p)
			}
		}

		next := strconv.FormatInt(at, 10) + "." + strconv.FormatInt(id, 10)
		back, err := parseListCursor(next)
		valid := at >= 0 && idgen.Valid(id)
		switch {
		case valid && (err != nil || back != Position{Time: at, ID: id}):
			t.Fatalf("parseListCursor(%q) = %+v, %v", next, back, err)
		case !valid && err == nil:
			t.Fatalf("parseListCursor(%q) accepted an invalid position", next)
		}
	})
}
