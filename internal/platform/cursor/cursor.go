// Package cursor encodes list positions as the opaque strings clients send back as
// `cursor`: the (time, id) of the last item of the previous page; and reads the
// page size a list call asks for.
package cursor

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// maxLen bounds what Decode looks at; Encode never writes more.
const maxLen = 64

// Encode returns the cursor of the position (at, id): base64url of "<at>.<id>".
func Encode(at, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "." + strconv.FormatInt(id, 10)))
}

// Decode parses a cursor written by Encode. It reports ok false for anything else
// (a forged or damaged cursor is refused rather than read as some other position):
// only the exact form Encode writes, a non-negative time and a valid id pass.
func Decode(c string) (at, id int64, ok bool) {
	if c == "" || len(c) > maxLen {
		return 0, 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	a, i, found := strings.Cut(string(raw), ".")
	if !found {
		return 0, 0, false
	}
	if at, err = strconv.ParseInt(a, 10, 64); err != nil || at < 0 {
		return 0, 0, false
	}
	if id, err = strconv.ParseInt(i, 10, 64); err != nil || !idgen.Valid(id) {
		return 0, 0, false
	}
	if Encode(at, id) != c {
		return 0, 0, false
	}
	return at, id, true
}

// Size returns the page size a list call asks for in page: def when it names
// none, at most max. A negative count is refused.
func Size(page *base.Page, def, max int) (int, error) {
	if page == nil {
		return def, nil
	}
	n := int(page.GetCount())
	switch {
	case n < 0:
		return 0, errs.InvalidArgument("count must be a positive integer")
	case n == 0:
		return def, nil
	}
	return min(n, max), nil
}
