package gateway

import (
	"context"
	"io"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"

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
	return g.limitBody(limit, func(ctx context.Context, c *app.RequestContext, err error) { g.fail(ctx, c, err, nil) })
}

// adminBody is bufferBody for the operations API, which answers with HTTP
// statuses: 413 for a body over limit.
func (g *Gateway) adminBody(limit int64) app.HandlerFunc {
	return g.limitBody(limit, func(ctx context.Context, c *app.RequestContext, err error) {
		status := consts.StatusBadRequest
		if errs.CodeOf(err) == base.ErrCode_TooLarge {
			status = consts.StatusRequestEntityTooLarge
		}
		e, _ := errs.From(err)
		adminError(c, status, e.Msg)
	})
}

// limitBody reads the body under limit and answers a refusal with refuse.
func (g *Gateway) limitBody(limit int64, refuse func(ctx context.Context, c *app.RequestContext, err error)) app.HandlerFunc {
	tooLarge := errs.Newf(base.ErrCode_TooLarge, "the request body is larger than %d bytes", limit)
	stop := func(ctx context.Context, c *app.RequestContext, err error) {
		refuse(ctx, c, err)
		closeUnread(c, limit)
		c.Abort()
	}
	return func(ctx context.Context, c *app.RequestContext) {
		if cl := int64(c.Request.Header.ContentLength()); cl > limit {
			stop(ctx, c, tooLarge)
			return
		}
		if !c.Request.IsBodyStream() {
			return
		}
		buf, err := io.ReadAll(io.LimitReader(c.Request.BodyStream(), limit+1))
		if err != nil {
			stop(ctx, c, errs.InvalidArgument("the request body could not be read"))
			return
		}
		if int64(len(buf)) > limit {
			stop(ctx, c, tooLarge)
			return
		}
		c.Request.SetBody(buf)
	}
}

// refuseBody answers an app route whose body is over limit and closes the
// connection, whose unread rest cannot carry another request.
func (g *Gateway) refuseBody(ctx context.Context, c *app.RequestContext, limit int64) {
	g.fail(ctx, c, errs.Newf(base.ErrCode_TooLarge, "the request body is larger than %d bytes", limit), nil)
	closeUnread(c, limit)
	c.Abort()
}

// closeUnread ends the connection after the answer to a request whose body was
// not read to the end (the connection cannot carry another request), on a
// route whose bodies may be limit bytes.
//
// Once the answer is written, Hertz reads the rest of the body and throws it
// away before closing, up to the read timeout. That is what lets a client that
// reads its answer only after sending everything (most HTTP clients) get it:
// closing with its data unread resets the connection under it. So a body
// declared at most twice the limit is left to that, which costs no more than
// a request the route accepts. A longer one (a 10 GB claim), or a chunked one
// past the limit, is not read by Hertz: the stopReading deadline makes that
// read fail at once, the answer is written all the same, and the connection
// closes with a lingering close (drainConn), which lets a client still
// sending its body read the answer, within bounds of time and bytes.
func closeUnread(c *app.RequestContext, limit int64) {
	c.SetConnectionClose()
	if cl := int64(c.Request.Header.ContentLength()); cl >= 0 && cl <= 2*limit {
		return
	}
	if conn := c.GetConn(); conn != nil {
		conn.SetReadDeadline(stopReading)
	}
}

// finishBody reads what the handler left of a streamed request body, so that
// the connection can carry the next request. Hertz skips an unread rest by
// itself, but not a chunked one with a chunk larger than its read buffer (4 KiB
// on the standard transport): the skip fails and the connection closes with
// the client's data unread, which resets it under a client still sending or
// not yet reading its answer (a GET, a wrong method or an unknown route with
// such a body). A rest over limit bytes is not read here: the connection then
// closes after the answer, as for a refused body (closeUnread).
func finishBody(limit int64) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		c.Next(ctx)
		if !c.Request.IsBodyStream() || c.Response.ConnectionClose() {
			return
		}
		if _, err := io.CopyN(io.Discard, c.Request.BodyStream(), limit+1); err != io.EOF {
			closeUnread(c, limit)
		}
	}
}
