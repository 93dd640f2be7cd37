package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/ut"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// commentWorld is the tiny world of degrade_test.go with a comment role that
// takes writes and knows who liked what, and a relation role that knows who
// follows whom; both record who asked.
type commentWorld struct {
	*world
	comments  *pageComments
	relations *followRelations
}

// pageComments lists video 1's comments: 101 by bob, then 100 by alice with two
// replies, 102 by carol in the preview and 103 not. Alice (7) liked 101; bob (8)
// liked 100 and 102. User 10 has a comment held for review that only they see.
type pageComments struct {
	*fakeComments
	mu    sync.Mutex
	roots []*comment.Comment // newest first
	liked map[int64]map[int64]bool
	held  map[int64]*comment.Comment
	more  map[int64]int64 // replies beyond the previews: their roots
	lists []int64         // the viewer of every List
	next  int64
	gate  chan struct{} // when not nil, anonymous Lists wait for it to close
}

func newPageComments(f *fakeComments) *pageComments {
	return &pageComments{fakeComments: f, next: 200,
		roots: []*comment.Comment{
			{Id: 101, VideoId: 1, UserId: 8, Content: "second", CreateTime: 2_000, Floor: 2, LikeCount: 1, Replies: []*comment.Comment{}},
			{Id: 100, VideoId: 1, UserId: 7, Content: "first", CreateTime: 1_000, Floor: 1, LikeCount: 1, ReplyCount: 2,
				Replies: []*comment.Comment{{Id: 102, VideoId: 1, UserId: 9, Content: "reply", CreateTime: 3_000, RootId: 100, ParentId: 100, LikeCount: 1}}},
		},
		liked: map[int64]map[int64]bool{7: {101: true}, 8: {100: true, 102: true}},
		held:  map[int64]*comment.Comment{10: {Id: 150, VideoId: 1, UserId: 10, Content: "held", CreateTime: 4_000, State: comment.CommentState_Pending}},
		more:  map[int64]int64{103: 100},
	}
}

// copyFor is x as viewer sees it.
func (p *pageComments) copyFor(viewer int64, x *comment.Comment) *comment.Comment {
	cp := *x
	cp.IsLiked = p.liked[viewer][x.Id]
	cp.Replies = []*comment.Comment{}
	for _, r := range x.Replies {
		cp.Replies = append(cp.Replies, p.copyFor(viewer, r))
	}
	return &cp
}

func (p *pageComments) List(_ context.Context, req *comment.ListRequest) (*comment.ListResponse, error) {
	p.mu.Lock()
	p.lists = append(p.lists, req.ViewerId)
	gate := p.gate
	p.mu.Unlock()
	if req.ViewerId == 0 && gate != nil {
		<-gate
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*comment.Comment
	if h := p.held[req.ViewerId]; h != nil {
		out = append(out, p.copyFor(req.ViewerId, h))
	}
	roots := slices.Clone(p.roots)
	if req.Sort == "hot" {
		slices.SortStableFunc(roots, func(a, b *comment.Comment) int { return int(b.LikeCount - a.LikeCount) })
	}
	for _, r := range roots {
		out = append(out, p.copyFor(req.ViewerId, r))
	}
	info := &base.PageInfo{}
	if n := int(req.GetPage().GetCount()); len(out) > n {
		out, info.HasMore, info.NextCursor = out[:n], true, "more"
	}
	return &comment.ListResponse{Comments: out, Page: info}, nil
}

func (p *pageComments) Publish(_ context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	c := &comment.Comment{Id: p.next, VideoId: req.VideoId, UserId: req.UserId, Content: req.Content, CreateTime: 10_000 + p.next,
		Floor: int64(len(p.roots) + 1), Replies: []*comment.Comment{}}
	p.roots = append([]*comment.Comment{c}, p.roots...)
	return &comment.PublishResponse{Comment: p.copyFor(req.UserId, c)}, nil
}

func (p *pageComments) Delete(_ context.Context, req *comment.DeleteRequest) (*comment.DeleteResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roots = slices.DeleteFunc(p.roots, func(c *comment.Comment) bool { return c.Id == req.CommentId })
	if root, ok := p.more[req.CommentId]; ok {
		delete(p.more, req.CommentId)
		for _, r := range p.roots {
			if r.Id == root {
				r.ReplyCount--
			}
		}
	}
	return &comment.DeleteResponse{}, nil
}

func (p *pageComments) Like(_ context.Context, req *comment.LikeRequest) (*comment.LikeResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.roots {
		for _, c := range append([]*comment.Comment{r}, r.Replies...) {
			if c.Id != req.CommentId || p.liked[req.UserId][c.Id] == req.Like {
				continue
			}
			if p.liked[req.UserId] == nil {
				p.liked[req.UserId] = map[int64]bool{}
			}
			p.liked[req.UserId][c.Id] = req.Like
			if req.Like {
				c.LikeCount++
			} else {
				c.LikeCount--
			}
		}
	}
	return &comment.LikeResponse{}, nil
}

func (p *pageComments) Pin(_ context.Context, req *comment.PinRequest) (*comment.PinResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.roots {
		if r.Id == req.CommentId {
			r.IsPinned = req.Pin
			p.roots = append([]*comment.Comment{r}, slices.Delete(p.roots, i, i+1)...)
			break
		}
	}
	return &comment.PinResponse{}, nil
}

// listed returns the viewers of the List calls since the last call.
func (p *pageComments) listed() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.lists
	p.lists = nil
	return out
}

// followRelations: alice follows bob; bob follows alice and carol.
type followRelations struct {
	*fakeRelations
	mu      sync.Mutex
	follows map[int64]map[int64]bool
	asked   []int64 // the viewer of every UserStats call
}

func (f *followRelations) UserStats(_ context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req.ViewerId)
	counts := map[int64][2]int64{7: {1, 1}, 8: {2, 1}, 9: {0, 1}}
	out := map[int64]*relation.UserStats{}
	for _, id := range req.UserIds {
		if c, ok := counts[id]; ok {
			out[id] = &relation.UserStats{FollowCount: c[0], FollowerCount: c[1], IsFollow: f.follows[req.ViewerId][id]}
		}
	}
	return &relation.UserStatsResponse{Stats: out}, nil
}

func (f *followRelations) statsAsked() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.asked
	f.asked = nil
	return out
}

func newCommentWorld() *commentWorld {
	w := newWorld()
	return &commentWorld{world: w, comments: newPageComments(w.comments),
		relations: &followRelations{fakeRelations: w.relations, follows: map[int64]map[int64]bool{7: {8: true}, 8: {7: true, 9: true}}}}
}

func (cw *commentWorld) services() Services {
	s := cw.world.services()
	s.Comment, s.Relation = cw.comments, cw.relations
	return s
}

// newCommentGateway is a test gateway over cw whose kept comment pages and hot-key
// detector read a clock the test moves; one read in a second makes a video hot
// from the next second on. ref is a gateway over the same world that keeps no
// comment pages, for the answers as they are without them.
func newCommentGateway(t *testing.T, cw *commentWorld) (tg, ref *testGateway, now *time.Time) {
	t.Helper()
	tg = newTestGateway(t, cw.services())
	clock := cacheT0
	tg.g.cache.comments = newCommentPages(hotkey.DetectorOptions{MinCount: 1}, func() time.Time { return clock })
	ref = newTestGateway(t, cw.services())
	ref.g.cfg.Comment.HotPages = false
	return tg, ref, &clock
}

// read GETs path through tg as the holder of token ("" for none) and returns the
// body, or an error message.
func (tg *testGateway) read(path, token string) ([]byte, string) {
	if token != "" {
		path += "&token=" + token
	}
	r := ut.PerformRequest(tg.g.h.Engine, "GET", "http://gw.test"+path, nil).Result()
	var st struct {
		StatusCode *int `json:"status_code"`
	}
	if r.StatusCode() != 200 || json.Unmarshal(r.Body(), &st) != nil || st.StatusCode == nil || *st.StatusCode != 0 {
		return nil, string(r.Body())
	}
	return bytes.Clone(r.Body()), ""
}

// same reads path through tg and ref as the holder of token and fails unless both
// answer the same bytes; it returns them.
func same(t *testing.T, tg, ref *testGateway, path, token string) []byte {
	t.Helper()
	got, msg := tg.read(path, token)
	if msg != "" {
		t.Fatalf("%s: %s", path, msg)
	}
	want, msg := ref.read(path, token)
	if msg != "" {
		t.Fatalf("%s without kept pages: %s", path, msg)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s (token %q) answered\n%s\nwant, as without kept pages,\n%s", path, token, got, want)
	}
	return got
}

// commentsOf decodes a comment list answer.
func commentsOf(t *testing.T, raw []byte) []map[string]any {
	t.Helper()
	var body struct {
		CommentList []map[string]any `json:"comment_list"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	return body.CommentList
}

const firstPage = "/douyin/comment/list/?video_id=1"

func TestCommentPageIsAssembledOncePerLifetime(t *testing.T) {
	cw := newCommentWorld()
	tg, ref, now := newCommentGateway(t, cw)

	// Not hot yet: every read is assembled.
	want := same(t, tg, ref, firstPage, "")
	same(t, tg, ref, firstPage, "")
	if got := cw.comments.listed(); !slices.Equal(got, []int64{0, 0, 0, 0}) {
		t.Fatalf("List calls %v before the video is hot, want two by each gateway", got)
	}
	// Hot from the next second: one assembly for every way of asking for the
	// same page anonymously.
	*now = now.Add(time.Second)
	cw.relations.statsAsked()
	for _, path := range []string{firstPage, "/douyin/comment/list?video_id=1", firstPage + "&sort=time", firstPage + "&sort=",
		firstPage + "&count=30", firstPage + "&cursor=", firstPage + "&token=not-a-token", firstPage} {
		if got, msg := tg.read(path, ""); !bytes.Equal(got, want) {
			t.Fatalf("%s answered %s%s, want the page %s", path, got, msg, want)
		}
	}
	if got := cw.comments.listed(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("List calls %v for eight anonymous reads, want one", got)
	}
	if got := cw.relations.statsAsked(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("follow counts asked %v, want once", got)
	}
	// Another order or size is a page of its own; so is another Host, whose
	// media URLs differ.
	same(t, tg, ref, firstPage+"&sort=hot", "")
	same(t, tg, ref, firstPage+"&count=1", "")
	if got, _ := tg.read(firstPage, ""); !bytes.Equal(got, want) {
		t.Fatal("the time-ordered page changed")
	}
	other := ut.PerformRequest(tg.g.h.Engine, "GET", "http://other.test"+firstPage, nil).Result().Body()
	if !bytes.Contains(other, []byte("http://other.test/static/avatar/7.png")) {
		t.Fatalf("page for another host %s", other)
	}
	// Two from tg, two from ref, one for the other host.
	if got := cw.comments.listed(); len(got) != 5 {
		t.Fatalf("List calls %v, want 5", got)
	}

	// Past the lifetime it is assembled again, once however many readers
	// arrive together.
	*now = now.Add(commentPageTTL)
	gate := make(chan struct{})
	cw.comments.mu.Lock()
	cw.comments.gate = gate
	cw.comments.mu.Unlock()
	const readers = 50
	var started atomic.Int64
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			started.Add(1)
			if got, msg := tg.read(firstPage, ""); !bytes.Equal(got, want) {
				t.Errorf("concurrent reader got %s%s", got, msg)
			}
		})
	}
	for started.Load() < readers {
		runtime.Gosched()
	}
	for range 1000 {
		runtime.Gosched() // let the last readers join the assembly in flight
	}
	close(gate)
	wg.Wait()
	if got := cw.comments.listed(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("List calls %v for %d concurrent readers, want one", got, readers)
	}
}

func TestCommentPageShowsWritesAtOnce(t *testing.T) {
	cw := newCommentWorld()
	tg, ref, now := newCommentGateway(t, cw)
	same(t, tg, ref, firstPage, "")
	*now = now.Add(time.Second)
	// Kept pages of both orders; after each write through tg, the next readers,
	// anonymous and logged in, get what they would without kept pages.
	check := func(what string) {
		t.Helper()
		for _, path := range []string{firstPage, firstPage + "&sort=hot"} {
			same(t, tg, ref, path, "")
			same(t, tg, ref, path, tg.token)
		}
		if n := slices.Index(cw.comments.listed(), 0); n < 0 {
			t.Fatalf("%s: the kept page was not assembled again", what)
		}
	}
	check("first reads")
	cw.comments.listed()
	for _, path := range []string{firstPage, firstPage + "&sort=hot"} {
		tg.read(path, "")
	}
	if got := cw.comments.listed(); len(got) != 0 {
		t.Fatalf("List calls %v: the pages were not kept", got)
	}

	if r := tg.do("POST", "/douyin/comment/action/?video_id=1&action_type=1&comment_text=new"); code(t, r) != 0 {
		t.Fatalf("publishing: %v", r)
	}
	check("a comment")
	if cs := commentsOf(t, same(t, tg, ref, firstPage, "")); cs[0]["content"] != "new" {
		t.Fatalf("the new comment is not first: %v", cs[0])
	}
	if r := tg.do("POST", "/douyin/comment/like/?comment_id=100&action_type=1"); code(t, r) != 0 {
		t.Fatalf("liking: %v", r)
	}
	check("a like")
	if r := tg.do("POST", "/douyin/comment/like/?comment_id=102&action_type=1"); code(t, r) != 0 {
		t.Fatalf("liking a reply: %v", r)
	}
	check("a like of a previewed reply")
	if r := tg.do("POST", "/douyin/comment/pin/?video_id=1&comment_id=100&action_type=1"); code(t, r) != 0 {
		t.Fatalf("pinning: %v", r)
	}
	check("a pin")
	if r := tg.do("POST", "/douyin/comment/action/?video_id=1&action_type=2&comment_id=201"); code(t, r) != 0 {
		t.Fatalf("deleting: %v", r)
	}
	check("a delete")
	// A reply beyond the preview is on no kept page, but its thread's
	// reply_count is.
	if r := tg.do("POST", "/douyin/comment/action/?action_type=2&comment_id=103"); code(t, r) != 0 {
		t.Fatalf("deleting without video_id: %v", r)
	}
	check("a delete of a reply on no kept page, without its video")

	// A like of a comment on no kept page changes no time-ordered page, but may
	// lift the comment in hot order: those pages go.
	if r := tg.do("POST", "/douyin/comment/like/?comment_id=998&action_type=1"); code(t, r) != 0 {
		t.Fatalf("liking: %v", r)
	}
	tg.read(firstPage, "")
	if got := cw.comments.listed(); len(got) != 0 {
		t.Fatalf("List calls %v: the time-ordered page was dropped", got)
	}
	tg.read(firstPage+"&sort=hot", "")
	if got := cw.comments.listed(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("List calls %v: the hot-ordered page was kept", got)
	}
}

func TestCommentPageReaderFields(t *testing.T) {
	cw := newCommentWorld()
	tg, ref, now := newCommentGateway(t, cw)
	same(t, tg, ref, firstPage, "")
	*now = now.Add(time.Second)
	bob, err := tg.g.tokens.Issue(8)
	if err != nil {
		t.Fatal(err)
	}
	held, err := tg.g.tokens.Issue(10)
	if err != nil {
		t.Fatal(err)
	}
	tg.read(firstPage, "") // keeps the page
	cw.comments.listed()
	cw.relations.statsAsked()
	// Logged-in readers get its bytes with their fields written in
	// (commentpatch.go), unless their answer is another page.
	kept, ok := tg.g.cache.comments.pages.Get(tg.g.cache.comments.key(commentPageKey{video: 1, count: commentPage, root: "http://gw.test"}))
	if !ok || kept.reader == nil {
		t.Fatalf("kept page %v: no reader template", kept)
	}

	type view struct {
		liked  []float64 // comment ids
		follow []float64 // author ids
	}
	for _, r := range []struct {
		token  string
		viewer int64
		want   view
	}{
		{tg.token, 7, view{liked: []float64{101}, follow: []float64{8}}},
		{bob, 8, view{liked: []float64{100, 102}, follow: []float64{7, 9}}},
		{tg.token, 7, view{liked: []float64{101}, follow: []float64{8}}},
	} {
		got, msg := tg.read(firstPage, r.token)
		if msg != "" {
			t.Fatal(msg)
		}
		var seen view
		var walk func(cs []map[string]any)
		walk = func(cs []map[string]any) {
			for _, c := range cs {
				if c["is_liked"] == true {
					seen.liked = append(seen.liked, c["id"].(float64))
				}
				u := c["user"].(map[string]any)
				if u["is_follow"] == true && !slices.Contains(seen.follow, u["id"].(float64)) {
					seen.follow = append(seen.follow, u["id"].(float64))
				}
				var replies []map[string]any
				for _, x := range c["replies"].([]any) {
					replies = append(replies, x.(map[string]any))
				}
				walk(replies)
			}
		}
		walk(commentsOf(t, got))
		slices.Sort(seen.liked)
		slices.Sort(seen.follow)
		if !slices.Equal(seen.liked, r.want.liked) || !slices.Equal(seen.follow, r.want.follow) {
			t.Fatalf("viewer %d: liked %v, follows %v; want %v, %v", r.viewer, seen.liked, seen.follow, r.want.liked, r.want.follow)
		}
		// Each reader's answer is what it is without kept pages.
		if want, _ := ref.read(firstPage, r.token); !bytes.Equal(got, want) {
			t.Fatalf("viewer %d answered\n%s\nwant\n%s", r.viewer, got, want)
		}
	}
	// Three readers: three answers of the comment role and three batches of
	// is_follow for them, and no assembly of the shared part (ref's calls
	// included: one of each per read).
	if got := cw.comments.listed(); !slices.Equal(got, []int64{7, 7, 8, 8, 7, 7}) {
		t.Fatalf("List calls %v", got)
	}
	if got := cw.relations.statsAsked(); !slices.Equal(got, []int64{7, 7, 8, 8, 7, 7}) {
		t.Fatalf("is_follow asked %v", got)
	}

	// A reader whose own held comment is on their page, by an author the kept
	// page does not show, gets it with its author.
	got := same(t, tg, ref, firstPage, held)
	if cs := commentsOf(t, got); cs[0]["id"] != 150.0 || cs[0]["state"] != "pending" || cs[0]["user"].(map[string]any)["id"] != 10.0 {
		t.Fatalf("held comment %v", cs[0])
	}
}

func TestDegradedCommentPageIsNotKept(t *testing.T) {
	cw := newCommentWorld()
	tg, ref, now := newCommentGateway(t, cw)
	same(t, tg, ref, firstPage, "")
	*now = now.Add(time.Second)
	cw.comments.listed()

	cw.favorites.set(refused)
	for i := range 2 {
		raw, msg := tg.read(firstPage, "")
		if msg != "" {
			t.Fatal(msg)
		}
		if u := commentsOf(t, raw)[1]["user"].(map[string]any); u["total_favorited"] != 0.0 {
			t.Fatalf("total_favorited %v without the favorite role", u["total_favorited"])
		}
		if n := len(cw.comments.listed()); n != 1 {
			t.Fatalf("read %d: %d assemblies, want 1: a degraded page was kept", i+1, n)
		}
	}
	cw.favorites.set(nil)
	for range 3 {
		raw, _ := tg.read(firstPage, "")
		if u := commentsOf(t, raw)[1]["user"].(map[string]any); u["total_favorited"] != 11.0 {
			t.Fatalf("total_favorited %v with the role back", u["total_favorited"])
		}
	}
	if n := len(cw.comments.listed()); n != 1 {
		t.Fatalf("%d assemblies, want 1: the full page is kept", n)
	}

	// Without the relation role a logged-in reader still gets the page, with
	// the kept counts and nobody followed.
	cw.relations.set(refused)
	raw, msg := tg.read(firstPage, tg.token)
	if msg != "" {
		t.Fatal(msg)
	}
	u := commentsOf(t, raw)[0]["user"].(map[string]any)
	if u["id"] != 8.0 || u["is_follow"] != false || u["follower_count"] != 1.0 || u["follow_count"] != 2.0 {
		t.Fatalf("author without the relation role %v", u)
	}
}

// A reader who comes after a write through this gateway never shares an
// assembly begun before the write: it assembles the page anew, and the page of
// the earlier assembly is not kept.
func TestCommentPageAssembledAcrossAWrite(t *testing.T) {
	cw := newCommentWorld()
	tg, ref, now := newCommentGateway(t, cw)
	same(t, tg, ref, firstPage, "")
	*now = now.Add(time.Second)
	cw.comments.listed()

	gate := make(chan struct{})
	cw.comments.mu.Lock()
	cw.comments.gate = gate
	cw.comments.mu.Unlock()
	early := make(chan []byte)
	go func() {
		got, _ := tg.read(firstPage, "")
		early <- got
	}()
	for deadline := time.Now().Add(10 * time.Second); len(cw.comments.listed()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first reader did not reach the comment role")
		}
		runtime.Gosched()
	}
	cw.comments.mu.Lock()
	cw.comments.gate = nil // later assemblies go straight through
	cw.comments.mu.Unlock()
	if r := tg.do("POST", "/douyin/comment/action/?video_id=1&action_type=1&comment_text=new"); code(t, r) != 0 {
		t.Fatalf("publishing: %v", r)
	}
	late := make(chan []byte)
	go func() {
		got, _ := tg.read(firstPage, "")
		late <- got
	}()
	select {
	case got := <-late:
		if cs := commentsOf(t, got); len(cs) == 0 || cs[0]["content"] != "new" {
			t.Fatalf("the reader after the write got %s", got)
		}
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatal("the reader after the write waited for the assembly begun before it")
	}
	close(gate)
	<-early
	// Neither assembly left a page older than the write: the next reader
	// reads the one assembled after it.
	if got := cw.comments.listed(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("List calls %v after the write, want the late reader's", got)
	}
	same(t, tg, ref, firstPage, "")
}
