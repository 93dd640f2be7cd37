package favoritesvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite/favoriteservice"
)

// placement builds the favorite service under test and returns the interface
// callers use: the Go implementation itself, or a Kitex client of a real server on
// loopback.
type placement func(t *testing.T, svc *favoritesvc.Service) favorite.FavoriteService

var placements = map[string]placement{
	"direct": func(t *testing.T, svc *favoritesvc.Service) favorite.FavoriteService { return svc },
	"kitex":  viaKitex,
}

func viaKitex(t *testing.T, svc *favoritesvc.Service) favorite.FavoriteService {
	t.Helper()
	addr := svctest.ServeKitex(t, "favorite", func(o []server.Option) server.Server { return favoriteservice.NewServer(svc, o...) })
	c, err := favoriteservice.NewClient("favorite", rpc.ClientOptions("favorite", []string{addr}, 30*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}
	return favoritesvc.NewRemote(c)
}

// databases opens an empty database for the service on each engine under test.
var databases = svctest.Databases("favoritesvc")

// clock is the time the service stamps on likes: the real time until a test fixes
// it, to give likes the same millisecond or a chosen order.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time {
	if ms := c.ms.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Now()
}

func (c *clock) set(t *testing.T, ms int64) {
	c.ms.Store(ms)
	t.Cleanup(func() { c.ms.Store(0) })
}

type fixture struct {
	api    favorite.FavoriteService
	db     *db.DB
	videos *svctest.Videos
	clock  *clock
	ids    *idgen.Generator
}

// writePaths are the ways the service's writes reach the SQL store: a transaction
// per write, or group commit, and group commit under the one process's kept
// counts.
var writePaths = map[string]func(*favoritesvc.SQLStore) favoritesvc.Store{
	"tx": func(s *favoritesvc.SQLStore) favoritesvc.Store { return s },
	"group": func(s *favoritesvc.SQLStore) favoritesvc.Store {
		return favoritesvc.NewGroupCommit(s, favoritesvc.GroupCommitOptions{})
	},
	"kept": func(s *favoritesvc.SQLStore) favoritesvc.Store {
		return favoritesvc.KeepStats(favoritesvc.NewGroupCommit(s, favoritesvc.GroupCommitOptions{}))
	},
}

// TestFavoriteService runs the whole suite on every database, write path and
// placement.
func TestFavoriteService(t *testing.T) {
	for dbName, open := range databases {
		for wName, writes := range writePaths {
			for pName, place := range placements {
				t.Run(dbName+"/"+wName+"/"+pName, func(t *testing.T) {
					testFavoriteService(t, open(t), writes, place)
				})
			}
		}
	}
}

func testFavoriteService(t *testing.T, d *db.DB, writes func(*favoritesvc.SQLStore) favoritesvc.Store, place placement) {
	sqlStore, err := favoritesvc.NewSQLStore(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	store := writes(sqlStore)
	ids, err := idgen.New(1)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: d, videos: svctest.NewVideos(), clock: &clock{}, ids: ids}
	svc := favoritesvc.New(store, f.videos, slog.New(slog.NewTextHandler(io.Discard, nil)), favoritesvc.WithClock(f.clock.now))
	f.api = place(t, svc)
	t.Run("like and unlike are idempotent", f.testLikeUnlike)
	t.Run("self-like", f.testSelfLike)
	t.Run("unknown videos", f.testUnknownVideo)
	t.Run("a video's author is asked once", f.testAuthorRemembered)
	t.Run("unlike after the video is gone", f.testUnlikeDeletedVideo)
	t.Run("list order", f.testListOrder)
	t.Run("paging within one millisecond", f.testPagingSameMillisecond)
	t.Run("stats", f.testStats)
	t.Run("bad input changes nothing", f.testBadInput)
	t.Run("concurrent likes end exact", f.testConcurrent)
	t.Run("a failed write leaves nothing", f.testAtomic)
}

func (f *fixture) id(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newVideo publishes a video of author in the fake video role.
func (f *fixture) newVideo(t *testing.T, author int64) int64 {
	id := f.id(t)
	f.videos.Add(id, author)
	return id
}

func (f *fixture) like(t *testing.T, user, vid int64, like bool) {
	t.Helper()
	if _, err := f.api.Like(context.Background(), &favorite.LikeRequest{UserId: user, VideoId: vid, Like: like}); err != nil {
		t.Fatalf("like(%d, %d, %v): %v", user, vid, like, err)
	}
}

func (f *fixture) videoStat(t *testing.T, viewer, vid int64) *favorite.VideoStats {
	t.Helper()
	r, err := f.api.VideoStats(context.Background(), &favorite.VideoStatsRequest{ViewerId: viewer, VideoIds: []int64{vid}})
	if err != nil {
		t.Fatal(err)
	}
	st := r.GetStats()[vid]
	if st == nil {
		t.Fatalf("no stats for video %d", vid)
	}
	return st
}

func (f *fixture) userStat(t *testing.T, user int64) *favorite.UserStats {
	t.Helper()
	r, err := f.api.UserStats(context.Background(), &favorite.UserStatsRequest{UserIds: []int64{user}})
	if err != nil {
		t.Fatal(err)
	}
	st := r.GetStats()[user]
	if st == nil {
		t.Fatalf("no stats for user %d", user)
	}
	return st
}

func (f *fixture) wantVideo(t *testing.T, viewer, vid, count int64, liked bool) {
	t.Helper()
	if st := f.videoStat(t, viewer, vid); st.FavoriteCount != count || st.IsFavorite != liked {
		t.Fatalf("video %d seen by %d: count %d liked %v, want %d %v", vid, viewer, st.FavoriteCount, st.IsFavorite, count, liked)
	}
}

func (f *fixture) wantUser(t *testing.T, user, given, received int64) {
	t.Helper()
	if st := f.userStat(t, user); st.FavoriteCount != given || st.TotalFavorited != received {
		t.Fatalf("user %d: given %d received %d, want %d %d", user, st.FavoriteCount, st.TotalFavorited, given, received)
	}
}

// list returns every video a user likes, following next_cursor to the end.
func (f *fixture) list(t *testing.T, user int64, count int32) []int64 {
	t.Helper()
	var out []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		r, err := f.api.ListLiked(context.Background(), &favorite.ListLikedRequest{UserId: user, Page: &base.Page{Count: count, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		if count > 0 && len(r.GetVideoIds()) > int(count) {
			t.Fatalf("page of %d for count %d", len(r.GetVideoIds()), count)
		}
		out = append(out, r.GetVideoIds()...)
		if !r.GetPage().GetHasMore() {
			if r.GetPage().GetNextCursor() != "" {
				t.Fatalf("last page has next_cursor %q", r.GetPage().GetNextCursor())
			}
			return out
		}
		if len(r.GetVideoIds()) == 0 || r.GetPage().GetNextCursor() == "" {
			t.Fatalf("page says has_more with %d videos and cursor %q", len(r.GetVideoIds()), r.GetPage().GetNextCursor())
		}
		cursor = r.GetPage().GetNextCursor()
	}
}

// rows counts the like facts; refused requests must leave it unchanged.
func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM favorite_likes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// audit checks every stored count against the facts: per video, likes given per
// user and likes received per author. Counts of zero may be a row or no row.
func (f *fixture) audit(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	query := func(q string) map[int64]int64 {
		rows, err := f.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]int64{}
		for rows.Next() {
			var k, v int64
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			if v != 0 {
				out[k] = v
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	pairs := []struct{ what, counts, facts string }{
		{"video counts", "SELECT video_id, favorite_count FROM favorite_video_counts",
			"SELECT video_id, COUNT(*) FROM favorite_likes GROUP BY video_id"},
		{"likes given", "SELECT user_id, given FROM favorite_user_counts",
			"SELECT user_id, COUNT(*) FROM favorite_likes GROUP BY user_id"},
		{"likes received", "SELECT user_id, received FROM favorite_user_counts",
			"SELECT author_id, COUNT(*) FROM favorite_likes GROUP BY author_id"},
	}
	for _, p := range pairs {
		counts, facts := query(p.counts), query(p.facts)
		if len(counts) != len(facts) {
			t.Errorf("%s: %d non-zero counts but %d keys with facts", p.what, len(counts), len(facts))
		}
		for k, n := range facts {
			if counts[k] != n {
				t.Errorf("%s: %d counted %d, facts say %d", p.what, k, counts[k], n)
			}
		}
	}
}

func (f *fixture) testLikeUnlike(t *testing.T) {
	author, fan := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	f.wantVideo(t, fan, vid, 0, false)

	for range 3 {
		f.like(t, fan, vid, true)
		f.wantVideo(t, fan, vid, 1, true)
		f.wantVideo(t, author, vid, 1, false)
		f.wantVideo(t, 0, vid, 1, false)
		f.wantUser(t, fan, 1, 0)
		f.wantUser(t, author, 0, 1)
	}
	if got := f.list(t, fan, 0); !slices.Equal(got, []int64{vid}) {
		t.Fatalf("list = %v, want [%d]", got, vid)
	}
	for range 3 {
		f.like(t, fan, vid, false)
		f.wantVideo(t, fan, vid, 0, false)
		f.wantUser(t, fan, 0, 0)
		f.wantUser(t, author, 0, 0)
	}
	if got := f.list(t, fan, 0); len(got) != 0 {
		t.Fatalf("list after unlike = %v", got)
	}
	// Unliking an existing video never liked succeeds and changes nothing.
	other := f.id(t)
	f.like(t, other, vid, false)
	f.wantUser(t, other, 0, 0)
	f.wantVideo(t, other, vid, 0, false)
	f.audit(t)
}

func (f *fixture) testSelfLike(t *testing.T) {
	author := f.id(t)
	vid := f.newVideo(t, author)
	f.like(t, author, vid, true)
	f.wantUser(t, author, 1, 1)
	f.wantVideo(t, author, vid, 1, true)
	f.like(t, author, vid, false)
	f.wantUser(t, author, 0, 0)
	f.audit(t)
}

func (f *fixture) testUnknownVideo(t *testing.T) {
	ctx := context.Background()
	fan := f.id(t)
	ghost := f.id(t)
	before := f.rows(t)
	_, err := f.api.Like(ctx, &favorite.LikeRequest{UserId: fan, VideoId: ghost, Like: true})
	svctest.WantCode(t, err, base.ErrCode_FavoriteVideoNotFound)
	_, err = f.api.Like(ctx, &favorite.LikeRequest{UserId: fan, VideoId: ghost, Like: false})
	svctest.WantCode(t, err, base.ErrCode_FavoriteVideoNotFound)
	if f.rows(t) != before {
		t.Fatal("a like of an unknown video wrote a fact")
	}
	f.wantUser(t, fan, 0, 0)
	f.wantVideo(t, fan, ghost, 0, false)
}

// testAuthorRemembered: likes of one video by many users ask the video role
// for its author once; an unknown video is asked about every time.
func (f *fixture) testAuthorRemembered(t *testing.T) {
	author := f.id(t)
	vid := f.newVideo(t, author)
	calls := f.videos.Calls()
	fans := make([]int64, 5)
	for i := range fans {
		fans[i] = f.id(t)
		f.like(t, fans[i], vid, true)
	}
	for _, fan := range fans[:2] {
		f.like(t, fan, vid, false)
	}
	if n := f.videos.Calls() - calls; n != 1 {
		t.Errorf("5 likes and 2 unlikes of one video asked the video role %d times, want 1", n)
	}
	f.wantUser(t, author, 0, 3)
	ghost := f.id(t)
	calls = f.videos.Calls()
	for range 2 {
		_, err := f.api.Like(context.Background(), &favorite.LikeRequest{UserId: fans[0], VideoId: ghost, Like: true})
		svctest.WantCode(t, err, base.ErrCode_FavoriteVideoNotFound)
	}
	if n := f.videos.Calls() - calls; n != 2 {
		t.Errorf("2 likes of an unknown video asked the video role %d times, want 2", n)
	}
	f.audit(t)
}

func (f *fixture) testUnlikeDeletedVideo(t *testing.T) {
	author, fan := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	f.like(t, fan, vid, true)
	f.videos.Remove(vid)
	// Taking the like back needs only the fact, which remembers the author.
	f.like(t, fan, vid, false)
	f.wantUser(t, fan, 0, 0)
	f.wantUser(t, author, 0, 0)
	f.wantVideo(t, fan, vid, 0, false)
	// A new like of the vanished video is refused, once the service no longer
	// remembers its author.
	f.clock.set(t, time.Now().Add(favoritesvc.AuthorTTL+time.Second).UnixMilli())
	_, err := f.api.Like(context.Background(), &favorite.LikeRequest{UserId: fan, VideoId: vid, Like: true})
	svctest.WantCode(t, err, base.ErrCode_FavoriteVideoNotFound)
	f.audit(t)
}

func (f *fixture) testListOrder(t *testing.T) {
	author, fan := f.id(t), f.id(t)
	t0 := time.Now().UnixMilli()
	var vids []int64
	for i := range 5 {
		vid := f.newVideo(t, author)
		vids = append(vids, vid)
		f.clock.set(t, t0+int64(i)*10)
		f.like(t, fan, vid, true)
	}
	want := slices.Clone(vids)
	slices.Reverse(want)
	if got := f.list(t, fan, 0); !slices.Equal(got, want) {
		t.Fatalf("list = %v, want most recent first %v", got, want)
	}
	// Liking again does not move a video; unliking and liking again brings it to the top.
	f.clock.set(t, t0+100)
	f.like(t, fan, vids[1], true)
	if got := f.list(t, fan, 2); !slices.Equal(got, want) {
		t.Fatalf("list after a repeated like = %v, want %v", got, want)
	}
	f.like(t, fan, vids[1], false)
	f.clock.set(t, t0+200)
	f.like(t, fan, vids[1], true)
	want = []int64{vids[1], vids[4], vids[3], vids[2], vids[0]}
	for _, count := range []int32{1, 2, 3, 5, 100} {
		if got := f.list(t, fan, count); !slices.Equal(got, want) {
			t.Fatalf("list by %d = %v, want %v", count, got, want)
		}
	}
	// A user with no likes has an empty first page.
	r, err := f.api.ListLiked(context.Background(), &favorite.ListLikedRequest{UserId: f.id(t)})
	if err != nil || len(r.GetVideoIds()) != 0 || r.GetPage().GetHasMore() || r.GetPage().GetNextCursor() != "" {
		t.Fatalf("empty list = %+v, %v", r, err)
	}
	f.audit(t)
}

func (f *fixture) testPagingSameMillisecond(t *testing.T) {
	ctx := context.Background()
	author, fan := f.id(t), f.id(t)
	f.clock.set(t, time.Now().UnixMilli())
	const n = 23
	var vids []int64
	for range n {
		vid := f.newVideo(t, author)
		vids = append(vids, vid)
		f.like(t, fan, vid, true)
	}
	all := f.list(t, fan, 0)
	if len(all) != n {
		t.Fatalf("one page holds %d of %d likes", len(all), n)
	}
	for _, count := range []int32{1, 4, 7, 22, 23, 24} {
		got := f.list(t, fan, count)
		if !slices.Equal(got, all) {
			t.Fatalf("pages of %d = %v, want %v", count, got, all)
		}
	}
	// Taking back a like between pages neither repeats nor skips the others.
	first, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: 5}})
	if err != nil {
		t.Fatal(err)
	}
	f.like(t, fan, all[5], false)
	rest, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: 100, Cursor: first.GetPage().GetNextCursor()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := append(slices.Clone(first.GetVideoIds()), rest.GetVideoIds()...); !slices.Equal(got, slices.Delete(slices.Clone(all), 5, 6)) {
		t.Fatalf("pages around an unlike = %v", got)
	}
	f.audit(t)
}

func (f *fixture) testStats(t *testing.T) {
	ctx := context.Background()
	a, b, c := f.id(t), f.id(t), f.id(t)
	va, vb := f.newVideo(t, a), f.newVideo(t, b)
	f.like(t, b, va, true)
	f.like(t, c, va, true)
	f.like(t, c, vb, true)
	never := f.newVideo(t, a)

	r, err := f.api.VideoStats(ctx, &favorite.VideoStatsRequest{ViewerId: c, VideoIds: []int64{va, vb, never, va}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]favorite.VideoStats{va: {FavoriteCount: 2, IsFavorite: true}, vb: {FavoriteCount: 1, IsFavorite: true}, never: {}}
	if len(r.GetStats()) != len(want) {
		t.Fatalf("stats for %d videos, want %d", len(r.GetStats()), len(want))
	}
	for id, w := range want {
		if got := r.GetStats()[id]; got == nil || *got != w {
			t.Fatalf("video %d: %+v, want %+v", id, got, w)
		}
	}
	r, err = f.api.VideoStats(ctx, &favorite.VideoStatsRequest{ViewerId: b, VideoIds: []int64{va, vb}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.GetStats()[va].GetIsFavorite() || r.GetStats()[vb].GetIsFavorite() {
		t.Fatalf("b's flags: %+v", r.GetStats())
	}

	u, err := f.api.UserStats(ctx, &favorite.UserStatsRequest{UserIds: []int64{a, b, c, f.id(t)}})
	if err != nil {
		t.Fatal(err)
	}
	wantU := map[int64]favorite.UserStats{a: {FavoriteCount: 0, TotalFavorited: 2}, b: {FavoriteCount: 1, TotalFavorited: 1}, c: {FavoriteCount: 2}}
	for id, w := range wantU {
		if got := u.GetStats()[id]; got == nil || *got != w {
			t.Fatalf("user %d: %+v, want %+v", id, got, w)
		}
	}
	if len(u.GetStats()) != 4 {
		t.Fatalf("stats for %d users, want 4 (unknown users count zero)", len(u.GetStats()))
	}
	// Empty requests are fine.
	if r, err := f.api.VideoStats(ctx, &favorite.VideoStatsRequest{}); err != nil || len(r.GetStats()) != 0 {
		t.Fatalf("empty VideoStats = %v, %v", r, err)
	}
	if r, err := f.api.UserStats(ctx, &favorite.UserStatsRequest{}); err != nil || len(r.GetStats()) != 0 {
		t.Fatalf("empty UserStats = %v, %v", r, err)
	}
	// A full batch is served.
	many := make([]int64, favoritesvc.MaxBatch)
	for i := range many {
		many[i] = f.id(t)
	}
	many[0] = va
	if r, err := f.api.VideoStats(ctx, &favorite.VideoStatsRequest{ViewerId: c, VideoIds: many}); err != nil || r.GetStats()[va].GetFavoriteCount() != 2 {
		t.Fatalf("full VideoStats batch: %v", err)
	}
	if _, err := f.api.UserStats(ctx, &favorite.UserStatsRequest{UserIds: many}); err != nil {
		t.Fatalf("full UserStats batch: %v", err)
	}
	f.audit(t)
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	author, fan := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	before := f.rows(t)
	calls := f.videos.Calls()
	for _, bad := range []int64{0, -1, 1 << 53, -(1 << 62)} {
		for _, like := range []bool{true, false} {
			_, err := f.api.Like(ctx, &favorite.LikeRequest{UserId: bad, VideoId: vid, Like: like})
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
			_, err = f.api.Like(ctx, &favorite.LikeRequest{UserId: fan, VideoId: bad, Like: like})
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		}
		_, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: bad})
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		_, err = f.api.VideoStats(ctx, &favorite.VideoStatsRequest{ViewerId: bad, VideoIds: []int64{vid}})
		if bad != 0 {
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		}
		_, err = f.api.VideoStats(ctx, &favorite.VideoStatsRequest{ViewerId: fan, VideoIds: []int64{vid, bad}})
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		_, err = f.api.UserStats(ctx, &favorite.UserStatsRequest{UserIds: []int64{fan, bad}})
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	}
	if n := f.videos.Calls(); n != calls {
		t.Errorf("invalid requests made %d calls to the video role", n-calls)
	}
	_, err := f.api.VideoStats(ctx, &favorite.VideoStatsRequest{VideoIds: make([]int64, favoritesvc.MaxBatch+1)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.UserStats(ctx, &favorite.UserStatsRequest{UserIds: make([]int64, favoritesvc.MaxBatch+1)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)

	// Paging parameters.
	f.like(t, fan, vid, true)
	f.like(t, fan, f.newVideo(t, author), true)
	r, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: 1}})
	if err != nil || !r.GetPage().GetHasMore() {
		t.Fatalf("first page: %+v, %v", r, err)
	}
	good := r.GetPage().GetNextCursor()
	_, err = f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: -1}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	for _, cursor := range []string{"garbage", "!!!", good + "!", "=" + good, "MTIzNA", "MTIzLjA", "LTEuNQ",
		"MTIzLjkwMDcxOTkyNTQ3NDA5OTI", string(make([]byte, 300))} {
		_, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: 1, Cursor: cursor}})
		if errs.CodeOf(err) != base.ErrCode_InvalidArgument {
			t.Errorf("cursor %q: %v, want InvalidArgument", cursor, err)
		}
	}
	// A count above the maximum is clamped, not refused.
	if _, err := f.api.ListLiked(ctx, &favorite.ListLikedRequest{UserId: fan, Page: &base.Page{Count: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(t); got != before+2 {
		t.Fatalf("facts: %d, want %d (only the two good likes)", got, before+2)
	}
	f.audit(t)
}

// testConcurrent races many users liking and unliking one video, users liking each
// other's videos, and duplicate requests for the same fact; every count must equal
// what the facts say, and the final states known in advance must hold.
func (f *fixture) testConcurrent(t *testing.T) {
	ctx := context.Background()
	const (
		users      = 25
		goroutines = 50 // two per user, racing on the same facts
		ops        = 20 // even steps on the hot video, odd ones on the authors' videos
	)
	hot := f.newVideo(t, f.id(t))
	ids := make([]int64, users)
	vids := make([]int64, users)
	for i := range ids {
		ids[i] = f.id(t)
		vids[i] = f.newVideo(t, ids[i])
	}
	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := ids[g%users]
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for i := range ops {
				vid := hot
				if i%2 == 1 {
					vid = vids[rng.IntN(users)] // cross likes between authors
				}
				like := rng.IntN(2) == 0
				if i == ops-2 {
					like = g%users%2 == 0 // the last word on the hot video
				}
				if _, err := f.api.Like(ctx, &favorite.LikeRequest{UserId: user, VideoId: vid, Like: like}); err != nil {
					errc <- fmt.Errorf("user %d video %d like=%v: %w", user, vid, like, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// Both goroutines of a user end on the hot video with the same word: even
	// users like it, odd ones do not.
	f.wantVideo(t, ids[0], hot, (users+1)/2, true)
	f.wantVideo(t, ids[1], hot, (users+1)/2, false)
	f.audit(t)

	// The stats the API answers agree with the facts.
	st, err := f.api.VideoStats(ctx, &favorite.VideoStatsRequest{VideoIds: vids})
	if err != nil {
		t.Fatal(err)
	}
	us, err := f.api.UserStats(ctx, &favorite.UserStatsRequest{UserIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	for i, vid := range vids {
		var n, given int64
		if err := f.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM favorite_likes WHERE video_id = ?", vid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := f.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM favorite_likes WHERE user_id = ?", ids[i]).Scan(&given); err != nil {
			t.Fatal(err)
		}
		if st.GetStats()[vid].GetFavoriteCount() != n || us.GetStats()[ids[i]].GetFavoriteCount() != given {
			t.Fatalf("video %d: API %d, facts %d; user %d: API %d given, facts %d", vid, st.GetStats()[vid].GetFavoriteCount(), n,
				ids[i], us.GetStats()[ids[i]].GetFavoriteCount(), given)
		}
	}
	if got := f.list(t, ids[0], 3); !slices.Contains(got, hot) || len(got) != int(us.GetStats()[ids[0]].GetFavoriteCount()) {
		t.Fatalf("list of user 0 = %v, given %d", got, us.GetStats()[ids[0]].GetFavoriteCount())
	}
}

// testAtomic breaks the last table a like writes, so the write fails after the fact
// and the video count were written in its transaction: neither may remain.
func (f *fixture) testAtomic(t *testing.T) {
	ctx := context.Background()
	author, fan := f.id(t), f.id(t)
	vid := f.newVideo(t, author)
	before := f.rows(t)
	if _, err := f.db.ExecContext(ctx, "ALTER TABLE favorite_user_counts RENAME TO favorite_user_counts_away"); err != nil {
		t.Fatal(err)
	}
	_, err := f.api.Like(ctx, &favorite.LikeRequest{UserId: fan, VideoId: vid, Like: true})
	if _, rerr := f.db.ExecContext(ctx, "ALTER TABLE favorite_user_counts_away RENAME TO favorite_user_counts"); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		t.Fatal("a like succeeded without its count table")
	}
	if f.rows(t) != before {
		t.Fatal("a failed like left its fact behind")
	}
	f.wantVideo(t, fan, vid, 0, false)
	f.audit(t)
	// And the same like succeeds once the table is back.
	f.like(t, fan, vid, true)
	f.wantVideo(t, fan, vid, 1, true)
	f.wantUser(t, author, 0, 1)
	f.audit(t)
}
