package gateway

// Video routes: publish, publish list and feed, served by the video role.

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

func (g *Gateway) feed(ctx context.Context, c *app.RequestContext) {
	g.notYet("video_list", "next_time")(ctx, c)
}

func (g *Gateway) publishAction(ctx context.Context, c *app.RequestContext) {
	g.notYet()(ctx, c)
}

func (g *Gateway) publishList(ctx context.Context, c *app.RequestContext) {
	g.notYet("video_list")(ctx, c)
}
