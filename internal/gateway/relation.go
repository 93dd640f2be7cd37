package gateway

// Relation routes: follow, follow/follower/friend lists, served by the relation role.

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

func (g *Gateway) relationAction(ctx context.Context, c *app.RequestContext) {
	g.notYet()(ctx, c)
}

func (g *Gateway) followList(ctx context.Context, c *app.RequestContext) {
	g.notYet("user_list")(ctx, c)
}

func (g *Gateway) followerList(ctx context.Context, c *app.RequestContext) {
	g.notYet("user_list")(ctx, c)
}

func (g *Gateway) friendList(ctx context.Context, c *app.RequestContext) {
	g.notYet("user_list")(ctx, c)
}
