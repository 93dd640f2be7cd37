package gateway

// Message routes: chat, served by the message role.

import (
	"context"
	"strconv"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
)

// ChatMessage is the app's Message object (api.md A.2): exactly these five keys,
// create_time in epoch milliseconds, which the app echoes back as pre_msg_time.
type ChatMessage struct {
	ID         int64  `json:"id"`
	ToUserID   int64  `json:"to_user_id"`
	FromUserID int64  `json:"from_user_id"`
	Content    string `json:"content"`
	CreateTime int64  `json:"create_time"`
}

// messageAction sends a message: action_type 1 is the only action.
func (g *Gateway) messageAction(ctx context.Context, c *app.RequestContext) {
	me, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	to, err := parseID("to_user_id", param(c, "to_user_id"))
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	switch a := strings.TrimSpace(param(c, "action_type")); a {
	case "1":
	case "":
		g.fail(ctx, c, errs.InvalidArgument("action_type is required (1: send a message)"), nil)
		return
	default:
		g.fail(ctx, c, errs.InvalidArgument("action_type must be 1 (send a message)"), nil)
		return
	}
	if _, err := g.svc.Message.Send(ctx, &message.SendRequest{FromUserId: me, ToUserId: to, Content: param(c, "content")}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	ok(c, map[string]any{})
}

// messageChat answers one page of the caller's conversation with to_user_id,
// oldest first. Without pre_msg_time it is the newest page of both directions,
// and next_cursor pages towards older messages; with pre_msg_time only the
// messages to_user_id sent after it, and next_cursor pages towards newer ones
// (see package messagesvc).
func (g *Gateway) messageChat(ctx context.Context, c *app.RequestContext) {
	fail := map[string]any{"message_list": []ChatMessage{}}
	me, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	// The route has no user_id; a client that sends one may only name itself
	// (api.md A.1: chat is the caller's own).
	if id, err := parseOptionalID("user_id", param(c, "user_id")); err != nil {
		g.fail(ctx, c, err, fail)
		return
	} else if id != 0 && id != me {
		g.fail(ctx, c, errs.New(base.ErrCode_PermissionDenied, "you can only read your own chats"), fail)
		return
	}
	peer, err := parseID("to_user_id", param(c, "to_user_id"))
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	since, err := parsePreMsgTime(param(c, "pre_msg_time"))
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	page, err := pageParams(c, 1000, 1000)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	resp, err := g.svc.Message.Chat(ctx, &message.ChatRequest{UserId: me, PeerId: peer, PreMsgTime: since, Page: page})
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	list := make([]ChatMessage, len(resp.GetMessages()))
	for i, m := range resp.GetMessages() {
		list[i] = ChatMessage{ID: m.Id, ToUserID: m.ToUserId, FromUserID: m.FromUserId, Content: m.Content, CreateTime: m.CreateTime}
	}
	ok(c, pageBody(map[string]any{"message_list": list}, resp.GetPage()))
}

// parsePreMsgTime reads pre_msg_time as epoch milliseconds: absent or 0 means
// none, values below 10^11 are taken as seconds (api.md A.3, the same rule as the
// feed's latest_time).
func parsePreMsgTime(s string) (int64, error) {
	// 10^11 ms is March 1973 and 10^11 s the year 5138, so no real time is
	// ambiguous.
	const secondsBelow = 100_000_000_000
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil || t < 0 {
		return 0, errs.InvalidArgument("pre_msg_time must be a time in milliseconds (or 0)")
	}
	if t < secondsBelow {
		t *= 1000
	}
	return t, nil
}
