package gateway

// Message routes: chat, served by the message role.

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

func (g *Gateway) messageAction(ctx context.Context, c *app.RequestContext) {
	g.notYet()(ctx, c)
}

func (g *Gateway) messageChat(ctx context.Context, c *app.RequestContext) {
	g.notYet("message_list")(ctx, c)
}
