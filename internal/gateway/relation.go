package gateway

// Relation routes: follow, follow/follower/friend lists, served by the relation role.

import (
	"context"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// userListPage is the default and largest page of the user lists: 1,000 users
// (api.md A.1).
const userListPage = 1000

// FriendUser is the app's FriendUser (api.md A.2): a User with the latest message
// between the requester and this friend, and who sent it.
type FriendUser struct {
	User
	Message string `json:"message"`
	MsgType int64  `json:"msg_type"` // 0: the requester received it; 1: the requester sent it
}

// userListFailure is what a failed user list answers: an empty list and no
// further page, since the app reads the keys on failure too.
func userListFailure() map[string]any {
	return map[string]any{"user_list": []any{}, "has_more": false, "next_cursor": ""}
}

// relationAction follows (action_type 1) or unfollows (2) to_user_id for the
// token's user. Both are idempotent, so the app's double taps and retries are
// harmless.
func (g *Gateway) relationAction(ctx context.Context, c *app.RequestContext) {
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
	var follow bool
	switch strings.TrimSpace(param(c, "action_type")) {
	case "1":
		follow = true
	case "2":
		follow = false
	case "":
		g.fail(ctx, c, errs.InvalidArgument("action_type is required (1: follow, 2: unfollow)"), nil)
		return
	default:
		g.fail(ctx, c, errs.InvalidArgument("action_type must be 1 (follow) or 2 (unfollow)"), nil)
		return
	}
	if _, err := g.svc.Relation.Follow(ctx, &relation.FollowRequest{UserId: me, ToUserId: to, Follow: follow}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	ok(c, map[string]any{})
}

// followList lists whom user_id follows, newest follow first.
func (g *Gateway) followList(ctx context.Context, c *app.RequestContext) {
	g.relationList(ctx, c, g.svc.Relation.ListFollowing)
}

// followerList lists who follows user_id, newest first.
func (g *Gateway) followerList(ctx context.Context, c *app.RequestContext) {
	g.relationList(ctx, c, g.svc.Relation.ListFollowers)
}

// relationList answers a follow or follower list as full User objects seen by the
// token's user, in list order. Any user's lists are readable with a valid token
// (api.md A.1); user_id absent or 0 is the token's own user.
func (g *Gateway) relationList(ctx context.Context, c *app.RequestContext,
	list func(context.Context, *relation.ListRequest) (*relation.ListResponse, error)) {
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	owner, err := parseOptionalID("user_id", param(c, "user_id"))
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	if owner == 0 {
		owner = viewer
	}
	page, err := pageParams(c, userListPage, userListPage)
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	resp, err := list(ctx, &relation.ListRequest{UserId: owner, Page: page})
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	ids := resp.GetUserIds()
	if len(ids) == 0 && owner != viewer {
		// Edges are written only between existing users, who are never deleted, so
		// only an empty list can belong to an unknown id; ask only then, which keeps
		// every answer to one call to the user role.
		if err := g.checkListOwner(ctx, owner); err != nil {
			g.fail(ctx, c, err, userListFailure())
			return
		}
	}
	users, err := g.listedUsers(ctx, c, viewer, ids)
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	ok(c, pageBody(map[string]any{"user_list": users}, resp.GetPage()))
}

// friendList lists the caller's friends (mutual follows) as FriendUsers, each with
// the latest message between the caller and the friend. The list is the caller's
// own only (api.md A.1): user_id absent or 0 is the caller, another id is refused.
func (g *Gateway) friendList(ctx context.Context, c *app.RequestContext) {
	me, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	if id, err := parseOptionalID("user_id", param(c, "user_id")); err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	} else if id != 0 && id != me {
		g.fail(ctx, c, errs.New(base.ErrCode_PermissionDenied, "you can only see your own friends"), userListFailure())
		return
	}
	page, err := pageParams(c, userListPage, userListPage)
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	resp, err := g.svc.Relation.ListFriends(ctx, &relation.ListRequest{UserId: me, Page: page})
	if err != nil {
		g.fail(ctx, c, err, userListFailure())
		return
	}
	ids := resp.GetUserIds()
	friends := make([]FriendUser, 0, len(ids))
	if len(ids) > 0 {
		var (
			users  []*User
			latest map[int64]*message.Message
		)
		eg, ectx := errgroup.WithContext(ctx)
		eg.Go(func() error {
			var err error
			users, err = g.listedUsers(ectx, c, me, ids)
			return err
		})
		eg.Go(func() error {
			var err error
			latest, err = g.friendMessages(ectx, me, ids)
			return err
		})
		if err := eg.Wait(); err != nil {
			g.fail(ctx, c, err, userListFailure())
			return
		}
		for _, u := range users {
			f := FriendUser{User: *u}
			if m := latest[u.ID]; m != nil {
				f.Message = m.GetContent()
				if m.GetFromUserId() == me {
					f.MsgType = 1
				}
			}
			friends = append(friends, f)
		}
	}
	ok(c, pageBody(map[string]any{"user_list": friends}, resp.GetPage()))
}

// friendMessages returns the newest message between me and each peer, in one call
// to the message role. A message role that is not available yet
// (NotImplemented) or down means no messages are shown; a business error fails
// the list.
func (g *Gateway) friendMessages(ctx context.Context, me int64, peers []int64) (map[int64]*message.Message, error) {
	resp, err := g.svc.Message.Latest(ctx, &message.LatestRequest{UserId: me, PeerIds: peers})
	if errs.CodeOf(err) == base.ErrCode_NotImplemented {
		return nil, nil
	}
	if err != nil {
		// A friend list without the newest messages beats no friend list.
		return nil, g.optional(ctx, depMessage, err)
	}
	return resp.GetMessages(), nil
}

// listedUsers assembles the User objects of ids in their order, leaving out ids
// without an account; it always returns a list, never nil.
func (g *Gateway) listedUsers(ctx context.Context, c *app.RequestContext, viewer int64, ids []int64) ([]*User, error) {
	out := make([]*User, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	users, err := g.users(ctx, c, viewer, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if u := users[id]; u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// checkListOwner answers UserNotFound unless id has an account.
func (g *Gateway) checkListOwner(ctx context.Context, id int64) error {
	r, err := g.svc.User.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{id}})
	if err != nil {
		// Without the user role the list is answered as it stands: for an id
		// without an account it is empty, which is what UserNotFound would say.
		return g.optional(ctx, depUser, err)
	}
	if r.GetProfiles()[id] == nil {
		return errs.New(base.ErrCode_UserNotFound, "user not found")
	}
	return nil
}
