package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/ut"

	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// cacheWorld is the tiny world of degrade_test.go with roles that count what they
// are asked: feeds by the video role, profiles by the user role.
type cacheWorld struct {
	*world
	videos   *countingVideos
	users    *countingUsers
	comments *countingComments
}

// countingVideos answers every feed with videos 1 and 2, created at newest and
// 10 s before it (epoch ms), and records the requests.
type countingVideos struct {
	*fakeVideos
	newest int64
	mu     sync.Mutex
	feeds  []*video.FeedRequest
}

func (c *countingVideos) Feed(_ context.Context, req *video.FeedRequest) (*video.FeedResponse, error) {
	c.mu.Lock()
	c.feeds = append(c.feeds, req)
	c.mu.Unlock()
	vs := make([]*video.Video, len(videos))
	for i, v := range videos {
		cp := *v
		cp.CreateTime = c.newest - int64(i)*10_000
		vs[i] = &cp
	}
	return &video.FeedResponse{Videos: vs, NextTime: vs[len(vs)-1].CreateTime}, nil
}

func (c *countingVideos) requests() []*video.FeedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.feeds)
}

// countingUsers records the ids of every GetProfiles call.
type countingUsers struct {
	*fakeUsers
	mu    sync.Mutex
	asked [][]int64
}

func (c *countingUsers) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	c.mu.Lock()
	c.asked = append(c.asked, slices.Sorted(slices.Values(req.UserIds)))
	c.mu.Unlock()
	return c.fakeUsers.GetProfiles(ctx, req)
}

func (c *countingUsers) calls() [][]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.asked)
}

// countingComments lets comments be published and deleted, each changing video
// 1's comment count.
type countingComments struct {
	*fakeComments
	count atomic.Int64
}

func (c *countingComments) VideoCounts(ctx context.Context, req *comment.VideoCountsRequest) (*comment.VideoCountsResponse, error) {
	if err := c.get(); err != nil {
		return nil, err
	}
	return &comment.VideoCountsResponse{Counts: map[int64]int64{1: c.count.Load()}}, nil
}

func (c *countingComments) Publish(_ context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	c.count.Add(1)
	return &comment.PublishResponse{Comment: &comment.Comment{Id: 200, VideoId: req.VideoId, UserId: req.UserId, Content: req.Content, CreateTime: 1}}, nil
}

func (c *countingComments) Delete(context.Context, *comment.DeleteRequest) (*comment.DeleteResponse, error) {
	c.count.Add(-1)
	return &comment.DeleteResponse{}, nil
}

// cacheT0 is the fake clock's start; the videos are a little older.
var cacheT0 = time.Unix(1_800_000_000, 0)

func newCacheWorld() *cacheWorld {
	w := newWorld()
	cw := &cacheWorld{world: w,
		videos:   &countingVideos{fakeVideos: w.videos, newest: cacheT0.Add(-time.Minute).UnixMilli()},
		users:    &countingUsers{fakeUsers: w.users},
		comments: &countingComments{fakeComments: w.comments},
	}
	cw.comments.count.Store(3)
	return cw
}

func (cw *cacheWorld) services() Services {
	s := cw.world.services()
	s.Video, s.User, s.Comment = cw.videos, cw.users, cw.comments
	return s
}

// newCacheGateway is a test gateway over cw whose guest pages read a clock the
// test moves.
func newCacheGateway(t *testing.T, cw *cacheWorld) (*testGateway, *time.Time) {
	t.Helper()
	tg := newTestGateway(t, cw.services())
	now := cacheT0
	tg.g.cache.guest.now = func() time.Time { return now }
	return tg, &now
}

// guest calls a route without a token, through host, and returns the raw body.
func (tg *testGateway) guest(method, host, path string) []byte {
	tg.t.Helper()
	w := ut.PerformRequest(tg.g.h.Engine, method, "http://"+host+path, nil)
	r := w.Result()
	if r.StatusCode() != 200 {
		tg.t.Fatalf("%s %s: HTTP %d %s", method, path, r.StatusCode(), r.Body())
	}
	return bytes.Clone(r.Body())
}

// feedOf decodes a feed answer, failing unless it succeeded.
func feedOf(t *testing.T, raw []byte) (videos []map[string]any, nextTime float64) {
	t.Helper()
	var body struct {
		StatusCode int              `json:"status_code"`
		VideoList  []map[string]any `json:"video_list"`
		NextTime   *float64         `json:"next_time"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.StatusCode != 0 || body.NextTime == nil || body.VideoList == nil {
		t.Fatalf("feed answer %s", raw)
	}
	return body.VideoList, *body.NextTime
}

func TestGuestFeedIsAssembledOncePerLifetime(t *testing.T) {
	cw := newCacheWorld()
	tg, now := newCacheGateway(t, cw)

	first := tg.guest("GET", "gw.test", "/douyin/feed/")
	vs, next := feedOf(t, first)
	if len(vs) != 2 || vs[0]["comment_count"] != 3.0 || vs[0]["favorite_count"] != 5.0 || next != float64(cw.videos.newest-10_000) {
		t.Fatalf("guest feed %s", first)
	}
	checkUser(t, "guest feed author", vs[0]["author"], 7, "alice", map[string]float64{"total_favorited": 11})
	// Anonymous requests of every type, an invalid token and the route without
	// its slash all read the global timeline's first page: the same bytes.
	for _, path := range []string{"/douyin/feed/", "/douyin/feed", "/douyin/feed/?type=global", "/douyin/feed/?type=following",
		"/douyin/feed/?token=not-a-token", "/douyin/feed/?latest_time=0"} {
		if got := tg.guest("GET", "gw.test", path); !bytes.Equal(got, first) {
			t.Fatalf("%s answered %s, want the page %s", path, got, first)
		}
	}
	if reqs := cw.videos.requests(); len(reqs) != 1 || reqs[0].GetViewerId() != 0 || reqs[0].GetLatestTime() != 0 {
		t.Fatalf("feed requests to the video role: %v, want one for the first page", reqs)
	}

	// Media URLs come from the Host: another one gets a page of its own.
	other := tg.guest("GET", "other.test:8080", "/douyin/feed/")
	if !strings.Contains(string(other), "http://other.test:8080/media/v/1.mp4") || strings.Contains(string(other), "gw.test") {
		t.Fatalf("page for another host %s", other)
	}
	if n := len(cw.videos.requests()); n != 2 {
		t.Fatalf("%d feed requests after a second host, want 2", n)
	}

	// Past its lifetime the page is assembled again, with the counts of then.
	cw.comments.count.Store(9)
	*now = now.Add(guestPageTTL)
	vs, _ = feedOf(t, tg.guest("GET", "gw.test", "/douyin/feed/"))
	if vs[0]["comment_count"] != 9.0 || len(cw.videos.requests()) != 3 {
		t.Fatalf("after the lifetime: comment_count %v, %d feed requests", vs[0]["comment_count"], len(cw.videos.requests()))
	}
}

func TestGuestFeedIsDroppedByTheWritesItShows(t *testing.T) {
	cw := newCacheWorld()
	tg, _ := newCacheGateway(t, cw)
	count := func() any {
		vs, _ := feedOf(t, tg.guest("GET", "gw.test", "/douyin/feed/"))
		return vs[0]["comment_count"]
	}
	if c := count(); c != 3.0 {
		t.Fatalf("comment_count %v, want 3", c)
	}
	if r := tg.do("POST", "/douyin/comment/action/?video_id=1&action_type=1&comment_text=hi"); code(t, r) != 0 {
		t.Fatalf("publishing a comment: %v", r)
	}
	if c := count(); c != 4.0 {
		t.Fatalf("comment_count right after a comment %v, want 4", c)
	}
	if r := tg.do("POST", "/douyin/comment/action/?video_id=1&action_type=2&comment_id=200"); code(t, r) != 0 {
		t.Fatalf("deleting a comment: %v", r)
	}
	if c := count(); c != 3.0 {
		t.Fatalf("comment_count right after a delete %v, want 3", c)
	}
	if n := len(cw.videos.requests()); n != 3 {
		t.Fatalf("%d feed requests, want 3 (one per write)", n)
	}
}

func TestDegradedGuestFeedIsNotKept(t *testing.T) {
	cw := newCacheWorld()
	tg, _ := newCacheGateway(t, cw)
	cw.favorites.videoOutage.set(refused)
	for i := range 2 {
		vs, _ := feedOf(t, tg.guest("GET", "gw.test", "/douyin/feed/"))
		if vs[0]["favorite_count"] != 0.0 {
			t.Fatalf("favorite_count %v without the favorite role", vs[0]["favorite_count"])
		}
		if n := len(cw.videos.requests()); n != i+1 {
			t.Fatalf("%d feed requests after %d degraded pages: a degraded page was kept", n, i+1)
		}
	}
	cw.favorites.videoOutage.set(nil)
	for range 2 {
		vs, _ := feedOf(t, tg.guest("GET", "gw.test", "/douyin/feed/"))
		if vs[0]["favorite_count"] != 5.0 {
			t.Fatalf("favorite_count %v with the role back", vs[0]["favorite_count"])
		}
	}
	if n := len(cw.videos.requests()); n != 3 {
		t.Fatalf("%d feed requests, want 3: the full page is kept", n)
	}
}

func TestGuestFeedLatestTime(t *testing.T) {
	cw := newCacheWorld()
	tg, _ := newCacheGateway(t, cw)
	page := tg.guest("GET", "gw.test", "/douyin/feed/")
	newest := cw.videos.newest
	ms := func(v int64) string { return "/douyin/feed/?latest_time=" + strconv.FormatInt(v, 10) }

	// Any time after the page's newest video asks for the same page: the app
	// sends its clock's now on its first request.
	for _, path := range []string{ms(newest + 1), ms(cacheT0.UnixMilli()), ms(cacheT0.Add(time.Hour).UnixMilli()), ms(cacheT0.Unix())} {
		if got := tg.guest("GET", "gw.test", path); !bytes.Equal(got, page) {
			t.Fatalf("%s answered %s, want the first page", path, got)
		}
	}
	if n := len(cw.videos.requests()); n != 1 {
		t.Fatalf("%d feed requests, want 1", n)
	}
	// A time at or before it is a later page: the video role is asked.
	for i, latest := range []int64{newest, newest - 5_000, cacheT0.Add(-time.Hour).UnixMilli()} {
		tg.guest("GET", "gw.test", ms(latest))
		reqs := cw.videos.requests()
		if len(reqs) != i+2 || reqs[i+1].GetLatestTime() != latest || reqs[i+1].GetViewerId() != 0 {
			t.Fatalf("latest_time %d: feed requests %v", latest, reqs)
		}
	}
}

func TestLoggedInFeedIsNotShared(t *testing.T) {
	cw := newCacheWorld()
	tg, _ := newCacheGateway(t, cw)
	tg.guest("GET", "gw.test", "/douyin/feed/")
	for range 2 {
		if r := tg.do("GET", "/douyin/feed/"); code(t, r) != 0 {
			t.Fatalf("logged-in feed %v", r)
		}
	}
	reqs := cw.videos.requests()
	if len(reqs) != 3 || reqs[1].GetViewerId() != 7 || reqs[2].GetViewerId() != 7 {
		t.Fatalf("feed requests %v: each logged-in feed is the viewer's own", reqs)
	}
}

func TestProfilesAreAskedForOnce(t *testing.T) {
	cw := newCacheWorld()
	tg, _ := newCacheGateway(t, cw)
	for range 2 {
		checkUser(t, "user info", tg.do("GET", "/douyin/user/?user_id=8")["user"], 8, "bob", nil)
	}
	// The feed's authors are 7 and 8: only 7 is asked for.
	vs := list(t, tg.do("GET", "/douyin/feed/"), "video_list")
	checkUser(t, "feed author", vs[0].(map[string]any)["author"], 7, "alice", nil)
	checkUser(t, "feed author", vs[1].(map[string]any)["author"], 8, "bob", nil)
	// Ids without an account are asked for every time: one may be made.
	tg.do("GET", "/douyin/user/?user_id=12")
	tg.do("GET", "/douyin/user/?user_id=12")
	want := [][]int64{{8}, {7}, {12}, {12}}
	if got := cw.users.calls(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("profiles asked for %v, want %v", got, want)
	}
}
