package gateway

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"
	hjson "github.com/cloudwego/hertz/pkg/common/json"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
)

// TestWriteJSONAsHertz checks that writeJSON's answers are c.JSON's, byte for
// byte, headers included: HTML characters escaped, invalid UTF-8 replaced, map
// keys sorted, nested typed bodies, and a body buffer left from earlier.
func TestWriteJSONAsHertz(t *testing.T) {
	long := strings.Repeat("长评论 <b>&amp;</b> ", 2000)
	bodies := map[string]any{
		"map": map[string]any{"status_code": 0, "z": "<script>&", "a": []int{3, 1}, "m": map[string]int{"y": 1, "b": 2}},
		"typed": &commentListBody{CommentList: []*Comment{
			{ID: 1, Content: "bad \xff utf-8 \u2028", User: &User{ID: 7, Name: "<a>"}, CreateDate: "12-03"},
			{ID: 2, Content: long, User: &User{ID: 8}},
		}, HasMore: true, NextCursor: "x&y"},
		"empty list": &commentListBody{CommentList: []*Comment{}},
		"nil":        nil,
	}
	for name, body := range bodies {
		want := app.NewContext(0)
		want.JSON(consts.StatusOK, body)
		got := app.NewContext(0)
		got.Response.SetBodyString("left over from an earlier write")
		writeJSON(got, body)
		if !bytes.Equal(got.Response.Body(), want.Response.Body()) {
			t.Errorf("%s: body\n%.300s\nwant\n%.300s", name, got.Response.Body(), want.Response.Body())
		}
		if g, w := got.Response.Header.ContentType(), want.Response.Header.ContentType(); !bytes.Equal(g, w) {
			t.Errorf("%s: content type %q, want %q", name, g, w)
		}
		if got.Response.StatusCode() != consts.StatusOK {
			t.Errorf("%s: status %d", name, got.Response.StatusCode())
		}
		if enc, err := hjson.Marshal(body); err != nil || !bytes.Equal(enc, got.Response.Body()) {
			t.Errorf("%s: body differs from hjson.Marshal (%v)", name, err)
		}
	}
	// A body that cannot be encoded fails as c.JSON fails it: a panic, which the
	// recovery middleware answers.
	for _, write := range []func(*app.RequestContext){
		func(c *app.RequestContext) { c.JSON(consts.StatusOK, map[string]any{"f": func() {}}) },
		func(c *app.RequestContext) { writeJSON(c, map[string]any{"f": func() {}}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("an unencodable body did not panic")
				}
			}()
			write(app.NewContext(0))
		}()
	}
}
