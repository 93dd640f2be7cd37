package gateway

// The operations API behind the admin console (api.md C): JSON in and out with
// ordinary HTTP status codes, the admin token in an Authorization header, served
// by the comment-admin role; and the console's files under /admin/.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io/fs"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// adminName is the console's one account.
const adminName = "admin"

// adminSubject is the subject of admin tokens; the audience keeps them apart from
// app tokens, whose subjects are user ids.
const adminSubject = 1

func (g *Gateway) adminRoutes() {
	api := "/admin/api"
	// Bodies are small JSON (login) or empty; the read and write classes bound
	// the rest per client as on the app's routes.
	body := g.adminBody(16 << 10)
	read, write := g.adminLimited("read"), g.adminLimited("write")
	g.h.POST(api+"/login", body, g.adminLogin)
	g.h.GET(api+"/comments", read, body, g.adminAuth, g.adminSearch)
	g.h.GET(api+"/comments/:id", read, body, g.adminAuth, g.adminDetail)
	g.h.POST(api+"/comments/:id/:action", write, body, g.adminAuth, g.adminReview)
	g.h.GET(api+"/audit", read, body, g.adminAuth, g.adminAudit)
	g.h.GET("/admin", func(ctx context.Context, c *app.RequestContext) {
		c.Redirect(consts.StatusMovedPermanently, []byte("/admin/"))
	})
	g.h.GET("/admin/*file", g.adminFile)
}

// adminLimited applies a route class's limit per client address, answering 429.
func (g *Gateway) adminLimited(class string) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		if !g.allow(ctx, c, class, ratelimit.ClientKey(g.clientIP(c))) {
			adminError(c, consts.StatusTooManyRequests, "too many requests; please slow down")
			c.Abort()
		}
	}
}

// isAdminAPI reports whether the request is for the operations API, which
// answers in its own format (api.md C) even on routes it does not have.
func isAdminAPI(c *app.RequestContext) bool {
	p := string(c.Request.URI().Path())
	return p == "/admin/api" || strings.HasPrefix(p, "/admin/api/")
}

// adminError writes {"error": msg} with an HTTP status.
func adminError(c *app.RequestContext, status int, msg string) {
	obs.SetOutcome(c, int32(status))
	c.JSON(status, map[string]any{"error": msg})
}

// adminFail turns a service error into an HTTP status and message. Unexpected
// failures are logged here and answered with a generic message.
func (g *Gateway) adminFail(ctx context.Context, c *app.RequestContext, err error) {
	e, isBiz := errs.From(err)
	switch {
	case !isBiz && unavailable(err):
		g.log.WarnContext(ctx, "service unavailable", "route", c.FullPath(), "request_id", obs.RequestIDFrom(ctx), "err", err)
		adminError(c, consts.StatusServiceUnavailable, unavailableMsg)
	case !isBiz:
		g.log.ErrorContext(ctx, "admin request failed", "route", c.FullPath(), "request_id", obs.RequestIDFrom(ctx), "err", err)
		adminError(c, consts.StatusInternalServerError, internalMsg)
	case e.Code == base.ErrCode_InvalidArgument:
		adminError(c, consts.StatusBadRequest, e.Msg)
	case e.Code == base.ErrCode_CommentNotFound || e.Code == base.ErrCode_NotFound:
		adminError(c, consts.StatusNotFound, e.Msg)
	case e.Code == base.ErrCode_Conflict:
		adminError(c, consts.StatusConflict, e.Msg)
	case e.Code == base.ErrCode_Unavailable:
		adminError(c, consts.StatusServiceUnavailable, e.Msg)
	case e.Code == base.ErrCode_NotImplemented:
		adminError(c, consts.StatusNotImplemented, e.Msg)
	default:
		adminError(c, consts.StatusBadRequest, e.Msg)
	}
}

// adminLogin checks the admin password and issues an admin token. Attempts are
// rate limited per client address; without a configured password the API stays
// closed.
func (g *Gateway) adminLogin(ctx context.Context, c *app.RequestContext) {
	if g.cfg.Admin.Password == "" || g.adminTokens == nil {
		adminError(c, consts.StatusServiceUnavailable, "the admin console is closed: no admin password is configured (MDOUYIN_ADMIN_PASSWORD)")
		return
	}
	if !g.allow(ctx, c, "admin", ratelimit.ClientKey(g.clientIP(c))) {
		adminError(c, consts.StatusTooManyRequests, "too many login attempts; please wait a moment")
		return
	}
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	raw, err := c.Body()
	if err != nil || len(raw) > 4096 || json.Unmarshal(raw, &body) != nil {
		adminError(c, consts.StatusBadRequest, `send JSON {"username", "password"}`)
		return
	}
	// Compare digests in constant time, so neither the length nor the content of
	// the password leaks through timing.
	want := sha256.Sum256([]byte(g.cfg.Admin.Password))
	got := sha256.Sum256([]byte(body.Password))
	if body.Username != adminName || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		g.log.WarnContext(ctx, "admin login refused", "client", g.clientIP(c))
		adminError(c, consts.StatusUnauthorized, "wrong username or password")
		return
	}
	t, err := g.adminTokens.Issue(adminSubject)
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	g.log.InfoContext(ctx, "admin logged in", "client", g.clientIP(c))
	c.JSON(consts.StatusOK, map[string]any{"token": t, "expires_at": time.Now().Add(g.adminTokens.TTL()).UnixMilli()})
}

// adminAuth lets a request through only with a valid admin token.
func (g *Gateway) adminAuth(ctx context.Context, c *app.RequestContext) {
	h := string(c.GetHeader("Authorization"))
	t, found := strings.CutPrefix(h, "Bearer ")
	if !found || g.adminTokens == nil {
		adminError(c, consts.StatusUnauthorized, "log in first: send Authorization: Bearer <admin token>")
		c.Abort()
		return
	}
	if _, err := g.adminTokens.Verify(strings.TrimSpace(t)); err != nil {
		adminError(c, consts.StatusUnauthorized, "the admin token is not valid or has expired; log in again")
		c.Abort()
	}
}

// adminItem is one comment in the operations API.
func adminItem(x *comment.Comment) map[string]any {
	return map[string]any{
		"id": x.GetId(), "video_id": x.GetVideoId(), "user_id": x.GetUserId(), "user_name": x.GetUserName(),
		"content": x.GetContent(), "state": stateName(x.GetState()), "root_id": x.GetRootId(), "parent_id": x.GetParentId(),
		"floor": x.GetFloor(), "like_count": x.GetLikeCount(), "reply_count": x.GetReplyCount(), "create_time": x.GetCreateTime(),
	}
}

var adminStates = map[string]comment.CommentState{
	"visible": comment.CommentState_Visible, "pending": comment.CommentState_Pending,
	"rejected": comment.CommentState_Rejected, "deleted": comment.CommentState_Deleted,
}

// adminSearch searches comments by combined filters, newest first.
func (g *Gateway) adminSearch(ctx context.Context, c *app.RequestContext) {
	q := func(k string) string { return string(c.QueryArgs().Peek(k)) }
	req := &comment.SearchRequest{Q: q("q")}
	if len(req.Q) > 500 {
		adminError(c, consts.StatusBadRequest, "q is longer than 500 bytes")
		return
	}
	var err error
	num := func(name string, dst *int64) {
		if err != nil || q(name) == "" {
			return
		}
		n, perr := strconv.ParseInt(strings.TrimSpace(q(name)), 10, 64)
		if perr != nil || n < 0 {
			err = errs.InvalidArgument("%s must be a non-negative integer", name)
			return
		}
		*dst = n
	}
	var offset, limit int64
	num("video_id", &req.VideoId)
	num("user_id", &req.UserId)
	num("root_id", &req.RootId)
	num("from", &req.FromTime)
	num("to", &req.ToTime)
	num("offset", &offset)
	num("limit", &limit)
	if err == nil && (offset > 1<<30 || limit > 1<<30) {
		err = errs.InvalidArgument("offset or limit out of range")
	}
	if err == nil && q("limit") != "" && (limit < 1 || limit > 100) {
		err = errs.InvalidArgument("limit must be 1 to 100")
	}
	if s := q("state"); err == nil && s != "" {
		st, ok := adminStates[s]
		if !ok {
			err = errs.InvalidArgument("state must be visible, pending, rejected or deleted")
		}
		req.State = st
	}
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	req.Offset, req.Limit = int32(offset), int32(limit)
	r, err := g.svc.CommentAdmin.Search(ctx, req)
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	items := make([]map[string]any, 0, len(r.GetItems()))
	for _, x := range r.GetItems() {
		items = append(items, adminItem(x))
	}
	c.JSON(consts.StatusOK, map[string]any{"total": r.GetTotal(), "items": items})
}

func adminID(c *app.RequestContext) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 || id >= 1<<53 {
		return 0, errs.InvalidArgument("the comment id is not valid")
	}
	return id, nil
}

// adminDetail shows one comment with its thread and video.
func (g *Gateway) adminDetail(ctx context.Context, c *app.RequestContext) {
	id, err := adminID(c)
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	d, err := g.svc.CommentAdmin.Detail(ctx, &comment.DetailRequest{CommentId: id})
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	thread := make([]map[string]any, 0, len(d.GetThread()))
	for _, x := range d.GetThread() {
		thread = append(thread, adminItem(x))
	}
	var vid any // null when the video is gone
	vr, err := g.svc.Video.GetVideos(ctx, &video.GetVideosRequest{VideoIds: []int64{d.GetComment().GetVideoId()}})
	if err != nil && errs.CodeOf(err) != base.ErrCode_VideoNotFound {
		g.adminFail(ctx, c, err)
		return
	}
	if v := vr.GetVideos()[d.GetComment().GetVideoId()]; v != nil {
		root := g.baseURL(c)
		vid = map[string]any{"id": v.GetId(), "title": v.GetTitle(), "author_id": v.GetAuthorId(),
			"play_url": g.mediaURL(root, v.GetPlayKey(), ""), "cover_url": g.mediaURL(root, v.GetCoverKey(), "")}
	}
	c.JSON(consts.StatusOK, map[string]any{"comment": adminItem(d.GetComment()), "thread": thread, "video": vid})
}

var reviewActions = map[string]comment.ReviewAction{
	"approve": comment.ReviewAction_Approve, "reject": comment.ReviewAction_Reject,
	"delete": comment.ReviewAction_Delete, "restore": comment.ReviewAction_Restore,
}

// adminReview approves, rejects, deletes or restores a comment.
func (g *Gateway) adminReview(ctx context.Context, c *app.RequestContext) {
	action, ok := reviewActions[c.Param("action")]
	if !ok {
		adminError(c, consts.StatusNotFound, "no such action: use approve, reject, delete or restore")
		return
	}
	id, err := adminID(c)
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	r, err := g.svc.CommentAdmin.Review(ctx, &comment.ReviewRequest{Admin: adminName, CommentId: id, Action: action})
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	g.cache.comments.dropComment(id, 0)
	c.JSON(consts.StatusOK, map[string]any{"id": id, "old_state": stateName(r.GetFromState()), "new_state": stateName(r.GetToState())})
}

// adminAudit lists the newest review actions.
func (g *Gateway) adminAudit(ctx context.Context, c *app.RequestContext) {
	limit := int64(50)
	if s := string(c.QueryArgs().Peek("limit")); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 1 || n > 500 {
			adminError(c, consts.StatusBadRequest, "limit must be 1 to 500")
			return
		}
		limit = n
	}
	r, err := g.svc.CommentAdmin.Audit(ctx, &comment.AuditRequest{Limit: int32(limit)})
	if err != nil {
		g.adminFail(ctx, c, err)
		return
	}
	items := make([]map[string]any, 0, len(r.GetItems()))
	for _, e := range r.GetItems() {
		items = append(items, map[string]any{"at": e.GetAt(), "admin": e.GetAdmin(), "action": strings.ToLower(e.GetAction().String()),
			"comment_id": e.GetCommentId(), "old_state": stateName(e.GetFromState()), "new_state": stateName(e.GetToState())})
	}
	c.JSON(consts.StatusOK, map[string]any{"items": items})
}

// adminFile serves the console's files: the page at /admin/, its assets beside it.
// They are embedded in the binary and change only with it, so they are served
// with a short cache lifetime and the binary's start as their modification time.
func (g *Gateway) adminFile(ctx context.Context, c *app.RequestContext) {
	if isAdminAPI(c) {
		adminError(c, consts.StatusNotFound, "no such route")
		return
	}
	if g.console == nil {
		c.String(consts.StatusNotFound, "the admin console is not built into this binary")
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Param("file")), "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(g.console, name)
	if err != nil {
		c.String(consts.StatusNotFound, "not found")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Response.Header.Set("Cache-Control", "no-cache")
	c.Response.Header.Set("X-Content-Type-Options", "nosniff")
	c.Response.Header.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	c.Data(consts.StatusOK, ct, b)
}
