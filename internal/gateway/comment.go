package gateway

// Comment routes (api.md A.3 and B): publish and delete, list, like and pin,
// served by the comment role; Comment objects with their authors.

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	hjson "github.com/cloudwego/hertz/pkg/common/json"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// Comment is the app's Comment object with the fields of api.md B.1. State says
// whether the requester's own comment is held for review ("pending"); everyone
// else only ever sees "visible" ones.
type Comment struct {
	ID         int64      `json:"id"`
	User       *User      `json:"user"`
	Content    string     `json:"content"`
	CreateDate string     `json:"create_date"`
	CreateTime int64      `json:"create_time"`
	RootID     int64      `json:"root_id"`
	ParentID   int64      `json:"parent_id"`
	Floor      int64      `json:"floor"`
	LikeCount  int64      `json:"like_count"`
	IsLiked    bool       `json:"is_liked"`
	ReplyCount int64      `json:"reply_count"`
	Replies    []*Comment `json:"replies"`
	IsPinned   bool       `json:"is_pinned"`
	State      string     `json:"state"`
}

// commentPage is the comment list's default page and its largest (api.md B.3).
const (
	commentPage    = 30
	commentPageMax = 100
)

// commentAction publishes (action_type 1, optionally a reply with parent_id) or
// deletes (2, comment_id) a comment for the token's user.
func (g *Gateway) commentAction(ctx context.Context, c *app.RequestContext) {
	failBody := map[string]any{"comment": nil}
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, failBody)
		return
	}
	switch strings.TrimSpace(param(c, "action_type")) {
	case "1":
		videoID, err := parseID("video_id", param(c, "video_id"))
		if err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		parentID, err := parseOptionalID("parent_id", param(c, "parent_id"))
		if err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		if !g.allow(ctx, c, "comment", "u:"+strconv.FormatInt(viewer, 10)) {
			g.fail(ctx, c, errRateLimited, failBody)
			return
		}
		r, err := g.svc.Comment.Publish(ctx, &comment.PublishRequest{UserId: viewer, VideoId: videoID,
			Content: param(c, "comment_text"), ParentId: parentID})
		if err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		// The comment count in the guest feed has changed, and the video's
		// first comment page.
		g.cache.guest.drop()
		g.cache.comments.dropVideo(videoID)
		out, err := g.comments(ctx, c, viewer, []*comment.Comment{r.GetComment()})
		if err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		ok(c, map[string]any{"comment": out[0]})
	case "2":
		id, err := parseID("comment_id", param(c, "comment_id"))
		if err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		// video_id is sent by the app but not needed: the comment knows its
		// video. It tells which kept comment pages to drop.
		var videoID int64
		if s := param(c, "video_id"); s != "" {
			if videoID, err = parseID("video_id", s); err != nil {
				g.fail(ctx, c, err, failBody)
				return
			}
		}
		if _, err := g.svc.Comment.Delete(ctx, &comment.DeleteRequest{UserId: viewer, CommentId: id}); err != nil {
			g.fail(ctx, c, err, failBody)
			return
		}
		g.cache.guest.drop()
		g.cache.comments.dropComment(id, videoID)
		ok(c, map[string]any{"comment": nil})
	default:
		g.fail(ctx, c, errs.InvalidArgument("action_type must be 1 (publish) or 2 (delete)"), failBody)
	}
}

// commentList lists a video's top-level comments (sort time or hot), or one
// thread's replies (root_id). Logging in is optional; an invalid token reads as
// anonymous, as on the feed.
func (g *Gateway) commentList(ctx context.Context, c *app.RequestContext) {
	failBody := func() map[string]any {
		return map[string]any{"comment_list": []any{}, "has_more": false, "next_cursor": ""}
	}
	viewer := g.currentUser(c)
	videoID, err := parseID("video_id", param(c, "video_id"))
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	rootID, err := parseOptionalID("root_id", param(c, "root_id"))
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	sort := strings.TrimSpace(param(c, "sort"))
	if sort != "" && sort != "time" && sort != "hot" {
		g.fail(ctx, c, errs.InvalidArgument("sort must be time or hot"), failBody())
		return
	}
	page, err := pageParams(c, commentPage, commentPageMax)
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	if rootID == 0 && page.GetCursor() == "" && g.cfg.Comment.HotPages && g.cache.comments.hotVideo(videoID) {
		if err := g.hotCommentList(ctx, c, viewer, videoID, sort, page); err != nil {
			g.fail(ctx, c, err, failBody())
		}
		return
	}
	r, err := g.svc.Comment.List(ctx, &comment.ListRequest{ViewerId: viewer, VideoId: videoID, RootId: rootID, Sort: sort, Page: page})
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	list, err := g.comments(ctx, c, viewer, r.GetComments())
	if err != nil {
		g.fail(ctx, c, err, failBody())
		return
	}
	okTyped(c, &commentListBody{CommentList: list, HasMore: r.GetPage().GetHasMore(), NextCursor: r.GetPage().GetNextCursor()})
}

// hotCommentList answers the first page of a hot video's comments from the kept
// page (commentcache.go): an anonymous reader gets its bytes; a logged-in one the
// comment role's answer for them, with the kept authors and their own is_follow.
// Both calls for the reader go out at once. The answer is the one commentList
// gives without the kept page, for the same data.
func (g *Gateway) hotCommentList(ctx context.Context, c *app.RequestContext, viewer, videoID int64, sort string, page *base.Page) error {
	if sort == "" {
		sort = "time" // the same list, one kept page
	}
	root := g.baseURL(c)
	k := commentPageKey{video: videoID, hot: sort == "hot", count: page.GetCount(), root: root}
	pg, err := g.cache.comments.load(context.WithoutCancel(ctx), k, func(ctx context.Context) (*keptCommentPage, bool, error) {
		return g.buildCommentPage(ctx, c, videoID, sort, page.GetCount())
	})
	if err != nil {
		return err
	}
	if viewer == 0 {
		okEncoded(c, pg.body)
		return nil
	}
	// The relation role is asked beside, while the comment role answers here.
	var stats map[int64]*relation.UserStats // nil: the relation role did not answer
	asked := make(chan error, 1)
	go func() {
		if len(pg.authorIDs) == 0 {
			stats = map[int64]*relation.UserStats{}
			asked <- nil
			return
		}
		s, err := g.svc.Relation.UserStats(ctx, &relation.UserStatsRequest{ViewerId: viewer, UserIds: pg.authorIDs})
		if err != nil {
			asked <- g.decorating(ctx, depRelation, err, nil)
			return
		}
		g.answered(depRelation)
		if stats = s.GetStats(); stats == nil {
			stats = map[int64]*relation.UserStats{}
		}
		asked <- nil
	}()
	r, err := g.svc.Comment.List(ctx, &comment.ListRequest{ViewerId: viewer, VideoId: videoID, Sort: sort, Page: page})
	if rerr := <-asked; err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	cs := r.GetComments()
	if pg.reader.fits(cs, r.GetPage()) {
		okAppended(c, func(dst []byte) []byte { return pg.reader.render(dst, cs, viewer, stats) })
		return nil
	}
	users, known := pg.viewerAuthors(cs, viewer, stats)
	if !known {
		// An author the kept page does not show (the reader's own held or new
		// comment, or a page changed since): the whole join, as without the
		// kept page.
		list, err := g.comments(ctx, c, viewer, cs)
		if err != nil {
			return err
		}
		okTyped(c, &commentListBody{CommentList: list, HasMore: r.GetPage().GetHasMore(), NextCursor: r.GetPage().GetNextCursor()})
		return nil
	}
	okTyped(c, &commentListBody{CommentList: g.commentObjects(root, cs, users), HasMore: r.GetPage().GetHasMore(),
		NextCursor: r.GetPage().GetNextCursor()})
	return nil
}

// buildCommentPage assembles the first page of a video's comments as an
// anonymous reader sees it, and reports whether every role answered.
func (g *Gateway) buildCommentPage(ctx context.Context, c *app.RequestContext, videoID int64, sort string, count int32) (*keptCommentPage, bool, error) {
	r, err := g.svc.Comment.List(ctx, &comment.ListRequest{VideoId: videoID, Sort: sort, Page: &base.Page{Count: count}})
	if err != nil {
		return nil, false, err
	}
	cs := r.GetComments()
	ids := commentAuthors(cs)
	var degraded atomic.Bool
	users := map[int64]*User{}
	if len(ids) > 0 {
		if users, err = g.assembleUsers(ctx, c, 0, ids, false, &degraded); err != nil {
			return nil, false, err
		}
	}
	body, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects(g.baseURL(c), cs, users),
		HasMore: r.GetPage().GetHasMore(), NextCursor: r.GetPage().GetNextCursor()})
	if err != nil {
		return nil, false, err
	}
	pg := &keptCommentPage{body: body, authors: make(map[int64]*User, len(ids)), authorIDs: ids}
	for _, id := range ids {
		pg.authors[id] = users[id] // nil for an id without an account
	}
	pg.reader = newReaderTemplate(body, cs, pg.authors, r.GetPage())
	for _, x := range cs {
		pg.shown = append(pg.shown, x.GetId())
		for _, rep := range x.GetReplies() {
			pg.shown = append(pg.shown, rep.GetId())
		}
	}
	return pg, !degraded.Load(), nil
}

// commentListBody is the comment list's answer.
type commentListBody struct {
	status
	CommentList []*Comment `json:"comment_list"`
	HasMore     bool       `json:"has_more"`
	NextCursor  string     `json:"next_cursor"`
}

// commentLike likes (1) or takes back a like (2) of a comment; both idempotent.
func (g *Gateway) commentLike(ctx context.Context, c *app.RequestContext) {
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	id, err := parseID("comment_id", param(c, "comment_id"))
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	like, err := actionType(param(c, "action_type"), "like", "cancel")
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	if _, err := g.svc.Comment.Like(ctx, &comment.LikeRequest{UserId: viewer, CommentId: id, Like: like}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	g.cache.comments.dropLiked(id)
	ok(c, map[string]any{})
}

// commentPin pins (1) or unpins (2) a top-level comment; only the video's author
// may.
func (g *Gateway) commentPin(ctx context.Context, c *app.RequestContext) {
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
	id, err := parseID("comment_id", param(c, "comment_id"))
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	pin, err := actionType(param(c, "action_type"), "pin", "unpin")
	if err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	if _, err := g.svc.Comment.Pin(ctx, &comment.PinRequest{UserId: viewer, VideoId: videoID, CommentId: id, Pin: pin}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	g.cache.comments.dropVideo(videoID)
	ok(c, map[string]any{})
}

// actionType reads an action_type of 1 (on) or 2 (off).
func actionType(s, on, off string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "1":
		return true, nil
	case "2":
		return false, nil
	}
	return false, errs.InvalidArgument("action_type must be 1 (%s) or 2 (%s)", on, off)
}

// comments turns comments (and their reply previews) into the app's objects with
// their authors, fetched in one batch. Comments whose author has no account any
// more keep a minimal author rather than vanishing from a thread.
func (g *Gateway) comments(ctx context.Context, c *app.RequestContext, viewer int64, cs []*comment.Comment) ([]*Comment, error) {
	ids := commentAuthors(cs)
	users := map[int64]*User{}
	if len(ids) > 0 {
		var err error
		if users, err = g.users(ctx, c, viewer, ids); err != nil {
			return nil, err
		}
	}
	return g.commentObjects(g.baseURL(c), cs, users), nil
}

// commentAuthors lists the authors of comments and their reply previews, each
// once, in the order they first appear.
func commentAuthors(cs []*comment.Comment) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, x := range cs {
		add(x.GetUserId())
		for _, r := range x.GetReplies() {
			add(r.GetUserId())
		}
	}
	return ids
}

// commentObjects turns comments into the app's objects with the authors in users;
// an author missing there gets a minimal User with media under root.
func (g *Gateway) commentObjects(root string, cs []*comment.Comment, users map[int64]*User) []*Comment {
	// One block holds every object of the page: a page is read far more often
	// than it changes, and thirty small allocations per read add up.
	block := make([]Comment, 0, countComments(cs))
	var convert func(x *comment.Comment) *Comment
	convert = func(x *comment.Comment) *Comment {
		u := users[x.GetUserId()]
		if u == nil { // a deleted account
			u = minimalUser(root, x.GetUserId())
		}
		block = append(block, Comment{
			ID: x.GetId(), User: u, Content: x.GetContent(),
			CreateDate: time.UnixMilli(x.GetCreateTime()).In(g.loc).Format("01-02"), CreateTime: x.GetCreateTime(),
			RootID: x.GetRootId(), ParentID: x.GetParentId(), Floor: x.GetFloor(), LikeCount: x.GetLikeCount(),
			IsLiked: x.GetIsLiked(), ReplyCount: x.GetReplyCount(), Replies: make([]*Comment, 0, len(x.GetReplies())),
			IsPinned: x.GetIsPinned(), State: stateName(x.GetState()),
		})
		out := &block[len(block)-1] // block never grows past its capacity, so this stays put
		for _, r := range x.GetReplies() {
			out.Replies = append(out.Replies, convert(r))
		}
		return out
	}
	out := make([]*Comment, 0, len(cs))
	for _, x := range cs {
		out = append(out, convert(x))
	}
	return out
}

// countComments counts cs and their replies, at every depth.
func countComments(cs []*comment.Comment) int {
	n := len(cs)
	for _, x := range cs {
		n += countComments(x.GetReplies())
	}
	return n
}

func stateName(s comment.CommentState) string {
	if s == 0 {
		return "visible"
	}
	return strings.ToLower(s.String())
}
