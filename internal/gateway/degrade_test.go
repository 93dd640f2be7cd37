package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// What a Kitex client returns when its role is down: a refused connection, and
// the fail-fast of an open circuit breaker.
var (
	refused     = kerrors.ErrRemoteOrNetwork.WithCause(kerrors.ErrGetConnection.WithCause(errors.New("dial tcp 127.0.0.1:9101: connect: connection refused")))
	breakerOpen = kerrors.ErrServiceCircuitBreak
)

// outage makes a fake role's calls fail with an error while one is set.
type outage struct{ err atomic.Pointer[error] }

func (o *outage) set(err error) {
	if err == nil {
		o.err.Store(nil)
		return
	}
	o.err.Store(&err)
}

func (o *outage) get() error {
	if p := o.err.Load(); p != nil {
		return *p
	}
	return nil
}

// The fakes below hold a tiny world: users 7 (alice), 8 (bob) and 9 (carol);
// video 1 by 7 and video 2 by 8; comments on video 1 by 7 and 8, with a reply by 9.
var names = map[int64]string{7: "alice", 8: "bob", 9: "carol"}

// fakeUsers is the user role; while its outage is set every call fails.
type fakeUsers struct {
	user.UserService
	outage
}

func (f *fakeUsers) GetProfiles(_ context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	out := map[int64]*base.Profile{}
	for _, id := range req.UserIds {
		if n, ok := names[id]; ok {
			out[id] = &base.Profile{Id: id, Name: n, Signature: "hi from " + n}
		}
	}
	return &user.GetProfilesResponse{Profiles: out}, nil
}

func (f *fakeUsers) Login(context.Context, *user.LoginRequest) (*user.AuthResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &user.AuthResponse{UserId: 7, Token: "t"}, nil
}

func (f *fakeUsers) Register(context.Context, *user.RegisterRequest) (*user.AuthResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &user.AuthResponse{UserId: 10, Token: "t"}, nil
}

// fakeVideos is the video role; its outage takes only the work counts.
type fakeVideos struct {
	video.VideoService
	outage
}

var videos = []*video.Video{{Id: 1, AuthorId: 7, Title: "one", PlayKey: "v/1.mp4", CoverKey: "c/1.jpg"}, {Id: 2, AuthorId: 8, Title: "two", PlayKey: "v/2.mp4", CoverKey: "c/2.jpg"}}

func (f *fakeVideos) Feed(context.Context, *video.FeedRequest) (*video.FeedResponse, error) {
	return &video.FeedResponse{Videos: videos, NextTime: 1}, nil
}

func (f *fakeVideos) ListByAuthor(_ context.Context, req *video.ListByAuthorRequest) (*video.VideoListResponse, error) {
	var out []*video.Video
	for _, v := range videos {
		if v.AuthorId == req.AuthorId {
			out = append(out, v)
		}
	}
	return &video.VideoListResponse{Videos: out, Page: &base.PageInfo{}}, nil
}

func (f *fakeVideos) WorkCounts(_ context.Context, req *video.WorkCountsRequest) (*video.WorkCountsResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &video.WorkCountsResponse{Counts: map[int64]int64{7: 1, 8: 1}}, nil
}

// fakeFavorites is the favorite role; its outage takes only the user counts,
// videoOutage the videos' counts.
type fakeFavorites struct {
	favorite.FavoriteService
	outage
	videoOutage outage
}

func (f *fakeFavorites) VideoStats(context.Context, *favorite.VideoStatsRequest) (*favorite.VideoStatsResponse, error) {
	if err := f.videoOutage.get(); err != nil {
		return nil, err
	}
	return &favorite.VideoStatsResponse{Stats: map[int64]*favorite.VideoStats{1: {FavoriteCount: 5}}}, nil
}

func (f *fakeFavorites) UserStats(context.Context, *favorite.UserStatsRequest) (*favorite.UserStatsResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &favorite.UserStatsResponse{Stats: map[int64]*favorite.UserStats{7: {FavoriteCount: 3, TotalFavorited: 11}}}, nil
}

// fakeComments is the comment role; its outage takes only the videos' counts.
type fakeComments struct {
	comment.CommentService
	outage
}

func (*fakeComments) List(context.Context, *comment.ListRequest) (*comment.ListResponse, error) {
	return &comment.ListResponse{Comments: []*comment.Comment{
		{Id: 100, VideoId: 1, UserId: 7, Content: "first", CreateTime: 1, Floor: 1,
			Replies: []*comment.Comment{{Id: 102, VideoId: 1, UserId: 9, Content: "reply", CreateTime: 3, RootId: 100, ParentId: 100}}},
		{Id: 101, VideoId: 1, UserId: 8, Content: "second", CreateTime: 2, Floor: 2},
	}, Page: &base.PageInfo{}}, nil
}

func (f *fakeComments) VideoCounts(context.Context, *comment.VideoCountsRequest) (*comment.VideoCountsResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &comment.VideoCountsResponse{Counts: map[int64]int64{1: 3}}, nil
}

// fakeRelations is the relation role; its outage takes only the user counts.
type fakeRelations struct {
	relation.RelationService
	outage
}

func (f *fakeRelations) ListFollowing(context.Context, *relation.ListRequest) (*relation.ListResponse, error) {
	return &relation.ListResponse{UserIds: []int64{8, 9}, Page: &base.PageInfo{}}, nil
}

func (f *fakeRelations) UserStats(context.Context, *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	if err := f.get(); err != nil {
		return nil, err
	}
	return &relation.UserStatsResponse{Stats: map[int64]*relation.UserStats{7: {FollowCount: 1, FollowerCount: 2}, 8: {FollowerCount: 1}}}, nil
}

type fakeMessages struct{ message.MessageService }

func (fakeMessages) Chat(context.Context, *message.ChatRequest) (*message.ChatResponse, error) {
	return &message.ChatResponse{Messages: []*message.Message{{Id: 1, FromUserId: 8, ToUserId: 7, Content: "hey", CreateTime: 5}}, Page: &base.PageInfo{}}, nil
}

type world struct {
	users     *fakeUsers
	videos    *fakeVideos
	favorites *fakeFavorites
	relations *fakeRelations
	comments  *fakeComments
}

func (w *world) services() Services {
	return Services{User: w.users, Video: w.videos, Favorite: w.favorites, Comment: w.comments,
		Relation: w.relations, Message: fakeMessages{}}
}

func newWorld() *world {
	return &world{users: &fakeUsers{}, videos: &fakeVideos{}, favorites: &fakeFavorites{}, relations: &fakeRelations{}, comments: &fakeComments{}}
}

// testGateway is a Gateway over svcs whose routes are called in process, with the
// token of user 7.
type testGateway struct {
	t      *testing.T
	g      *Gateway
	token  string
	logs   *bytes.Buffer
	logsMu *sync.Mutex
}

func newTestGateway(t *testing.T, svcs Services) *testGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("k", 32))), nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Issue(7)
	if err != nil {
		t.Fatal(err)
	}
	tg := &testGateway{t: t, token: tok, logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	log := slog.New(slog.NewJSONHandler(lockedWriter{tg.logsMu, tg.logs}, nil))
	cfg := config.Default()
	cfg.HTTPAddr = ln.Addr().String()
	tg.g, err = New(Deps{Config: cfg, Services: svcs, Tokens: tokens, Limits: ratelimit.Disabled(),
		Log: log, Metrics: prometheus.NewRegistry(), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do calls a route (path with its query, the token added) and returns the JSON
// body, failing the test unless the answer is HTTP 200.
func (tg *testGateway) do(method, path string) map[string]any {
	tg.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	w := ut.PerformRequest(tg.g.h.Engine, method, "http://gw.test"+path+sep+"token="+tg.token, nil)
	r := w.Result()
	var body map[string]any
	if err := json.Unmarshal(r.Body(), &body); err != nil || r.StatusCode() != 200 {
		tg.t.Fatalf("%s %s: HTTP %d %s", method, path, r.StatusCode(), r.Body())
	}
	return body
}

// code is a response's status_code.
func code(t *testing.T, body map[string]any) base.ErrCode {
	t.Helper()
	c, ok := body["status_code"].(float64)
	if !ok {
		t.Fatalf("no status_code in %v", body)
	}
	return base.ErrCode(c)
}

// logged counts the log lines whose message starts with msg.
func (tg *testGateway) logged(msg string) int {
	tg.logsMu.Lock()
	defer tg.logsMu.Unlock()
	n := 0
	for _, l := range strings.Split(tg.logs.String(), "\n") {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(l), &rec) == nil && strings.HasPrefix(rec.Msg, msg) {
			n++
		}
	}
	return n
}

// degraded reads mdouyin_gateway_degraded_total{dependency=dep}.
func (tg *testGateway) degraded(dep string) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(tg.g.degradation().degraded)
	return degradedCounts(tg.t, reg)[dep]
}

// degradedCounts gathers mdouyin_gateway_degraded_total from g, by dependency.
func degradedCounts(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "mdouyin_gateway_degraded_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "dependency" {
					counts[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return counts
}

// checkUser checks that u (a User object from a response) has id and name, and the
// given counts; it returns u.
func checkUser(t *testing.T, what string, u any, id int64, name string, counts map[string]float64) map[string]any {
	t.Helper()
	m, ok := u.(map[string]any)
	if !ok {
		t.Fatalf("%s: user %v", what, u)
	}
	if m["id"] != float64(id) || m["name"] != name {
		t.Fatalf("%s: user %v, want id %d, name %q", what, m, id, name)
	}
	for k, want := range counts {
		if m[k] != want {
			t.Fatalf("%s: user %d has %s %v, want %v", what, id, k, m[k], want)
		}
	}
	for _, k := range []string{"avatar", "background_image"} {
		if s, _ := m[k].(string); !strings.HasPrefix(s, "http://gw.test/") {
			t.Fatalf("%s: user %d has %s %q, want a URL of ours", what, id, k, s)
		}
	}
	return m
}

func list(t *testing.T, body map[string]any, key string) []any {
	t.Helper()
	l, ok := body[key].([]any)
	if !ok {
		t.Fatalf("no %s in %v", key, body)
	}
	return l
}

// With the user role down (or cut off by its breaker), every list still answers,
// with minimal authors that keep the counts the other roles gave; the user's own
// page, login and register answer Unavailable. When the role answers again, full
// authors are back.
func TestListsDegradeWithoutTheUserRole(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{{"refused", refused}, {"breaker open", breakerOpen}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tg := newTestGateway(t, w.services())
			w.users.set(tc.err)

			feed := tg.do("GET", "/douyin/feed/")
			if code(t, feed) != base.ErrCode_OK {
				t.Fatalf("feed: %v", feed)
			}
			vs := list(t, feed, "video_list")
			if len(vs) != 2 {
				t.Fatalf("feed has %d videos, want 2: %v", len(vs), vs)
			}
			v := vs[0].(map[string]any)
			if v["favorite_count"] != 5.0 || v["comment_count"] != 3.0 {
				t.Fatalf("video counts lost: %v", v)
			}
			a := checkUser(t, "feed author", v["author"], 7, "", map[string]float64{
				"follow_count": 1, "follower_count": 2, "work_count": 1, "favorite_count": 3, "total_favorited": 11})
			if a["avatar"] != "http://gw.test/static/avatar/7.png" || a["background_image"] != "http://gw.test/static/background/7.png" || a["signature"] != "" {
				t.Fatalf("minimal author %v", a)
			}
			checkUser(t, "feed author", vs[1].(map[string]any)["author"], 8, "", map[string]float64{"follower_count": 1})

			pub := tg.do("GET", "/douyin/publish/list/?user_id=8")
			if code(t, pub) != base.ErrCode_OK || len(list(t, pub, "video_list")) != 1 {
				t.Fatalf("publish list: %v", pub)
			}
			checkUser(t, "publish list author", list(t, pub, "video_list")[0].(map[string]any)["author"], 8, "", nil)

			cl := tg.do("GET", "/douyin/comment/list/?video_id=1")
			if code(t, cl) != base.ErrCode_OK {
				t.Fatalf("comment list: %v", cl)
			}
			cs := list(t, cl, "comment_list")
			if len(cs) != 2 {
				t.Fatalf("comment list has %d comments: %v", len(cs), cs)
			}
			c0 := cs[0].(map[string]any)
			checkUser(t, "commenter", c0["user"], 7, "", map[string]float64{"follower_count": 2})
			checkUser(t, "replier", list(t, c0, "replies")[0].(map[string]any)["user"], 9, "", nil)
			checkUser(t, "commenter", cs[1].(map[string]any)["user"], 8, "", nil)

			fl := tg.do("GET", "/douyin/relation/follow/list/")
			if code(t, fl) != base.ErrCode_OK || len(list(t, fl, "user_list")) != 2 {
				t.Fatalf("follow list: %v", fl)
			}
			checkUser(t, "followed", list(t, fl, "user_list")[0], 8, "", map[string]float64{"follower_count": 1})

			chat := tg.do("GET", "/douyin/message/chat/?to_user_id=8")
			if code(t, chat) != base.ErrCode_OK || len(list(t, chat, "message_list")) != 1 {
				t.Fatalf("chat: %v", chat)
			}

			if n := tg.degraded(depUser); n != 4 {
				t.Fatalf("degraded_total{dependency=user} = %v after 4 degraded lists", n)
			}

			for _, route := range []string{"/douyin/user/", "/douyin/user/?user_id=8"} {
				info := tg.do("GET", route)
				if code(t, info) != base.ErrCode_Unavailable || info["status_msg"] != unavailableMsg || info["user"] != nil {
					t.Fatalf("user info %s without the user role: %v", route, info)
				}
			}
			for _, route := range []string{"/douyin/user/login/?username=alice&password=secret-123", "/douyin/user/register/?username=dave&password=secret-123"} {
				r := tg.do("POST", route)
				if code(t, r) != base.ErrCode_Unavailable || r["status_msg"] != unavailableMsg || r["token"] != "" {
					t.Fatalf("%s without the user role: %v", route, r)
				}
			}
			if n := tg.degraded(depUser); n != 4 {
				t.Fatalf("degraded_total{dependency=user} = %v: failed requests were counted as degraded", n)
			}
			if n := tg.degraded(depRelation) + tg.degraded(depFavorite) + tg.degraded(depVideo); n != 0 {
				t.Fatalf("roles that answered were counted as degraded %v times", n)
			}

			if n := tg.logged("a role is unavailable"); n != 1 {
				t.Fatalf("%d warnings for one outage, want 1:\n%s", n, tg.logs)
			}

			// The role is back: the next list has full authors.
			w.users.set(nil)
			feed = tg.do("GET", "/douyin/feed/")
			if n := tg.logged("a role answers again"); n != 1 {
				t.Fatalf("the role's return was logged %d times:\n%s", n, tg.logs)
			}
			a = checkUser(t, "feed author", list(t, feed, "video_list")[0].(map[string]any)["author"], 7, "alice", map[string]float64{"total_favorited": 11})
			if a["signature"] != "hi from alice" {
				t.Fatalf("full author %v", a)
			}
			info := tg.do("GET", "/douyin/user/?user_id=8")
			if code(t, info) != base.ErrCode_OK {
				t.Fatalf("user info with the role back: %v", info)
			}
			checkUser(t, "user info", info["user"], 8, "bob", nil)
		})
	}
}

// Without a role of counts, lists and the user's page answer with those counts 0.
func TestCountsDegradeWithoutTheirRoles(t *testing.T) {
	w := newWorld()
	tg := newTestGateway(t, w.services())
	w.relations.set(refused)
	w.favorites.set(breakerOpen)
	w.videos.set(kerrors.ErrRPCTimeout.WithCause(errors.New("timeout=3s")))

	zero := map[string]float64{"follow_count": 0, "follower_count": 0, "work_count": 0, "favorite_count": 0, "total_favorited": 0}
	feed := tg.do("GET", "/douyin/feed/")
	if code(t, feed) != base.ErrCode_OK {
		t.Fatalf("feed: %v", feed)
	}
	v := list(t, feed, "video_list")[0].(map[string]any)
	checkUser(t, "feed author", v["author"], 7, "alice", zero)
	if v["favorite_count"] != 5.0 {
		t.Fatalf("the video's own counts were lost: %v", v)
	}
	info := tg.do("GET", "/douyin/user/")
	if code(t, info) != base.ErrCode_OK {
		t.Fatalf("user info: %v", info)
	}
	checkUser(t, "user info", info["user"], 7, "alice", zero)
	for _, dep := range []string{depRelation, depFavorite, depVideo} {
		if n := tg.degraded(dep); n != 2 {
			t.Errorf("degraded_total{dependency=%s} = %v, want 2", dep, n)
		}
	}
	if n := tg.degraded(depUser); n != 0 {
		t.Errorf("degraded_total{dependency=user} = %v with the user role up", n)
	}
}

// Without the favorite or comment role a list of videos still answers, the
// videos' like and comment counts 0 and nothing marked liked.
func TestVideoCountsDegradeWithoutTheirRoles(t *testing.T) {
	w := newWorld()
	tg := newTestGateway(t, w.services())
	w.favorites.videoOutage.set(refused)
	w.comments.set(breakerOpen)
	for _, path := range []string{"/douyin/feed/", "/douyin/publish/list/?user_id=7"} {
		body := tg.do("GET", path)
		if code(t, body) != base.ErrCode_OK {
			t.Fatalf("%s: %v", path, body)
		}
		v := list(t, body, "video_list")[0].(map[string]any)
		if v["favorite_count"] != 0.0 || v["comment_count"] != 0.0 || v["is_favorite"] != false {
			t.Fatalf("%s: counts of roles that are down: %v", path, v)
		}
		checkUser(t, path+" author", v["author"], 7, "alice", nil)
	}
	if n := tg.degraded(depFavorite); n != 2 {
		t.Errorf("degraded_total{dependency=favorite} = %v, want 2", n)
	}
	if n := tg.degraded(depComment); n != 2 {
		t.Errorf("degraded_total{dependency=comment} = %v, want 2", n)
	}
	w.favorites.videoOutage.set(nil)
	w.comments.set(nil)
	v := list(t, tg.do("GET", "/douyin/feed/"), "video_list")[0].(map[string]any)
	if v["favorite_count"] != 5.0 || v["comment_count"] != 3.0 {
		t.Fatalf("counts with the roles back: %v", v)
	}
}

// Business errors are answers: they fail the request with their own code, however
// unimportant the role. Failures that are not a role being unavailable are not
// degraded either.
func TestBusinessErrorsAreNotDegraded(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(w *world)
		want base.ErrCode
	}{
		{"user role", func(w *world) { w.users.set(errs.New(base.ErrCode_InvalidArgument, "too many ids")) }, base.ErrCode_InvalidArgument},
		{"relation role", func(w *world) { w.relations.set(errs.New(base.ErrCode_RateLimited, "slow down")) }, base.ErrCode_RateLimited},
		{"business status over RPC", func(w *world) {
			w.favorites.set(kerrors.NewBizStatusError(int32(base.ErrCode_PermissionDenied), "no"))
		}, base.ErrCode_PermissionDenied},
		{"in-process failure", func(w *world) { w.users.set(errors.New("bug: nil map")) }, base.ErrCode_Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tg := newTestGateway(t, w.services())
			tc.set(w)
			for _, route := range []string{"/douyin/feed/", "/douyin/comment/list/?video_id=1", "/douyin/relation/follow/list/"} {
				if body := tg.do("GET", route); code(t, body) != tc.want {
					t.Fatalf("%s: %v, want status_code %d", route, body, tc.want)
				}
			}
			for _, dep := range []string{depUser, depRelation, depFavorite, depVideo} {
				if n := tg.degraded(dep); n != 0 {
					t.Fatalf("degraded_total{dependency=%s} = %v", dep, n)
				}
			}
		})
	}
}

// A role that stays down is logged once per degradeLogEvery, not once per
// request, and its return once.
func TestDegradationLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	reg := prometheus.NewRegistry()
	d := newDegrader(reg, slog.New(slog.NewJSONHandler(&buf, nil)))
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	lines := func() []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		buf.Reset()
		return out
	}
	ctx := context.Background()

	for i := 0; i < 100; i++ {
		d.unavailable(ctx, depUser, refused, i%10 != 0) // 90 degraded, 10 failed
		now = now.Add(time.Millisecond)
	}
	got := lines()
	if len(got) != 1 || got[0]["level"] != "WARN" || got[0]["dependency"] != depUser {
		t.Fatalf("100 requests without the user role logged %v", got)
	}
	d.answered(depRelation) // another role, never down: nothing to say
	d.answered(depUser)
	d.answered(depUser)
	got = lines()
	if len(got) != 1 || got[0]["level"] != "INFO" || got[0]["degraded_requests"] != 90.0 || got[0]["failed_requests"] != 9.0 {
		t.Fatalf("the role's return logged %v", got)
	}

	// A role that flaps within the interval is not logged again...
	for i := 0; i < 5; i++ {
		d.unavailable(ctx, depUser, refused, true)
		d.answered(depUser)
	}
	if got = lines(); len(got) != 0 {
		t.Fatalf("a flapping role logged %v", got)
	}
	// ...until the interval has passed, with what happened meanwhile.
	now = now.Add(degradeLogEvery)
	d.unavailable(ctx, depUser, refused, true)
	got = lines()
	if len(got) != 1 || got[0]["level"] != "WARN" || got[0]["degraded_requests"] != 6.0 {
		t.Fatalf("after the interval: %v", got)
	}
	// Each role is logged on its own.
	d.unavailable(ctx, depFavorite, refused, true)
	if got = lines(); len(got) != 1 || got[0]["dependency"] != depFavorite {
		t.Fatalf("another role: %v", got)
	}

	counts := degradedCounts(t, reg)
	if counts[depUser] != 96 || counts[depFavorite] != 1 || counts[depRelation] != 0 {
		t.Fatalf("mdouyin_gateway_degraded_total %v", counts)
	}
	if _, ok := counts[depMessage]; !ok {
		t.Fatalf("no series for the message role before it degraded: %v", counts)
	}
}

func TestDegradable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{refused, true},
		{breakerOpen, true},
		{kerrors.ErrInstanceCircuitBreak, true},
		{kerrors.ErrRPCTimeout.WithCause(errors.New("timeout=3s")), true},
		{kerrors.ErrRemoteOrNetwork.WithCauseAndExtraMsg(errors.New("handler failed"), "remote"), true},
		{errs.New(base.ErrCode_Unavailable, "busy"), false},
		{kerrors.NewBizStatusError(int32(base.ErrCode_UserNotFound), "no"), false},
		{errors.New("in-process bug"), false},
	} {
		if got := degradable(tc.err); got != tc.want {
			t.Errorf("degradable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
