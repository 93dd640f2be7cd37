package commentsvc_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentservice"
)

// stack is one set of infrastructure the service runs on: SQLite with in-process
// caches (one process), or MariaDB with Redis (the cluster's stores). Both use an
// embedded JetStream server of their own, so parallel test packages never share
// a stream or a durable consumer.
type stack struct {
	db   func(t *testing.T) *db.DB
	kv   func(t *testing.T) (cache.Cache, cache.SortedSets)
	name string
}

var databases = svctest.Databases("commentsvc")

var stacks = []stack{
	{name: "sqlite+local", db: databases["sqlite"], kv: func(t *testing.T) (cache.Cache, cache.SortedSets) {
		return cache.NewLocal(10_000), cache.NewLocalSortedSets(1000)
	}},
	{name: "mysql+redis", db: databases["mysql"], kv: func(t *testing.T) (cache.Cache, cache.SortedSets) {
		client, err := cache.DialRedis(t.Context(), testenv.RedisAddr(t), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		prefix := "mdouyin_test:" + strings.ToLower(rand.Text()) + ":"
		t.Cleanup(func() {
			ctx := context.Background()
			iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				client.Del(ctx, iter.Val())
			}
		})
		return cache.NewRedis(client, prefix), cache.NewRedisSortedSets(client, prefix)
	}},
}

var placements = map[string]func(t *testing.T, svc *commentsvc.Service) comment.CommentService{
	"direct": func(t *testing.T, svc *commentsvc.Service) comment.CommentService { return svc },
	"kitex": func(t *testing.T, svc *commentsvc.Service) comment.CommentService {
		addr := svctest.ServeKitex(t, "comment", func(o []server.Option) server.Server { return commentservice.NewServer(svc, o...) })
		c, err := commentservice.NewClient("comment", rpc.ClientOptions("comment", []string{addr}, 30*time.Second)...)
		if err != nil {
			t.Fatal(err)
		}
		return commentsvc.NewRemote(c)
	},
}

type fixture struct {
	api    comment.CommentService
	svc    *commentsvc.Service
	db     *db.DB
	videos *svctest.Videos
	ids    *idgen.Generator
}

// newFixture starts the comment role on st: its store, outbox relay, writers
// and (through place) the interface callers use.
func newFixture(t *testing.T, st stack, place func(*testing.T, *commentsvc.Service) comment.CommentService, o commentsvc.Options) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := svctest.Bus(t)
	d := st.db(t)
	if err := commentsvc.EnsureStreams(ctx, bus); err != nil {
		t.Fatal(err)
	}
	ob := svctest.Outbox(t, d, "comment", bus, log)
	store, err := commentsvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(2)
	if err != nil {
		t.Fatal(err)
	}
	kv, sets := st.kv(t)
	videos := svctest.NewVideos()
	if o.SensitiveWords == nil {
		o.SensitiveWords = []string{"敏感词", "spam"}
	}
	svc, err := commentsvc.New(store, videos, ids, bus, kv, sets, log, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- ob.Run(ctx) }()
	go func() { done <- svc.RunWriters(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		}
		svc.Close()
	})
	return &fixture{api: place(t, svc), svc: svc, db: d, videos: videos, ids: ids}
}

// TestCommentService runs the suite on every stack and in every placement.
func TestCommentService(t *testing.T) {
	for _, st := range stacks {
		for pName, place := range placements {
			t.Run(st.name+"/"+pName, func(t *testing.T) {
				f := newFixture(t, st, place, commentsvc.Options{})
				t.Run("floors and time order", f.testFloors)
				t.Run("replies and previews", f.testReplies)
				t.Run("delete rules and counts", f.testDelete)
				t.Run("likes", f.testLikes)
				t.Run("pins", f.testPins)
				t.Run("held comments", f.testHeld)
				t.Run("bad input changes nothing", f.testBadInput)
				t.Run("paging never repeats or skips", f.testPaging)
				t.Run("hot order", f.testHotOrder)
				t.Run("concurrent writers on one video", f.testConcurrent)
				t.Run("moderation", f.testModeration)
			})
		}
	}
}

func (f *fixture) id(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) newVideo(t *testing.T, author int64) int64 {
	id := f.id(t)
	f.videos.Add(id, author)
	return id
}

func (f *fixture) publish(t *testing.T, user, vid, parent int64, text string) *comment.Comment {
	t.Helper()
	r, err := f.api.Publish(context.Background(), &comment.PublishRequest{UserId: user, VideoId: vid, Content: text, ParentId: parent})
	if err != nil {
		t.Fatalf("publish %q: %v", text, err)
	}
	c := r.GetComment()
	if c.GetId() == 0 || c.GetFloor() == 0 {
		t.Fatalf("publish %q answered %+v; want an id and a floor", text, c)
	}
	return c
}

func (f *fixture) list(t *testing.T, viewer, vid, root int64, sort string, count int32, cursor string) *comment.ListResponse {
	t.Helper()
	r, err := f.api.List(context.Background(), &comment.ListRequest{ViewerId: viewer, VideoId: vid, RootId: root, Sort: sort,
		Page: &base.Page{Count: count, Cursor: cursor}})
	if err != nil {
		t.Fatalf("list video %d root %d: %v", vid, root, err)
	}
	return r
}

func (f *fixture) count(t *testing.T, vid int64) int64 {
	t.Helper()
	r, err := f.api.VideoCounts(context.Background(), &comment.VideoCountsRequest{VideoIds: []int64{vid}})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetCounts()[vid]
}

func ids(cs []*comment.Comment) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.GetId()
	}
	return out
}

func floors(cs []*comment.Comment) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.GetFloor()
	}
	return out
}

// factsCount counts the visible comments of a video straight from the tables, to
// check comment_count against.
func (f *fixture) factsCount(t *testing.T, vid int64) int64 {
	t.Helper()
	var n int64
	err := f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM comment_index c
		LEFT JOIN comment_index r ON r.id = c.root_id
		WHERE c.video_id = ? AND c.state = 1 AND (c.root_id = 0 OR r.state = 1)`, vid).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) testFloors(t *testing.T) {
	author, user := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	if n := f.count(t, vid); n != 0 {
		t.Fatalf("count before any comment = %d", n)
	}
	if r := f.list(t, 0, vid, 0, "", 0, ""); len(r.GetComments()) != 0 || r.GetPage().GetHasMore() {
		t.Fatalf("list before any comment = %+v", r)
	}
	var published []*comment.Comment
	for i := range 5 {
		c := f.publish(t, user, vid, 0, fmt.Sprintf("comment %d", i))
		if c.GetFloor() != int64(i+1) || c.GetRootId() != 0 || c.GetParentId() != 0 || c.GetState() != comment.CommentState_Visible {
			t.Fatalf("comment %d = %+v; want floor %d, top-level, visible", i, c, i+1)
		}
		published = append(published, c)
	}
	r := f.list(t, 0, vid, 0, "time", 0, "")
	if got, want := floors(r.GetComments()), []int64{5, 4, 3, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("floors newest first = %v, want %v", got, want)
	}
	if got := r.GetComments()[0]; got.GetContent() != "comment 4" || got.GetUserId() != user || got.GetVideoId() != vid ||
		got.GetCreateTime() != published[4].GetCreateTime() {
		t.Fatalf("listed comment = %+v", got)
	}
	if n := f.count(t, vid); n != 5 || f.factsCount(t, vid) != 5 {
		t.Fatalf("count = %d (facts %d), want 5", n, f.factsCount(t, vid))
	}
	// A deleted floor is never handed out again.
	if _, err := f.api.Delete(context.Background(), &comment.DeleteRequest{UserId: user, CommentId: published[4].GetId()}); err != nil {
		t.Fatal(err)
	}
	if c := f.publish(t, user, vid, 0, "after a delete"); c.GetFloor() != 6 {
		t.Fatalf("floor after deleting floor 5 = %d, want 6", c.GetFloor())
	}
	// Text is stored byte for byte.
	odd := "  空格\t与 emoji 😀 and <b>markup</b> \u200b "
	c := f.publish(t, user, vid, 0, odd)
	got := f.list(t, 0, vid, 0, "", 1, "").GetComments()[0]
	if got.GetId() != c.GetId() || got.GetContent() != odd {
		t.Fatalf("stored text = %q, want %q", got.GetContent(), odd)
	}
}

func (f *fixture) testReplies(t *testing.T) {
	author, a, b := f.id(t), f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	root := f.publish(t, a, vid, 0, "root")
	other := f.publish(t, a, vid, 0, "other root")
	var replies []*comment.Comment
	for i := range 5 {
		parent := root.GetId()
		if i > 0 {
			parent = replies[i-1].GetId() // a reply to a reply stays in the thread
		}
		c := f.publish(t, b, vid, parent, fmt.Sprintf("reply %d", i))
		if c.GetRootId() != root.GetId() || c.GetParentId() != parent || c.GetFloor() != int64(i+1) {
			t.Fatalf("reply %d = root %d parent %d floor %d; want root %d parent %d floor %d",
				i, c.GetRootId(), c.GetParentId(), c.GetFloor(), root.GetId(), parent, i+1)
		}
		replies = append(replies, c)
	}
	if c := f.publish(t, b, vid, other.GetId(), "first reply of the other thread"); c.GetFloor() != 1 {
		t.Fatalf("reply floors are per thread: got %d, want 1", c.GetFloor())
	}
	top := f.list(t, 0, vid, 0, "", 0, "").GetComments()
	if len(top) != 2 {
		t.Fatalf("top-level listing has %d comments, want the 2 roots only", len(top))
	}
	r := top[1]
	if r.GetId() != root.GetId() || r.GetReplyCount() != 5 {
		t.Fatalf("root = id %d reply_count %d; want %d, 5", r.GetId(), r.GetReplyCount(), root.GetId())
	}
	if got, want := ids(r.GetReplies()), ids(replies[:3]); !slices.Equal(got, want) {
		t.Fatalf("preview = %v, want the 3 oldest %v", got, want)
	}
	thread := f.list(t, 0, vid, root.GetId(), "", 0, "").GetComments()
	if got, want := ids(thread), ids(replies); !slices.Equal(got, want) {
		t.Fatalf("thread oldest first = %v, want %v", got, want)
	}
	if n := f.count(t, vid); n != 8 || f.factsCount(t, vid) != 8 {
		t.Fatalf("count = %d (facts %d), want 2 roots + 6 replies", n, f.factsCount(t, vid))
	}
	// A reply to a comment of another video is refused.
	other2 := f.newVideo(t, author)
	_, err := f.api.Publish(context.Background(), &comment.PublishRequest{UserId: b, VideoId: other2, Content: "x", ParentId: root.GetId()})
	svctest.WantCode(t, err, base.ErrCode_CommentParentInvalid)
	// Listing the thread of an unknown comment is an error.
	_, err = f.api.List(context.Background(), &comment.ListRequest{VideoId: vid, RootId: f.id(t)})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)
}

func (f *fixture) testDelete(t *testing.T) {
	ctx := context.Background()
	author, a, b, stranger := f.id(t), f.id(t), f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	root := f.publish(t, a, vid, 0, "root")
	r1 := f.publish(t, b, vid, root.GetId(), "r1")
	r2 := f.publish(t, b, vid, root.GetId(), "r2")
	keep := f.publish(t, b, vid, 0, "keep")
	if n := f.count(t, vid); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
	// Warm the caches, so the deletes below must reach them.
	f.list(t, 0, vid, 0, "", 0, "")
	f.list(t, 0, vid, root.GetId(), "", 0, "")

	_, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: stranger, CommentId: r1.GetId()})
	svctest.WantCode(t, err, base.ErrCode_PermissionDenied)
	_, err = f.api.Delete(ctx, &comment.DeleteRequest{UserId: a, CommentId: f.id(t)})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)

	// The commenter deletes a reply: the root's reply_count drops.
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: b, CommentId: r1.GetId()}); err != nil {
		t.Fatal(err)
	}
	// Deleting again succeeds and changes nothing.
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: b, CommentId: r1.GetId()}); err != nil {
		t.Fatal(err)
	}
	top := f.list(t, 0, vid, 0, "", 0, "").GetComments()
	if top[1].GetReplyCount() != 1 || !slices.Equal(ids(top[1].GetReplies()), []int64{r2.GetId()}) {
		t.Fatalf("after deleting a reply: reply_count %d preview %v", top[1].GetReplyCount(), ids(top[1].GetReplies()))
	}
	if n := f.count(t, vid); n != 3 || f.factsCount(t, vid) != 3 {
		t.Fatalf("count = %d (facts %d), want 3", n, f.factsCount(t, vid))
	}
	// The video's author deletes someone else's top-level comment: its thread
	// leaves the listing and the count (1 + its visible replies).
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: author, CommentId: root.GetId()}); err != nil {
		t.Fatal(err)
	}
	if got := ids(f.list(t, 0, vid, 0, "", 0, "").GetComments()); !slices.Equal(got, []int64{keep.GetId()}) {
		t.Fatalf("after deleting the thread: %v, want [%d]", got, keep.GetId())
	}
	if n := f.count(t, vid); n != 1 || f.factsCount(t, vid) != 1 {
		t.Fatalf("count = %d (facts %d), want 1", n, f.factsCount(t, vid))
	}
	_, err = f.api.List(ctx, &comment.ListRequest{VideoId: vid, RootId: root.GetId()})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)
	// Replying into the deleted thread is refused.
	_, err = f.api.Publish(ctx, &comment.PublishRequest{UserId: b, VideoId: vid, Content: "late", ParentId: r2.GetId()})
	svctest.WantCode(t, err, base.ErrCode_CommentParentInvalid)
	// Deleting a reply of a deleted thread leaves the video's count alone.
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: b, CommentId: r2.GetId()}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, vid); n != 1 || f.factsCount(t, vid) != 1 {
		t.Fatalf("count = %d (facts %d), want 1", n, f.factsCount(t, vid))
	}
}

func (f *fixture) testLikes(t *testing.T) {
	ctx := context.Background()
	author, a, b := f.id(t), f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	c := f.publish(t, a, vid, 0, "like me")
	f.list(t, a, vid, 0, "", 0, "") // warm
	like := func(user int64, on bool) {
		t.Helper()
		if _, err := f.api.Like(ctx, &comment.LikeRequest{UserId: user, CommentId: c.GetId(), Like: on}); err != nil {
			t.Fatal(err)
		}
	}
	like(a, true)
	like(a, true) // a repeat changes nothing
	like(b, true)
	got := f.list(t, a, vid, 0, "", 0, "").GetComments()[0]
	if got.GetLikeCount() != 2 || !got.GetIsLiked() {
		t.Fatalf("like_count %d is_liked %v; want 2, true", got.GetLikeCount(), got.GetIsLiked())
	}
	if got := f.list(t, f.id(t), vid, 0, "", 0, "").GetComments()[0]; got.GetIsLiked() {
		t.Fatal("is_liked is true for a viewer who never liked it")
	}
	like(a, false)
	like(a, false)
	got = f.list(t, a, vid, 0, "", 0, "").GetComments()[0]
	if got.GetLikeCount() != 1 || got.GetIsLiked() {
		t.Fatalf("after unlike: like_count %d is_liked %v; want 1, false", got.GetLikeCount(), got.GetIsLiked())
	}
	_, err := f.api.Like(ctx, &comment.LikeRequest{UserId: a, CommentId: f.id(t), Like: true})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: a, CommentId: c.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = f.api.Like(ctx, &comment.LikeRequest{UserId: a, CommentId: c.GetId(), Like: true})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)
}

func (f *fixture) testPins(t *testing.T) {
	ctx := context.Background()
	author, a := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	var cs []*comment.Comment
	for i := range 6 {
		cs = append(cs, f.publish(t, a, vid, 0, fmt.Sprintf("c%d", i)))
	}
	reply := f.publish(t, a, vid, cs[0].GetId(), "a reply")
	pin := func(user, id int64, on bool) error {
		_, err := f.api.Pin(ctx, &comment.PinRequest{UserId: user, VideoId: vid, CommentId: id, Pin: on})
		return err
	}
	svctest.WantCode(t, pin(a, cs[1].GetId(), true), base.ErrCode_PermissionDenied)
	svctest.WantCode(t, pin(author, reply.GetId(), true), base.ErrCode_CommentNotTopLevel)
	svctest.WantCode(t, pin(author, f.id(t), true), base.ErrCode_CommentNotFound)
	if err := pin(author, cs[1].GetId(), true); err != nil {
		t.Fatal(err)
	}
	// The pinned comment comes first on the first page, counts toward its size,
	// and is not repeated later, in either order, also for the viewer whose own
	// recent comments are merged into every page.
	for _, sort := range []string{"time", "hot", "time/own", "hot/own"} {
		viewer := int64(0)
		if s, own := strings.CutSuffix(sort, "/own"); own {
			sort, viewer = s, a
		}
		var seen []int64
		cursor := ""
		for page := 0; ; page++ {
			r := f.list(t, viewer, vid, 0, sort, 3, cursor)
			got := r.GetComments()
			if page == 0 && (len(got) != 3 || got[0].GetId() != cs[1].GetId() || !got[0].GetIsPinned()) {
				t.Fatalf("%s: first page = %v; want 3 with the pinned %d first", sort, ids(got), cs[1].GetId())
			}
			for i, c := range got {
				if c.GetIsPinned() != (page == 0 && i == 0) {
					t.Fatalf("%s: page %d item %d is_pinned = %v", sort, page, i, c.GetIsPinned())
				}
			}
			seen = append(seen, ids(got)...)
			if !r.GetPage().GetHasMore() {
				break
			}
			cursor = r.GetPage().GetNextCursor()
		}
		slices.Sort(seen)
		want := ids(cs)
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Fatalf("%s: pages held %v, want each of %v once", sort, seen, want)
		}
	}
	// A page of one holds only the pinned comment, and still leads on.
	first := f.list(t, 0, vid, 0, "", 1, "")
	if ids(first.GetComments())[0] != cs[1].GetId() || !first.GetPage().GetHasMore() || first.GetPage().GetNextCursor() == "" {
		t.Fatalf("a first page of one: %v, has_more %v, cursor %q", ids(first.GetComments()), first.GetPage().GetHasMore(), first.GetPage().GetNextCursor())
	}
	if second := f.list(t, 0, vid, 0, "", 1, first.GetPage().GetNextCursor()); ids(second.GetComments())[0] != cs[5].GetId() {
		t.Fatalf("the page after a pinned-only first page = %v, want the newest comment %d", ids(second.GetComments()), cs[5].GetId())
	}
	// A new pin replaces the old one; unpinning another comment changes nothing.
	if err := pin(author, cs[4].GetId(), true); err != nil {
		t.Fatal(err)
	}
	if err := pin(author, cs[1].GetId(), false); err != nil {
		t.Fatal(err)
	}
	if got := f.list(t, 0, vid, 0, "", 3, "").GetComments()[0]; got.GetId() != cs[4].GetId() || !got.GetIsPinned() {
		t.Fatalf("after re-pinning: first = %d pinned %v", got.GetId(), got.GetIsPinned())
	}
	if err := pin(author, cs[4].GetId(), false); err != nil {
		t.Fatal(err)
	}
	if got := f.list(t, 0, vid, 0, "", 0, "").GetComments(); got[0].GetId() != cs[5].GetId() || got[0].GetIsPinned() || len(got) != 6 {
		t.Fatalf("after unpinning: %v", ids(got))
	}
	// Deleting the pinned comment takes the pin with it.
	if err := pin(author, cs[2].GetId(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.api.Delete(ctx, &comment.DeleteRequest{UserId: author, CommentId: cs[2].GetId()}); err != nil {
		t.Fatal(err)
	}
	if got := f.list(t, 0, vid, 0, "", 0, ""); len(got.GetComments()) != 5 || slices.Contains(ids(got.GetComments()), cs[2].GetId()) {
		t.Fatalf("after deleting the pinned comment: %v", ids(got.GetComments()))
	}
}

func (f *fixture) testHeld(t *testing.T) {
	author, a, b := f.id(t), f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	f.publish(t, b, vid, 0, "fine")
	r, err := f.api.Publish(context.Background(), &comment.PublishRequest{UserId: a, VideoId: vid, Content: "this has a 敏感词 in it"})
	if err != nil {
		t.Fatal(err)
	}
	held := r.GetComment()
	if held.GetState() != comment.CommentState_Pending || held.GetFloor() == 0 {
		t.Fatalf("held comment = %+v; want pending with a floor", held)
	}
	if _, err := f.api.Publish(context.Background(), &comment.PublishRequest{UserId: a, VideoId: vid, Content: "SPAM offer"}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, vid); n != 1 || f.factsCount(t, vid) != 1 {
		t.Fatalf("count = %d, want 1: held comments count nowhere", n)
	}
	mine := f.list(t, a, vid, 0, "", 0, "").GetComments()
	if len(mine) != 3 || mine[1].GetId() != held.GetId() || mine[1].GetState() != comment.CommentState_Pending {
		t.Fatalf("the author's listing = %v; want both held comments in their places", ids(mine))
	}
	for _, viewer := range []int64{0, b, author} {
		if got := f.list(t, viewer, vid, 0, "", 0, "").GetComments(); len(got) != 1 {
			t.Fatalf("viewer %d sees %v; want only the visible comment", viewer, ids(got))
		}
	}
	// Nobody can reply to a held comment.
	_, err = f.api.Publish(context.Background(), &comment.PublishRequest{UserId: b, VideoId: vid, Content: "re", ParentId: held.GetId()})
	svctest.WantCode(t, err, base.ErrCode_CommentParentInvalid)
	// The moderation path (the admin issue's review actions) makes it visible.
	if _, err := f.svc.SetState(context.Background(), held.GetId(), comment.CommentState_Visible,
		func(from comment.CommentState) bool { return from == comment.CommentState_Pending }); err != nil {
		t.Fatal(err)
	}
	if got := f.list(t, b, vid, 0, "", 0, "").GetComments(); len(got) != 2 || got[0].GetId() != held.GetId() {
		t.Fatalf("after approval others see %v", ids(got))
	}
	if n := f.count(t, vid); n != 2 || f.factsCount(t, vid) != 2 {
		t.Fatalf("count after approval = %d, want 2", n)
	}
	_, err = f.svc.SetState(context.Background(), held.GetId(), comment.CommentState_Pending,
		func(from comment.CommentState) bool { return false })
	svctest.WantCode(t, err, base.ErrCode_Conflict)
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	author, a := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	before := f.count(t, vid)
	cases := []struct {
		name string
		req  *comment.PublishRequest
		code base.ErrCode
	}{
		{"empty", &comment.PublishRequest{UserId: a, VideoId: vid, Content: ""}, base.ErrCode_CommentTextInvalid},
		{"blank", &comment.PublishRequest{UserId: a, VideoId: vid, Content: " \t\n\u3000"}, base.ErrCode_CommentTextInvalid},
		{"invisible", &comment.PublishRequest{UserId: a, VideoId: vid, Content: "\u200b\u3164\u2800\ufe0f"}, base.ErrCode_CommentTextInvalid},
		{"too long", &comment.PublishRequest{UserId: a, VideoId: vid, Content: strings.Repeat("长", 1001)}, base.ErrCode_CommentTextInvalid},
		{"invalid utf-8", &comment.PublishRequest{UserId: a, VideoId: vid, Content: "a\xffb"}, base.ErrCode_CommentTextInvalid},
		{"unknown video", &comment.PublishRequest{UserId: a, VideoId: f.id(t), Content: "x"}, base.ErrCode_CommentVideoNotFound},
		{"bad video id", &comment.PublishRequest{UserId: a, VideoId: -1, Content: "x"}, base.ErrCode_InvalidArgument},
		{"bad user id", &comment.PublishRequest{UserId: 0, VideoId: vid, Content: "x"}, base.ErrCode_InvalidArgument},
		{"unknown parent", &comment.PublishRequest{UserId: a, VideoId: vid, Content: "x", ParentId: f.id(t)}, base.ErrCode_CommentParentInvalid},
	}
	for _, c := range cases {
		_, err := f.api.Publish(ctx, c.req)
		if errs.CodeOf(err) != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, errs.CodeOf(err), err, c.code)
		}
	}
	// Exactly 1000 characters is fine; the same text again at once is a duplicate.
	long := strings.Repeat("长", 1000)
	f.publish(t, a, vid, 0, long)
	_, err := f.api.Publish(ctx, &comment.PublishRequest{UserId: a, VideoId: vid, Content: long})
	svctest.WantCode(t, err, base.ErrCode_CommentDuplicate)
	// Another user may say the same thing.
	f.publish(t, f.id(t), vid, 0, long)
	if n := f.count(t, vid); n != before+2 {
		t.Fatalf("count = %d, want %d: refused comments must leave nothing", n, before+2)
	}
	for _, cur := range []string{"garbage", "MS4yLjM", strings.Repeat("A", 200)} {
		_, err := f.api.List(ctx, &comment.ListRequest{VideoId: vid, Page: &base.Page{Cursor: cur}})
		if errs.CodeOf(err) != base.ErrCode_CommentCursorInvalid && errs.CodeOf(err) != base.ErrCode_InvalidArgument {
			t.Errorf("cursor %q: %v", cur, err)
		}
	}
	// A cursor of the time order is refused by the hot order.
	r := f.list(t, 0, vid, 0, "time", 1, "")
	_, err = f.api.List(ctx, &comment.ListRequest{VideoId: vid, Sort: "hot", Page: &base.Page{Count: 1, Cursor: r.GetPage().GetNextCursor()}})
	svctest.WantCode(t, err, base.ErrCode_CommentCursorInvalid)
	_, err = f.api.List(ctx, &comment.ListRequest{VideoId: vid, Sort: "random"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.List(ctx, &comment.ListRequest{VideoId: f.id(t)})
	svctest.WantCode(t, err, base.ErrCode_CommentVideoNotFound)
	_, err = f.api.VideoCounts(ctx, &comment.VideoCountsRequest{VideoIds: []int64{0}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
}

// testPaging pages through 57 comments in every page size from 1 to 11, while new
// comments arrive, and checks that each page continues exactly where the last
// ended.
func (f *fixture) testPaging(t *testing.T) {
	author, a := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	for i := range 57 {
		f.publish(t, a, vid, 0, fmt.Sprintf("p%d", i))
	}
	for size := int32(1); size <= 11; size += 2 {
		var got []int64
		cursor := ""
		for {
			r := f.list(t, 0, vid, 0, "time", size, cursor)
			if len(r.GetComments()) > int(size) {
				t.Fatalf("page of %d has %d comments", size, len(r.GetComments()))
			}
			got = append(got, floors(r.GetComments())...)
			if size == 5 && len(got) == 10 {
				// Newer comments land before the cursor and must not shift it.
				f.publish(t, a, vid, 0, fmt.Sprintf("late %d", size))
			}
			if !r.GetPage().GetHasMore() {
				if r.GetPage().GetNextCursor() != "" {
					t.Fatal("the last page has a next_cursor")
				}
				break
			}
			cursor = r.GetPage().GetNextCursor()
		}
		first := got[0]
		for i, fl := range got {
			if fl != first-int64(i) {
				t.Fatalf("size %d: floors %v repeat or skip", size, got)
			}
		}
		if got[len(got)-1] != 1 {
			t.Fatalf("size %d: paging ended at floor %d, want 1", size, got[len(got)-1])
		}
	}
}

func (f *fixture) testHotOrder(t *testing.T) {
	ctx := context.Background()
	author := f.id(t)
	vid := f.newVideo(t, author)
	var cs []*comment.Comment
	for i := range 8 {
		cs = append(cs, f.publish(t, f.id(t), vid, 0, fmt.Sprintf("h%d", i)))
	}
	f.list(t, 0, vid, 0, "hot", 0, "") // warm the hot index
	// Likes lift an older comment above newer ones; replies weigh more.
	for range 30 {
		if _, err := f.api.Like(ctx, &comment.LikeRequest{UserId: f.id(t), CommentId: cs[0].GetId(), Like: true}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.list(t, 0, vid, 0, "hot", 0, "").GetComments()
	if got[0].GetId() != cs[0].GetId() || got[0].GetLikeCount() != 30 {
		t.Fatalf("hot order = %v (first has %d likes); want %d first", ids(got), got[0].GetLikeCount(), cs[0].GetId())
	}
	// Every comment exactly once, across pages.
	var seen []int64
	cursor := ""
	for {
		r := f.list(t, 0, vid, 0, "hot", 3, cursor)
		seen = append(seen, ids(r.GetComments())...)
		if !r.GetPage().GetHasMore() {
			break
		}
		cursor = r.GetPage().GetNextCursor()
	}
	slices.Sort(seen)
	want := ids(cs)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("hot pages = %v, want each of %v once", seen, want)
	}
}

// testConcurrent has 16 users publish 160 comments on one video at once, plus
// replies into one thread: floors come out exactly 1..N and the count exact.
func (f *fixture) testConcurrent(t *testing.T) {
	author := f.id(t)
	vid := f.newVideo(t, author)
	root := f.publish(t, f.id(t), vid, 0, "thread")
	const writers, each = 16, 10
	var (
		mu         sync.Mutex
		topIDs     []int64
		replyIDs   []int64
		floors     = map[int64]int64{} // as answered; 0: not applied within publish_wait
		wg         sync.WaitGroup
		applyLater int
	)
	for w := range writers {
		user := f.id(t)
		wg.Go(func() {
			for i := range each {
				parent := int64(0)
				if i%2 == 1 {
					parent = root.GetId()
				}
				r, err := f.api.Publish(context.Background(), &comment.PublishRequest{UserId: user, VideoId: vid,
					Content: fmt.Sprintf("w%d-%d", w, i), ParentId: parent})
				if err != nil {
					t.Errorf("publish: %v", err)
					return
				}
				c := r.GetComment()
				mu.Lock()
				if parent == 0 {
					topIDs = append(topIDs, c.GetId())
				} else {
					replyIDs = append(replyIDs, c.GetId())
				}
				floors[c.GetId()] = c.GetFloor()
				if c.GetFloor() == 0 {
					applyLater++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// An answer given before the writer applied the comment (a loaded machine can
	// hold it past publish_wait) carries floor 0; its floor is read once applied.
	// A floor answered must be the one stored.
	want := int64(1 + writers*each)
	deadline := time.Now().Add(60 * time.Second)
	for f.count(t, vid) != want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the count until the writer has applied every comment
	}
	all := append(slices.Clone(topIDs), replyIDs...)
	got, err := f.api.Get(context.Background(), &comment.GetRequest{CommentIds: all})
	if err != nil {
		t.Fatal(err)
	}
	stored := func(ids []int64) []int64 {
		var out []int64
		for _, id := range ids {
			c, ok := got.GetComments()[id]
			if !ok {
				t.Fatalf("comment %d was answered but is not stored", id)
			}
			if a := floors[id]; a != 0 && a != c.GetFloor() {
				t.Fatalf("comment %d was answered with floor %d but stored with %d", id, a, c.GetFloor())
			}
			out = append(out, c.GetFloor())
		}
		slices.Sort(out)
		return out
	}
	top, replies := stored(topIDs), stored(replyIDs)
	if applyLater > 0 {
		t.Logf("%d of %d answers came before their comment was applied (floor read afterwards)", applyLater, writers*each)
	}
	for i, fl := range top {
		if fl != int64(i+2) { // floor 1 is the thread's root
			t.Fatalf("top-level floors %v are not 2..%d", top, writers*each/2+1)
		}
	}
	for i, fl := range replies {
		if fl != int64(i+1) {
			t.Fatalf("reply floors %v are not 1..%d", replies, writers*each/2)
		}
	}
	if n := f.count(t, vid); n != want || f.factsCount(t, vid) != want {
		t.Fatalf("count = %d (facts %d), want %d", n, f.factsCount(t, vid), want)
	}
	th := f.list(t, 0, vid, 0, "", 100, "").GetComments()
	if last := th[len(th)-1]; last.GetId() != root.GetId() || last.GetReplyCount() != writers*each/2 {
		t.Fatalf("thread root reply_count = %d, want %d", last.GetReplyCount(), writers*each/2)
	}
}

// testModeration drives the review transitions of api.md C through Moderate, and
// reads comments in every state through Get and Scan.
func (f *fixture) testModeration(t *testing.T) {
	ctx := context.Background()
	author, a := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	r, err := f.api.Publish(ctx, &comment.PublishRequest{UserId: a, VideoId: vid, Content: "held: spam"})
	if err != nil {
		t.Fatal(err)
	}
	held := r.GetComment().GetId()
	root := f.publish(t, a, vid, 0, "root")
	f.publish(t, a, vid, root.GetId(), "reply")
	const (
		visible  = comment.CommentState_Visible
		pending  = comment.CommentState_Pending
		rejected = comment.CommentState_Rejected
		deleted  = comment.CommentState_Deleted
	)
	moderate := func(id int64, to comment.CommentState, from ...comment.CommentState) (*comment.ModerateResponse, error) {
		return f.api.Moderate(ctx, &comment.ModerateRequest{CommentId: id, To: to, From: from})
	}
	steps := []struct {
		id       int64
		to       comment.CommentState
		from     []comment.CommentState
		code     base.ErrCode
		was, now comment.CommentState
		count    int64
	}{
		{held, visible, []comment.CommentState{pending, rejected}, 0, pending, visible, 3},          // approve
		{held, visible, []comment.CommentState{deleted}, 0, visible, visible, 3},                    // already there
		{root.GetId(), rejected, []comment.CommentState{visible, pending}, 0, visible, rejected, 1}, // reject a thread
		{root.GetId(), visible, []comment.CommentState{deleted}, base.ErrCode_Conflict, 0, 0, 1},    // restore needs deleted
		{root.GetId(), deleted, []comment.CommentState{visible, pending, rejected}, 0, rejected, deleted, 1},
		{root.GetId(), visible, []comment.CommentState{deleted}, 0, deleted, visible, 3}, // restore brings the thread back
		{f.id(t), deleted, []comment.CommentState{visible}, base.ErrCode_CommentNotFound, 0, 0, 3},
	}
	for i, st := range steps {
		resp, err := moderate(st.id, st.to, st.from...)
		if st.code != 0 {
			svctest.WantCode(t, err, st.code)
		} else if err != nil {
			t.Fatalf("step %d: %v", i, err)
		} else if resp.GetFromState() != st.was || resp.GetToState() != st.now || resp.GetComment().GetState() != st.now {
			t.Fatalf("step %d: %v -> %v (comment %v); want %v -> %v", i, resp.GetFromState(), resp.GetToState(), resp.GetComment().GetState(), st.was, st.now)
		}
		if n := f.count(t, vid); n != st.count || f.factsCount(t, vid) != st.count {
			t.Fatalf("step %d: count %d (facts %d), want %d", i, n, f.factsCount(t, vid), st.count)
		}
	}
	_, err = moderate(held, 9, visible)
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)

	// Get reads every state; Scan pages through everything in id order.
	if _, err := moderate(held, rejected, visible); err != nil {
		t.Fatal(err)
	}
	got, err := f.api.Get(ctx, &comment.GetRequest{CommentIds: []int64{held, f.id(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.GetComments()[held]; len(got.GetComments()) != 1 || c.GetState() != rejected || c.GetContent() != "held: spam" {
		t.Fatalf("Get = %v", got.GetComments())
	}
	var scanned []int64
	after := int64(0)
	for {
		page, err := f.api.Scan(ctx, &comment.ScanRequest{AfterId: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if after == 0 && page.GetTotal() < 3 {
			t.Fatalf("Scan from the start says there are %d comments", page.GetTotal())
		}
		if len(page.GetComments()) == 0 {
			break
		}
		for _, c := range page.GetComments() {
			if c.GetId() <= after {
				t.Fatalf("Scan went back from %d to %d", after, c.GetId())
			}
			after = c.GetId()
			if c.GetVideoId() == vid {
				scanned = append(scanned, c.GetId())
			}
		}
	}
	if len(scanned) != 3 || !slices.Contains(scanned, held) {
		t.Fatalf("Scan found %v of this video, want its 3 comments", scanned)
	}
}
