package gateway

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// routes lists the whole HTTP API. Every app route is served with and without its
// trailing slash (api.md A.1).
func (g *Gateway) routes(metrics *prometheus.Registry) {
	get, post := consts.MethodGet, consts.MethodPost
	body := g.bufferBody(g.cfg.HTTP.MaxBodyBytes)
	both := func(method, path string, h app.HandlerFunc) {
		chain := []app.HandlerFunc{body, h}
		switch path {
		case "/douyin/user/register/", "/douyin/user/login/":
			// These have their own, tighter classes (users.go).
		default:
			class := "read"
			if method == post {
				class = "write"
			}
			chain = []app.HandlerFunc{g.limited(class), body, h}
		}
		g.h.Handle(method, path, chain...)
		g.h.Handle(method, path[:len(path)-1], chain...)
	}

	// A. The app's API.
	both(get, "/douyin/feed/", g.feed)
	both(post, "/douyin/user/register/", g.register)
	both(post, "/douyin/user/login/", g.login)
	both(get, "/douyin/user/", g.userInfo)
	// Publish streams its multipart body under the upload limit itself (video.go).
	g.h.Handle(post, "/douyin/publish/action/", g.limited("write"), g.publishAction)
	g.h.Handle(post, "/douyin/publish/action", g.limited("write"), g.publishAction)
	both(get, "/douyin/publish/list/", g.publishList)
	both(post, "/douyin/favorite/action/", g.favoriteAction)
	both(get, "/douyin/favorite/list/", g.favoriteList)
	both(post, "/douyin/comment/action/", g.commentAction)
	both(get, "/douyin/comment/list/", g.commentList)
	both(post, "/douyin/relation/action/", g.relationAction)
	both(get, "/douyin/relation/follow/list/", g.followList)
	both(get, "/douyin/relation/follower/list/", g.followerList)
	both(get, "/douyin/relation/friend/list/", g.friendList)
	both(post, "/douyin/message/action/", g.messageAction)
	both(get, "/douyin/message/chat/", g.messageChat)

	// B. Comment platform extensions.
	both(post, "/douyin/comment/like/", g.commentLike)
	both(post, "/douyin/comment/pin/", g.commentPin)

	// Generated default avatars and backgrounds.
	g.h.GET("/static/avatar/:file", g.avatar)
	g.h.GET("/static/background/:file", g.background)
	g.mediaRoutes() // GET and HEAD /media/*key (media.go)

	// C. The operations API and the console (admin.go).
	g.adminRoutes()

	g.opsRoutes(metrics)
}

// opsRoutes are the operator endpoints (api.md D) that every process serves.
func (g *Gateway) opsRoutes(metrics *prometheus.Registry) {
	g.h.GET("/healthz", g.healthz)
	g.h.GET("/readyz", g.readyz)
	g.h.GET("/metrics", obs.MetricsHandler(metrics))

	g.h.NoRoute(func(ctx context.Context, c *app.RequestContext) {
		if isAdminAPI(c) {
			adminError(c, consts.StatusNotFound, "no such route")
			return
		}
		c.JSON(consts.StatusNotFound, map[string]any{"status_code": int32(base.ErrCode_NotFound), "status_msg": "no such route"})
	})
	g.h.NoMethod(func(ctx context.Context, c *app.RequestContext) {
		if isAdminAPI(c) {
			adminError(c, consts.StatusMethodNotAllowed, "method not allowed on this route")
			return
		}
		c.JSON(consts.StatusMethodNotAllowed, map[string]any{"status_code": int32(base.ErrCode_InvalidArgument), "status_msg": "method not allowed on this route"})
	})
}

func (g *Gateway) healthz(ctx context.Context, c *app.RequestContext) {
	c.JSON(consts.StatusOK, map[string]any{"status": "ok"})
}

func (g *Gateway) readyz(ctx context.Context, c *app.RequestContext) {
	if g.ready != nil {
		if err := g.ready(ctx); err != nil {
			g.log.WarnContext(ctx, "not ready", "err", err)
			c.JSON(consts.StatusServiceUnavailable, map[string]any{"status": "unavailable"})
			return
		}
	}
	c.JSON(consts.StatusOK, map[string]any{"status": "ready"})
}
