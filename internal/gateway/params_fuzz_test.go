package gateway

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// The request parsers of the app's routes, fuzzed one by one. Each must refuse
// with InvalidArgument (which the app shows the user) and never panic or answer
// something outside the range the services are promised.

// FuzzParseID: an accepted id is in (0, 2^53) and is the number the client
// wrote, as an integer or an exactly integral float. The same text goes to
// the avatar route's file-name parser.
func FuzzParseID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseID("video_id", s)
		if err != nil {
			wantInvalid(t, "parseID", s, id, err)
		} else {
			if id <= 0 || id >= maxID {
				t.Fatalf("parseID(%q) = %d, outside (0, 2^53)", s, id)
			}
			x, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if ferr != nil || x != float64(id) {
				t.Fatalf("parseID(%q) = %d, but the text reads as %v (%v)", s, id, x, ferr)
			}
		}

		// The avatar route's file name: an id followed by .png.
		if n, ok := pngNumber(s); ok {
			num, _ := strings.CutSuffix(s, ".png")
			if m, err := strconv.ParseInt(num, 10, 64); err != nil || m != n || len(num) > 16 {
				t.Fatalf("pngNumber(%q) = %d", s, n)
			}
		}

		opt, oerr := parseOptionalID("user_id", s)
		switch t0 := strings.TrimSpace(s); {
		case t0 == "" || t0 == "0":
			if opt != 0 || oerr != nil {
				t.Fatalf("parseOptionalID(%q) = %d, %v; want 0, nil", s, opt, oerr)
			}
		case opt != id || (oerr == nil) != (err == nil):
			t.Fatalf("parseOptionalID(%q) = %d, %v but parseID = %d, %v", s, opt, oerr, id, err)
		}
	})
}

// FuzzParseTime covers the feed's latest_time and the chat's pre_msg_time:
// never negative, seconds below 10^11 turned into milliseconds, larger values
// taken as milliseconds already.
func FuzzParseTime(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseTime("latest_time", s)
		if err != nil {
			wantInvalid(t, "parseTime", s, ms, err)
		} else if ms < 0 {
			t.Fatalf("parseTime(%q) = %d", s, ms)
		} else if ms > 0 {
			x, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if ferr != nil || x != math.Trunc(x) {
				t.Fatalf("parseTime(%q) = %d from a text that is not an integer", s, ms)
			}
			if n, ierr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); ierr == nil && ms != scaled(n) {
				t.Fatalf("parseTime(%q) = %d, want %d", s, ms, scaled(n))
			}
		}

		pre, err := parsePreMsgTime(s)
		if err != nil {
			wantInvalid(t, "parsePreMsgTime", s, pre, err)
			return
		}
		n, ierr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		switch {
		case strings.TrimSpace(s) == "":
			if pre != 0 {
				t.Fatalf("parsePreMsgTime(%q) = %d, want 0", s, pre)
			}
		case ierr != nil || n < 0:
			t.Fatalf("parsePreMsgTime(%q) = %d from a text that is not a non-negative integer", s, pre)
		case pre != scaled(n):
			t.Fatalf("parsePreMsgTime(%q) = %d, want %d", s, pre, scaled(n))
		}
	})
}

// scaled is a client time in milliseconds: below 10^11 it was seconds.
func scaled(n int64) int64 {
	if n < 1e11 {
		return n * 1000
	}
	return n
}

// FuzzPageParams reads a list route's count and cursor, and the other
// parameters, from a query string and a form body as the app sends them: a
// page is never empty, never over its route's maximum, and its cursor is
// bounded before any service sees it.
func FuzzPageParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, query, form string, multipartForm bool) {
		c := app.NewContext(0)
		c.Request.Header.SetMethod("POST")
		c.Request.SetRequestURI("/douyin/comment/list/?" + query)
		if multipartForm {
			c.Request.Header.SetContentTypeBytes([]byte("multipart/form-data; boundary=b"))
		} else {
			c.Request.Header.SetContentTypeBytes([]byte("application/x-www-form-urlencoded"))
		}
		c.Request.SetBodyString(form)

		p, err := pageParams(c, commentPage, commentPageMax)
		if err != nil {
			wantInvalid(t, "pageParams", query+" | "+form, 0, err)
		} else {
			if p.Count < 1 || p.Count > commentPageMax {
				t.Fatalf("pageParams(%q, %q) count %d outside 1-%d", query, form, p.Count, commentPageMax)
			}
			if len(p.Cursor) > maxCursorLen || p.Cursor != param(c, "cursor") {
				t.Fatalf("pageParams(%q, %q) cursor %q (param %q)", query, form, p.Cursor, param(c, "cursor"))
			}
		}
		if on, err := actionType(param(c, "action_type"), "like", "cancel"); err != nil {
			wantInvalid(t, "actionType", param(c, "action_type"), 0, err)
		} else if want := strings.TrimSpace(param(c, "action_type")) == "1"; on != want {
			t.Fatalf("actionType(%q) = %v", param(c, "action_type"), on)
		}
		if k := accountKey(param(c, "username")); len(k) > 128 || strings.ContainsAny(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("accountKey(%q) = %q", param(c, "username"), k)
		}
	})
}

// FuzzParseRange: a Range header the media route accepts names bytes inside
// the object; bytes=a-b with a <= b is read exactly; anything else is either
// refused or served whole.
func FuzzParseRange(f *testing.F) {
	f.Fuzz(func(t *testing.T, h string, size, a, b int64) {
		size &= 1<<40 - 1 // objects of up to a terabyte, never negative
		start, n, ok := parseRange(h, size)
		if ok && n != -1 && (start < 0 || n < 1 || start+n > size) {
			t.Fatalf("parseRange(%q, %d) = %d, %d: outside the object", h, size, start, n)
		}
		if !ok && (start != 0 || n != 0) {
			t.Fatalf("parseRange(%q, %d) refused but returned %d, %d", h, size, start, n)
		}

		a, b = a&(1<<41-1), b&(1<<41-1)
		start, n, ok = parseRange("bytes="+strconv.FormatInt(a, 10)+"-"+strconv.FormatInt(b, 10), size)
		switch {
		case a > b || a >= size:
			if ok {
				t.Fatalf("bytes=%d-%d of %d accepted as %d, %d", a, b, size, start, n)
			}
		case !ok || start != a || n != min(b, size-1)-a+1:
			t.Fatalf("bytes=%d-%d of %d = %d, %d, %v", a, b, size, start, n, ok)
		}
		etagListMatches(h, `"abc"`, true)
	})
}

func wantInvalid(t *testing.T, fn, in string, got int64, err error) {
	t.Helper()
	if errs.CodeOf(err) != base.ErrCode_InvalidArgument || got != 0 {
		t.Fatalf("%s(%q) = %d, %v; want InvalidArgument", fn, in, got, err)
	}
}
