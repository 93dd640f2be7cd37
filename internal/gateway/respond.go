package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/bytedance/sonic/encoder"
	"github.com/bytedance/sonic/utf8"
	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// internalMsg is all a client learns of an unexpected failure.
const internalMsg = "something went wrong on our side; please try again"

// unavailableMsg answers calls to a role that cannot be reached or did not answer
// in time.
const unavailableMsg = "the service is temporarily unavailable; please try again shortly"

// unavailable reports whether err means a peer role could not be reached (or its
// circuit breaker is open, failing calls at once), as opposed to a fault in the
// request or in our code.
func unavailable(err error) bool {
	return errors.Is(err, kerrors.ErrRemoteOrNetwork) || errors.Is(err, kerrors.ErrGetConnection) ||
		errors.Is(err, kerrors.ErrRPCTimeout) || errors.Is(err, kerrors.ErrNoMoreInstance) ||
		errors.Is(err, kerrors.ErrServiceDiscovery) || errors.Is(err, kerrors.ErrCircuitBreak) ||
		errors.Is(err, context.DeadlineExceeded)
}

// ok writes a success answer: body's fields next to status_code 0.
func ok(c *app.RequestContext, body map[string]any) {
	body["status_code"] = 0
	body["status_msg"] = ""
	obs.SetOutcome(c, 0)
	writeJSON(c, body)
}

// status is the pair of fields every answer carries. Typed answers embed it; a
// struct encodes several times faster than a map[string]any of the same keys,
// and without the map's allocations.
type status struct {
	StatusCode int32  `json:"status_code"`
	StatusMsg  string `json:"status_msg"`
}

// okTyped writes a success answer whose body is a struct embedding a zero status.
func okTyped(c *app.RequestContext, body any) {
	obs.SetOutcome(c, 0)
	writeJSON(c, body)
}

// Answers are encoded as Hertz's c.JSON encodes them (sonic.ConfigStd: map keys
// sorted, HTML characters escaped, invalid UTF-8 replaced), but without its two
// copies of every answer: c.JSON encodes into a buffer that the escaping pass
// copies into a new one, and then copies that into the response. On a page of
// comments those copies were 40% of all the bytes a request allocated. Here the
// encoder writes into a pooled scratch buffer and the escaping pass into the
// response's own pooled body buffer.
const jsonEncodeOptions = encoder.SortMapKeys | encoder.CompactMarshaler | encoder.NoEncoderNewline

// jsonScratchMax bounds the scratch buffers kept for reuse.
const jsonScratchMax = 1 << 20

var jsonScratch = sync.Pool{New: func() any { return new([]byte) }}

// writeJSON writes body as an HTTP 200 JSON answer.
func writeJSON(c *app.RequestContext, body any) {
	if c.Response.GetHijackWriter() != nil {
		c.JSON(consts.StatusOK, body)
		return
	}
	raw := jsonScratch.Get().(*[]byte)
	defer func() {
		if cap(*raw) <= jsonScratchMax {
			jsonScratch.Put(raw)
		}
	}()
	*raw = (*raw)[:0]
	if err := encoder.EncodeInto(raw, body, jsonEncodeOptions); err != nil {
		c.JSON(consts.StatusOK, body) // fails as Hertz fails it
		return
	}
	c.Response.ResetBody()
	buf := c.Response.BodyBuffer()
	buf.B = encoder.HTMLEscape(buf.B[:0], *raw)
	if !utf8.Validate(buf.B) {
		buf.B = utf8.CorrectWith(nil, buf.B, `\ufffd`)
	}
	c.Response.SetStatusCode(consts.StatusOK)
	c.Response.Header.SetContentType(jsonContentType)
}

// jsonContentType is what c.JSON declares, for answers written as bytes.
const jsonContentType = "application/json; charset=utf-8"

// okEncoded writes a success answer encoded already. body is shared with other
// answers and must not change.
func okEncoded(c *app.RequestContext, body []byte) {
	obs.SetOutcome(c, 0)
	c.Response.SetStatusCode(consts.StatusOK)
	c.Response.Header.SetContentType(jsonContentType)
	c.Response.SetBodyRaw(body)
}

// okAppended writes a success answer that write appends, encoded, to the
// response's body buffer.
func okAppended(c *app.RequestContext, write func(dst []byte) []byte) {
	obs.SetOutcome(c, 0)
	c.Response.ResetBody()
	buf := c.Response.BodyBuffer()
	buf.B = write(buf.B[:0])
	c.Response.SetStatusCode(consts.StatusOK)
	c.Response.Header.SetContentType(jsonContentType)
}

// fail writes an error answer with HTTP 200, as the app expects. body holds the
// route's other keys with their empty values (the app reads them even on failure).
// Business errors carry their code and message; anything else is logged here, once,
// and answered with a generic message.
func (g *Gateway) fail(ctx context.Context, c *app.RequestContext, err error, body map[string]any) {
	if body == nil {
		body = map[string]any{}
	}
	e, isBiz := errs.From(err)
	switch {
	case isBiz:
	case unavailable(err):
		g.log.WarnContext(ctx, "service unavailable", "route", c.FullPath(), "request_id", obs.RequestIDFrom(ctx), "err", err)
		e = errs.New(base.ErrCode_Unavailable, unavailableMsg)
	default:
		g.log.ErrorContext(ctx, "request failed", "route", c.FullPath(), "request_id", obs.RequestIDFrom(ctx), "err", err)
		e = errs.New(base.ErrCode_Internal, internalMsg)
	}
	body["status_code"] = int32(e.Code)
	body["status_msg"] = e.Msg
	obs.SetOutcome(c, int32(e.Code))
	writeJSON(c, body)
}
