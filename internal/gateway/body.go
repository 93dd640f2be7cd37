package gateway

import (
	"context"
	"io"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// The server streams request bodies (so an upload never sits whole in memory) and
// each route bounds its own body: bufferBody for ordinary routes, a larger streaming
// limit for uploads.

// bufferBody reads a route's body into memory, refusing one over limit bytes,
// whether it declares its length or arrives chunked. Parameters can then be read
// from it as usual.
func (g *Gateway) bufferBody(limit int64) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		if cl := int64(c.Request.Header.ContentLength()); cl > limit {
			g.refuseBody(ctx, c, limit)
			return
		}
		if !c.Request.IsBodyStream() {
			return
		}
		buf, err := io.ReadAll(io.LimitReader(c.Request.BodyStream(), limit+1))
		if err != nil {
			g.fail(ctx, c, errs.InvalidArgument("the request body could not be read"), nil)
			c.SetConnectionClose()
			c.Abort()
			return
		}
		if int64(len(buf)) > limit {
			g.refuseBody(ctx, c, limit)
			return
		}
		c.Request.SetBody(buf)
	}
}

func (g *Gateway) refuseBody(ctx context.Context, c *app.RequestContext, limit int64) {
	g.fail(ctx, c, errs.Newf(base.ErrCode_TooLarge, "the request body is larger than %d bytes", limit), nil)
	// The rest of the body is not read; the connection cannot carry another request.
	c.SetConnectionClose()
	c.Abort()
}
