package gateway

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/cloudwego/hertz/pkg/app"
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// User is the app's User object: all eleven keys, always.
type User struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	FollowCount     int64  `json:"follow_count"`
	FollowerCount   int64  `json:"follower_count"`
	IsFollow        bool   `json:"is_follow"`
	Avatar          string `json:"avatar"`
	BackgroundImage string `json:"background_image"`
	Signature       string `json:"signature"`
	TotalFavorited  int64  `json:"total_favorited"`
	WorkCount       int64  `json:"work_count"`
	FavoriteCount   int64  `json:"favorite_count"`
}

// authBody is what register and login answer, on failure too.
func authBody(id int64, token string) map[string]any {
	return map[string]any{"user_id": id, "token": token}
}

func (g *Gateway) register(ctx context.Context, c *app.RequestContext) {
	name, pw := param(c, "username"), param(c, "password")
	// Per client address, and per name so a script cannot hammer one name from many.
	if !g.allow(ctx, c, "register", ratelimit.ClientKey(g.clientIP(c))) || !g.allow(ctx, c, "account", "register:"+accountKey(name)) {
		g.fail(ctx, c, errRateLimited, authBody(0, ""))
		return
	}
	resp, err := g.svc.User.Register(ctx, &user.RegisterRequest{Username: name, Password: pw})
	if err != nil {
		// Nothing stands in for an account: without the user role this fails
		// with Unavailable, never a stand-in answer.
		g.fail(ctx, c, g.essential(ctx, depUser, err), authBody(0, ""))
		return
	}
	g.answered(depUser)
	ok(c, authBody(resp.UserId, resp.Token))
}

func (g *Gateway) login(ctx context.Context, c *app.RequestContext) {
	name, pw := param(c, "username"), param(c, "password")
	// Limit per client address and per account, so neither a flood from one
	// address nor a spread-out guessing attack on one account gets far.
	if !g.allow(ctx, c, "login", ratelimit.ClientKey(g.clientIP(c))) || !g.allow(ctx, c, "account", accountKey(name)) {
		g.fail(ctx, c, errRateLimited, authBody(0, ""))
		return
	}
	resp, err := g.svc.User.Login(ctx, &user.LoginRequest{Username: name, Password: pw})
	if err != nil {
		g.fail(ctx, c, g.essential(ctx, depUser, err), authBody(0, ""))
		return
	}
	g.answered(depUser)
	ok(c, authBody(resp.UserId, resp.Token))
}

// accountKey bounds the rate-limit key for a username so hostile input cannot
// grow keys without limit; names longer than allowed fail validation anyway.
func accountKey(name string) string {
	if len(name) > 128 {
		name = name[:128]
	}
	return lowerASCII(name)
}

func (g *Gateway) userInfo(ctx context.Context, c *app.RequestContext) {
	fail := map[string]any{"user": nil}
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	id, err := parseOptionalID("user_id", param(c, "user_id"))
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	if id == 0 {
		id = viewer
	}
	// The profile is what this route is for: without the user role it answers
	// Unavailable rather than a nameless stand-in. Missing counts still degrade.
	users, err := g.joinUsers(ctx, c, viewer, []int64{id}, true)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	u, found := users[id]
	if !found {
		g.fail(ctx, c, errs.New(base.ErrCode_UserNotFound, "user not found"), fail)
		return
	}
	okTyped(c, &userBody{User: u})
}

// userBody is the user page's answer.
type userBody struct {
	status
	User *User `json:"user"`
}

// users assembles the app's User objects for ids as seen by viewer (0: anonymous),
// joining the profile from the user role with counts from the relation, favorite
// and video roles. Ids without an account are left out.
//
// The lists that show users (videos, comments, follows) are what the client came
// for; names and counts decorate them. So a role that is unavailable (down, timing
// out, or cut off by its circuit breaker) does not fail the list: without the user
// role every id gets a minimal User (see minimalUser), and counts a role could not
// give are 0. Business errors still fail the call.
func (g *Gateway) users(ctx context.Context, c *app.RequestContext, viewer int64, ids []int64) (map[int64]*User, error) {
	return g.joinUsers(ctx, c, viewer, ids, false)
}

// joinUsers is users; with needProfiles a user role that is unavailable fails the
// call with Unavailable instead of yielding minimal Users.
func (g *Gateway) joinUsers(ctx context.Context, c *app.RequestContext, viewer int64, ids []int64, needProfiles bool) (map[int64]*User, error) {
	return g.assembleUsers(ctx, c, viewer, ids, needProfiles, nil)
}

// assembleUsers is joinUsers; it sets *degraded (when not nil) if a role did not
// answer and its part is missing. Profiles, which never change, come from the
// profile cache (readcache.go) when it has them; only the others are asked for.
func (g *Gateway) assembleUsers(ctx context.Context, c *app.RequestContext, viewer int64, ids []int64, needProfiles bool, degraded *atomic.Bool) (map[int64]*User, error) {
	var (
		fetched map[int64]*base.Profile // nil: the user role did not answer
		rel     map[int64]*relation.UserStats
		fav     map[int64]*favorite.UserStats
		works   map[int64]int64
	)
	caches := g.cache
	profiles, missing := caches.cachedProfiles(ids)
	eg, ectx := errgroup.WithContext(ctx)
	if len(missing) > 0 {
		eg.Go(func() error {
			r, err := g.svc.User.GetProfiles(ectx, &user.GetProfilesRequest{UserIds: missing})
			if err != nil {
				if needProfiles {
					return g.essential(ectx, depUser, err)
				}
				return g.decorating(ectx, depUser, err, degraded)
			}
			g.answered(depUser)
			fetched = r.GetProfiles()
			if fetched == nil {
				fetched = map[int64]*base.Profile{}
			}
			for id, p := range fetched {
				kept := *p // the answer stays the role's: keep a copy
				caches.profiles.Set(id, &kept)
			}
			return nil
		})
	}
	eg.Go(func() error {
		r, err := g.svc.Relation.UserStats(ectx, &relation.UserStatsRequest{ViewerId: viewer, UserIds: ids})
		if err != nil {
			return g.decorating(ectx, depRelation, err, degraded)
		}
		g.answered(depRelation)
		rel = r.GetStats()
		return nil
	})
	eg.Go(func() error {
		r, err := g.svc.Favorite.UserStats(ectx, &favorite.UserStatsRequest{UserIds: ids})
		if err != nil {
			return g.decorating(ectx, depFavorite, err, degraded)
		}
		g.answered(depFavorite)
		fav = r.GetStats()
		return nil
	})
	eg.Go(func() error {
		r, err := g.svc.Video.WorkCounts(ectx, &video.WorkCountsRequest{UserIds: ids})
		if err != nil {
			return g.decorating(ectx, depVideo, err, degraded)
		}
		g.answered(depVideo)
		works = r.GetCounts()
		return nil
	})
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	root := g.baseURL(c)
	out := make(map[int64]*User, len(ids))
	if len(missing) > 0 && fetched == nil {
		// Whether an id has an account is the user role's to say; without it
		// every id it was asked about is shown.
		for _, id := range missing {
			out[id] = minimalUser(root, id)
		}
	}
	for id, p := range fetched {
		profiles[id] = p
	}
	for id, p := range profiles {
		out[id] = &User{
			ID:              id,
			Name:            p.Name,
			Avatar:          g.mediaURL(root, p.Avatar, defaultAvatar(id)),
			BackgroundImage: g.mediaURL(root, p.BackgroundImage, defaultBackground(id)),
			Signature:       p.Signature,
		}
	}
	for id, u := range out {
		u.WorkCount = works[id]
		if r := rel[id]; r != nil {
			u.FollowCount, u.FollowerCount, u.IsFollow = r.FollowCount, r.FollowerCount, r.IsFollow && viewer != id
		}
		if f := fav[id]; f != nil {
			u.FavoriteCount, u.TotalFavorited = f.FavoriteCount, f.TotalFavorited
		}
	}
	return out, nil
}

// decorating is optional for a call whose answer decorates the response; it also
// sets *degraded (when not nil) if the answer is going without it.
func (g *Gateway) decorating(ctx context.Context, dep string, err error, degraded *atomic.Bool) error {
	if failed := g.optional(ctx, dep, err); failed != nil {
		return failed
	}
	if err != nil && degraded != nil {
		degraded.Store(true)
	}
	return nil
}

// minimalUser is the User shown for id when its profile cannot be had: the id, an
// empty name, and the generated avatar and background of a user who never set
// their own, so the app still draws the author and can open their page. The name
// stays empty rather than a made-up one, which the app would show as if real.
func minimalUser(root string, id int64) *User {
	return &User{ID: id, Avatar: root + defaultAvatar(id), BackgroundImage: root + defaultBackground(id)}
}

// defaultAvatar is the path of id's generated avatar (static.go).
func defaultAvatar(id int64) string {
	return "/static/avatar/" + strconv.FormatInt(id, 10) + ".png"
}

// defaultBackground is the path of id's generated background (static.go).
func defaultBackground(id int64) string {
	return fmt.Sprintf("/static/background/%d.png", id%backgroundCount)
}
