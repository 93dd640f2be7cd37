package gateway

// Favorite routes: likes and the favorite list, served by the favorite role.

import (
	"context"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// favoriteListPage is the favorite list's default and largest page: 100 videos
// (api.md A.1).
const favoriteListPage = 100

// favoriteAction likes (action_type 1) or unlikes (2) a video for the token's
// user. Both are idempotent, so the app's double taps and retries are harmless.
func (g *Gateway) favoriteAction(ctx context.Context, c *app.RequestContext) {
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	videoID, err := parseID("video_id", param(c, "video_id"))
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	var like bool
	switch strings.TrimSpace(param(c, "action_type")) {
	case "1":
		like = true
	case "2":
		like = false
	default:
		g.fail(ctx, c, errs.InvalidArgument("action_type must be 1 (like) or 2 (unlike)"), nil)
		return
	}
	if _, err := g.svc.Favorite.Like(ctx, &favorite.LikeRequest{UserId: viewer, VideoId: videoID, Like: like}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	ok(c, map[string]any{})
}

// favoriteList lists the videos a user likes, most recently liked first, as full
// Video objects seen by the token's user. Any user's list is readable with a valid
// token (api.md A.1); user_id absent or 0 is the token's own user.
func (g *Gateway) favoriteList(ctx context.Context, c *app.RequestContext) {
	failBody := func() map[string]any {
		return map[string]any{"video_list": []any{}, "has_more": false, "next_cursor": ""}
	}
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	owner, err := parseOptionalID("user_id", param(c, "user_id"))
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	if owner == 0 {
		owner = viewer
	}
	page, err := pageParams(c, favoriteListPage, favoriteListPage)
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}

	// Another user's list needs that user to exist, or an unknown id would look
	// like a user who likes nothing; the check runs beside the listing.
	var liked *favorite.ListLikedResponse
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		liked, err = g.svc.Favorite.ListLiked(ectx, &favorite.ListLikedRequest{UserId: owner, Page: page})
		return err
	})
	if owner != viewer {
		eg.Go(func() error {
			r, err := g.svc.User.GetProfiles(ectx, &user.GetProfilesRequest{UserIds: []int64{owner}})
			if err != nil {
				return err
			}
			if r.GetProfiles()[owner] == nil {
				return errs.New(base.ErrCode_UserNotFound, "user not found")
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}

	videos := []*Video{}
	if ids := liked.GetVideoIds(); len(ids) > 0 {
		// Videos deleted since they were liked are left out by the assembler; the
		// page's cursor still moves past them.
		if videos, err = g.videos(ctx, c, viewer, ids); err != nil {
			g.fail(ctx, c, err, failBody())
			return
		}
		if videos == nil {
			videos = []*Video{}
		}
	}
	ok(c, pageBody(map[string]any{"video_list": videos}, liked.GetPage()))
}
