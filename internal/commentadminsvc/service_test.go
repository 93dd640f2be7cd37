package commentadminsvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentadminservice"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// fakeUsers names users "user-<id>", as the user role would.
type fakeUsers struct{ user.UserService }

func (fakeUsers) GetProfiles(_ context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	out := map[int64]*base.Profile{}
	for _, id := range req.GetUserIds() {
		out[id] = &base.Profile{Id: id, Name: fmt.Sprintf("user-%d", id)}
	}
	return &user.GetProfilesResponse{Profiles: out}, nil
}

type fixture struct {
	api      comment.CommentAdminService
	svc      *commentadminsvc.Service
	comments *commentsvc.Service
	videos   *svctest.Videos
	ids      *idgen.Generator
	bus      *mq.Bus
	audit    *commentadminsvc.AuditLog
	log      *slog.Logger
}

// newFixture runs the comment role (store, writers, outbox) and the comment-admin
// role with its index fed from the comment role's events, on the database open
// gives both.
func newFixture(t *testing.T, d *db.DB, place string) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := svctest.Bus(t)
	if err := commentsvc.EnsureStreams(ctx, bus); err != nil {
		t.Fatal(err)
	}
	ob := svctest.Outbox(t, d, "comment", bus, log)
	store, err := commentsvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(7)
	if err != nil {
		t.Fatal(err)
	}
	videos := svctest.NewVideos()
	comments, err := commentsvc.New(store, videos, ids, bus, cache.NewLocal(1000), cache.NewLocalSortedSets(100), log, commentsvc.Options{SensitiveWords: []string{"违禁"}})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := commentadminsvc.NewAuditLog(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	index, err := commentadminsvc.OpenIndex(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	svc := commentadminsvc.New(index, audit, comments, fakeUsers{}, ids, log)
	var wg sync.WaitGroup
	wg.Go(func() { _ = ob.Run(ctx) })
	wg.Go(func() { _ = comments.RunWriters(ctx) })
	wg.Go(func() { _ = svc.RunIndexer(ctx, bus, "test-indexer") })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		comments.Close()
		index.Close()
	})
	f := &fixture{svc: svc, comments: comments, videos: videos, ids: ids, bus: bus, audit: audit, log: log, api: svc}
	if place == "kitex" {
		addr := svctest.ServeKitex(t, "comment-admin", func(o []server.Option) server.Server { return commentadminservice.NewServer(svc, o...) })
		c, err := commentadminservice.NewClient("comment-admin", rpc.ClientOptions("comment-admin", []string{addr}, 30*time.Second)...)
		if err != nil {
			t.Fatal(err)
		}
		f.api = commentadminsvc.NewRemote(c)
	}
	return f
}

func TestCommentAdminService(t *testing.T) {
	for dbName, open := range svctest.Databases("commentadminsvc") {
		for _, place := range []string{"direct", "kitex"} {
			t.Run(dbName+"/"+place, func(t *testing.T) {
				f := newFixture(t, open(t), place)
				t.Run("events reach the index", f.testIndexing)
				t.Run("review transitions and audit", f.testReview)
				t.Run("detail shows the whole thread", f.testDetail)
				t.Run("bad input", f.testBadInput)
				t.Run("reindex rebuilds from the comment role", f.testReindex)
				t.Run("a burst is indexed in batches", f.testBurst)
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

func (f *fixture) video(t *testing.T) (vid, author int64) {
	vid, author = f.id(t), f.id(t)
	f.videos.Add(vid, author)
	return vid, author
}

func (f *fixture) publish(t *testing.T, user, vid, parent int64, text string) *comment.Comment {
	t.Helper()
	r, err := f.comments.Publish(context.Background(), &comment.PublishRequest{UserId: user, VideoId: vid, Content: text, ParentId: parent})
	if err != nil {
		t.Fatalf("publish %q: %v", text, err)
	}
	return r.GetComment()
}

// searchUntil polls a search until ok accepts it: events reach the index
// asynchronously.
func (f *fixture) searchUntil(t *testing.T, req *comment.SearchRequest, ok func(*comment.SearchResponse) bool) *comment.SearchResponse {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := f.api.Search(context.Background(), req)
		if err != nil {
			t.Fatalf("search %v: %v", req, err)
		}
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %v never matched; last answer %v", req, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(cs []*comment.Comment) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.GetId()
	}
	return out
}

func (f *fixture) testIndexing(t *testing.T) {
	vid, author := f.video(t)
	a, b := f.id(t), f.id(t)
	c1 := f.publish(t, a, vid, 0, "这个UP主做的视频真不错")
	c2 := f.publish(t, b, vid, 0, "weather is nice 天气很好")
	held := f.publish(t, b, vid, 0, "含有违禁内容")
	reply := f.publish(t, author, vid, c1.GetId(), "谢谢支持")
	all := f.searchUntil(t, &comment.SearchRequest{VideoId: vid}, func(r *comment.SearchResponse) bool { return r.GetTotal() == 4 })
	// Newest first, joined with the commenters' names.
	if got, want := ids(all.GetItems()), []int64{reply.GetId(), held.GetId(), c2.GetId(), c1.GetId()}; !slices.Equal(got, want) {
		t.Fatalf("newest first = %v, want %v", got, want)
	}
	if it := all.GetItems()[3]; it.GetUserName() != fmt.Sprintf("user-%d", a) || it.GetContent() != c1.GetContent() || it.GetFloor() != 1 {
		t.Fatalf("indexed document = %+v", it)
	}
	for _, c := range []struct {
		req  *comment.SearchRequest
		want []int64
	}{
		{&comment.SearchRequest{VideoId: vid, Q: "UP主"}, []int64{c1.GetId()}},
		{&comment.SearchRequest{VideoId: vid, Q: "天气"}, []int64{c2.GetId()}},
		{&comment.SearchRequest{VideoId: vid, Q: "WEATHER"}, []int64{c2.GetId()}},
		{&comment.SearchRequest{VideoId: vid, State: comment.CommentState_Pending}, []int64{held.GetId()}},
		{&comment.SearchRequest{VideoId: vid, UserId: b, Q: "很好"}, []int64{c2.GetId()}},
		{&comment.SearchRequest{RootId: c1.GetId()}, []int64{reply.GetId()}},
		{&comment.SearchRequest{VideoId: vid, ToTime: c1.GetCreateTime() + 1}, []int64{c1.GetId()}},
		{&comment.SearchRequest{VideoId: vid, Limit: 1, Offset: 1}, []int64{held.GetId()}},
	} {
		r, err := f.api.Search(context.Background(), c.req)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(r.GetItems()); !slices.Equal(got, c.want) {
			t.Errorf("search %+v = %v, want %v", c.req, got, c.want)
		}
	}
	// A like reaches the document.
	if _, err := f.comments.Like(context.Background(), &comment.LikeRequest{UserId: b, CommentId: c1.GetId(), Like: true}); err != nil {
		t.Fatal(err)
	}
	f.searchUntil(t, &comment.SearchRequest{VideoId: vid, Q: "UP主"}, func(r *comment.SearchResponse) bool {
		return len(r.GetItems()) == 1 && r.GetItems()[0].GetLikeCount() == 1 && r.GetItems()[0].GetContent() == c1.GetContent()
	})
}

func (f *fixture) testReview(t *testing.T) {
	ctx := context.Background()
	vid, _ := f.video(t)
	u := f.id(t)
	held := f.publish(t, u, vid, 0, "违禁词在此")
	shown := f.publish(t, u, vid, 0, "一条普通评论")
	review := func(id int64, a comment.ReviewAction) (*comment.ReviewResponse, error) {
		return f.api.Review(ctx, &comment.ReviewRequest{Admin: "admin", CommentId: id, Action: a})
	}
	const (
		approve = comment.ReviewAction_Approve
		reject  = comment.ReviewAction_Reject
		del     = comment.ReviewAction_Delete
		restore = comment.ReviewAction_Restore
	)
	steps := []struct {
		id       int64
		action   comment.ReviewAction
		code     base.ErrCode
		from, to comment.CommentState
	}{
		{held.GetId(), approve, 0, comment.CommentState_Pending, comment.CommentState_Visible},
		{held.GetId(), approve, base.ErrCode_Conflict, 0, 0},
		{held.GetId(), restore, base.ErrCode_Conflict, 0, 0},
		{held.GetId(), reject, 0, comment.CommentState_Visible, comment.CommentState_Rejected},
		{held.GetId(), approve, 0, comment.CommentState_Rejected, comment.CommentState_Visible},
		{shown.GetId(), del, 0, comment.CommentState_Visible, comment.CommentState_Deleted},
		{shown.GetId(), del, 0, comment.CommentState_Deleted, comment.CommentState_Deleted},
		{shown.GetId(), reject, base.ErrCode_Conflict, 0, 0},
		{shown.GetId(), restore, 0, comment.CommentState_Deleted, comment.CommentState_Visible},
		{f.id(t), del, base.ErrCode_CommentNotFound, 0, 0},
	}
	for i, st := range steps {
		r, err := review(st.id, st.action)
		if st.code != 0 {
			svctest.WantCode(t, err, st.code)
			continue
		}
		if err != nil || r.GetFromState() != st.from || r.GetToState() != st.to {
			t.Fatalf("step %d (%v): %v, %v; want %v -> %v", i, st.action, r, err, st.from, st.to)
		}
	}
	counts, err := f.comments.VideoCounts(ctx, &comment.VideoCountsRequest{VideoIds: []int64{vid}})
	if err != nil || counts.GetCounts()[vid] != 2 {
		t.Fatalf("comment_count after the reviews = %v, %v; want 2", counts.GetCounts()[vid], err)
	}
	a, err := f.api.Audit(ctx, &comment.AuditRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, e := range a.GetItems() {
		if e.GetCommentId() == held.GetId() || e.GetCommentId() == shown.GetId() {
			if e.GetAdmin() != "admin" || e.GetAt() == 0 {
				t.Fatalf("audit entry %+v", e)
			}
			mine = append(mine, fmt.Sprintf("%v:%v>%v", e.GetAction(), e.GetFromState(), e.GetToState()))
		}
	}
	want := []string{"Restore:Deleted>Visible", "Delete:Deleted>Deleted", "Delete:Visible>Deleted", "Approve:Rejected>Visible",
		"Reject:Visible>Rejected", "Approve:Pending>Visible"}
	if !slices.Equal(mine, want) {
		t.Fatalf("audit = %v\nwant    %v", mine, want)
	}
	// The index follows the reviews.
	f.searchUntil(t, &comment.SearchRequest{VideoId: vid, State: comment.CommentState_Visible}, func(r *comment.SearchResponse) bool {
		return r.GetTotal() == 2
	})
}

func (f *fixture) testDetail(t *testing.T) {
	vid, author := f.video(t)
	u := f.id(t)
	root := f.publish(t, u, vid, 0, "楼主")
	r1 := f.publish(t, author, vid, root.GetId(), "回复一")
	r2 := f.publish(t, u, vid, r1.GetId(), "回复二")
	if _, err := f.comments.Delete(context.Background(), &comment.DeleteRequest{UserId: u, CommentId: r2.GetId()}); err != nil {
		t.Fatal(err)
	}
	f.searchUntil(t, &comment.SearchRequest{RootId: root.GetId()}, func(r *comment.SearchResponse) bool { return r.GetTotal() == 2 })
	d, err := f.api.Detail(context.Background(), &comment.DetailRequest{CommentId: r1.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetComment().GetId() != r1.GetId() || d.GetComment().GetUserName() != fmt.Sprintf("user-%d", author) {
		t.Fatalf("detail comment = %+v", d.GetComment())
	}
	if got, want := ids(d.GetThread()), []int64{root.GetId(), r1.GetId(), r2.GetId()}; !slices.Equal(got, want) {
		t.Fatalf("thread = %v, want %v (every state, floor order)", got, want)
	}
	for _, c := range d.GetThread() {
		if c.GetUserName() != fmt.Sprintf("user-%d", c.GetUserId()) {
			t.Fatalf("thread comment %d is named %q", c.GetId(), c.GetUserName())
		}
	}
	// The root's reply count follows its replies in the index too.
	f.searchUntil(t, &comment.SearchRequest{VideoId: vid, RootId: 0, State: comment.CommentState_Visible}, func(r *comment.SearchResponse) bool {
		for _, c := range r.GetItems() {
			if c.GetId() == root.GetId() {
				return c.GetReplyCount() == 1
			}
		}
		return false
	})
	if st := d.GetThread()[2].GetState(); st != comment.CommentState_Deleted {
		t.Fatalf("a deleted reply shows as %v", st)
	}
	_, err = f.api.Detail(context.Background(), &comment.DetailRequest{CommentId: f.id(t)})
	svctest.WantCode(t, err, base.ErrCode_CommentNotFound)
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	for _, req := range []*comment.SearchRequest{
		{State: 9}, {VideoId: -1}, {Limit: 101}, {Offset: -1}, {FromTime: 10, ToTime: 5}, {Offset: 20000},
	} {
		_, err := f.api.Search(ctx, req)
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	}
	for _, q := range []string{`"`, `(a OR b`, `+-&&||!(){}[]^"~*?:\/`, "\xff", "title:x AND y"} {
		if _, err := f.api.Search(ctx, &comment.SearchRequest{Q: q}); err != nil {
			t.Errorf("q=%q: %v", q, err)
		}
	}
	_, err := f.api.Review(ctx, &comment.ReviewRequest{Admin: "admin", CommentId: f.id(t), Action: 9})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Review(ctx, &comment.ReviewRequest{CommentId: f.id(t), Action: comment.ReviewAction_Approve})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	if e, ok := errs.From(err); !ok || e.Msg == "" {
		t.Fatalf("a refused review carries no message: %v", err)
	}
}

// testReindex rebuilds a second, empty index from the comment role alone and
// finds every comment there.
func (f *fixture) testReindex(t *testing.T) {
	vid, _ := f.video(t)
	for i := range 25 {
		f.publish(t, f.id(t), vid, 0, fmt.Sprintf("重建索引 %d", i))
	}
	index, err := commentadminsvc.OpenIndex(filepath.Join(t.TempDir(), "rebuilt"))
	if err != nil {
		t.Fatal(err)
	}
	defer index.Close()
	fresh := commentadminsvc.New(index, f.audit, f.comments, fakeUsers{}, f.ids, f.log)
	var progress countProgress
	n, err := fresh.Reindex(context.Background(), &progress)
	if err != nil {
		t.Fatal(err)
	}
	total, err := index.Count()
	if err != nil {
		t.Fatal(err)
	}
	if n < 25 || int64(total) != n || progress.n != n {
		t.Fatalf("reindex indexed %d (index holds %d, progress saw %d); want at least 25 and all equal", n, total, progress.n)
	}
	r, err := fresh.Search(context.Background(), &comment.SearchRequest{VideoId: vid, Q: "重建"})
	if err != nil || r.GetTotal() != 25 {
		t.Fatalf("search in the rebuilt index: %v, %v", r.GetTotal(), err)
	}
}

type countProgress struct{ n int64 }

func (p *countProgress) Add(n int64) { p.n += n }

// testBurst publishes 300 comments from 30 writers at once and waits until every
// one is searchable: events are indexed in batches, so a burst does not queue up
// behind one disk write per event. It logs how long the last one took.
func (f *fixture) testBurst(t *testing.T) {
	vid, _ := f.video(t)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 30 {
		user := f.id(t)
		wg.Go(func() {
			for i := range 10 {
				if _, err := f.comments.Publish(context.Background(), &comment.PublishRequest{UserId: user, VideoId: vid,
					Content: fmt.Sprintf("突发 %d-%d", w, i)}); err != nil {
					t.Errorf("publish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	published := time.Since(start)
	f.searchUntil(t, &comment.SearchRequest{VideoId: vid, Q: "突发"}, func(r *comment.SearchResponse) bool { return r.GetTotal() == 300 })
	t.Logf("300 comments published in %v; all searchable %v after the first publish began", published.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
}
