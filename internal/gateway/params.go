package gateway

import (
	"math"
	"strconv"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// maxID is the first integer JavaScript cannot represent exactly; every id stays
// below it.
const maxID = 1 << 53

// param reads a request parameter the way the app sends it: the query string first
// (the app puts even POST parameters there), then a urlencoded or multipart body.
func param(c *app.RequestContext, key string) string {
	if v, ok := c.GetQuery(key); ok {
		return v
	}
	v, _ := c.GetPostForm(key)
	return v
}

// parseID parses an id parameter: a positive integer below 2^53, written plainly or
// as an exactly integral float such as 1.234567e+06, which some clients send.
func parseID(name, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errs.InvalidArgument("%s is required", name)
	}
	if len(s) > 32 || strings.Trim(s, "0123456789.eE+") != "" {
		return 0, errs.InvalidArgument("%s is not a valid id", name)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n >= maxID {
			return 0, errs.InvalidArgument("%s is not a valid id", name)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f <= 0 || f >= maxID {
		return 0, errs.InvalidArgument("%s is not a valid id", name)
	}
	return int64(f), nil
}

// parseOptionalID is parseID for parameters where absent or 0 means "not given".
func parseOptionalID(name, s string) (int64, error) {
	if t := strings.TrimSpace(s); t == "" || t == "0" {
		return 0, nil
	}
	return parseID(name, s)
}

// maxCursorLen bounds the opaque cursor a client may send back.
const maxCursorLen = 256

// pageParams reads the optional `count` and `cursor` of a list route (api.md A.1):
// without count the route's default page, and never more than max.
func pageParams(c *app.RequestContext, def, max int32) (*base.Page, error) {
	p := &base.Page{Count: def, Cursor: param(c, "cursor")}
	if len(p.Cursor) > maxCursorLen {
		return nil, errs.InvalidArgument("cursor is not valid")
	}
	if s := strings.TrimSpace(param(c, "count")); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 1 {
			return nil, errs.InvalidArgument("count must be a positive integer")
		}
		p.Count = int32(min(n, int64(max)))
	}
	return p, nil
}

// pageBody adds a list page's has_more and next_cursor to an answer.
func pageBody(body map[string]any, info *base.PageInfo) map[string]any {
	body["has_more"] = info.GetHasMore()
	body["next_cursor"] = info.GetNextCursor()
	return body
}
