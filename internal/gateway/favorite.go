package gateway

// Favorite routes: likes and the favorite list, served by the favorite role.

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

func (g *Gateway) favoriteAction(ctx context.Context, c *app.RequestContext) {
	g.notYet()(ctx, c)
}

func (g *Gateway) favoriteList(ctx context.Context, c *app.RequestContext) {
	g.notYet("video_list")(ctx, c)
}
