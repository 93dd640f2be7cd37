package videosvc_test

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// fakeRelation is an in-memory follow graph standing in for the relation role.
// Its list pages are at most 1000 ids, as the real role's.
type fakeRelation struct {
	mu        sync.Mutex
	following map[int64]map[int64]bool // follower -> followees
	followers map[int64]map[int64]bool // followee -> followers
	// extra raises a user's follower_count without edges, to put an author in
	// pull mode cheaply.
	extra map[int64]int64
	// listFollowing counts ListFollowing calls; popularIncomplete makes
	// ListPopular say there are more popular users than asked for.
	listFollowing     int
	popularIncomplete bool
	popularErr        error // ListPopular fails with it (a relation role of an older release)
}

func newFakeRelation() *fakeRelation {
	return &fakeRelation{following: map[int64]map[int64]bool{}, followers: map[int64]map[int64]bool{}, extra: map[int64]int64{}}
}

func (r *fakeRelation) set(follower, followee int64, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.following[follower] == nil {
		r.following[follower] = map[int64]bool{}
	}
	if r.followers[followee] == nil {
		r.followers[followee] = map[int64]bool{}
	}
	if on {
		r.following[follower][followee] = true
		r.followers[followee][follower] = true
	} else {
		delete(r.following[follower], followee)
		delete(r.followers[followee], follower)
	}
}

func (r *fakeRelation) boost(user, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extra[user] += n
}

func (r *fakeRelation) Follow(_ context.Context, req *relation.FollowRequest) (*relation.FollowResponse, error) {
	r.set(req.GetUserId(), req.GetToUserId(), req.GetFollow())
	return &relation.FollowResponse{}, nil
}

func page(set map[int64]bool, p *base.Page) *relation.ListResponse {
	ids := make([]int64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := int(p.GetCount())
	if n <= 0 || n > 1000 {
		n = 1000
	}
	start, _ := strconv.Atoi(p.GetCursor())
	end := min(start+n, len(ids))
	resp := &relation.ListResponse{UserIds: ids[start:end], Page: &base.PageInfo{}}
	if end < len(ids) {
		resp.Page = &base.PageInfo{HasMore: true, NextCursor: strconv.Itoa(end)}
	}
	return resp
}

func (r *fakeRelation) ListFollowing(_ context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listFollowing++
	return page(r.following[req.GetUserId()], req.GetPage()), nil
}

func (r *fakeRelation) ListFollowers(_ context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return page(r.followers[req.GetUserId()], req.GetPage()), nil
}

func (r *fakeRelation) ListFriends(context.Context, *relation.ListRequest) (*relation.ListResponse, error) {
	return &relation.ListResponse{UserIds: []int64{}, Page: &base.PageInfo{}}, nil
}

func (r *fakeRelation) UserStats(_ context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]*relation.UserStats{}
	for _, id := range req.GetUserIds() {
		out[id] = &relation.UserStats{
			FollowCount:   int64(len(r.following[id])),
			FollowerCount: int64(len(r.followers[id])) + r.extra[id],
			IsFollow:      r.following[req.GetViewerId()][id],
		}
	}
	return &relation.UserStatsResponse{Stats: out}, nil
}

func (r *fakeRelation) ListPopular(_ context.Context, req *relation.PopularRequest) (*relation.PopularResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.popularErr != nil {
		return nil, r.popularErr
	}
	count := func(id int64) int64 { return int64(len(r.followers[id])) + r.extra[id] }
	var ids []int64
	for id := range r.followers {
		if count(id) > req.GetMinFollowers() {
			ids = append(ids, id)
		}
	}
	for id := range r.extra {
		if len(r.followers[id]) == 0 && count(id) > req.GetMinFollowers() {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cmp.Compare(count(b), count(a)), cmp.Compare(b, a)) })
	complete := len(ids) <= int(req.GetCount()) && !r.popularIncomplete
	return &relation.PopularResponse{UserIds: ids[:min(len(ids), int(req.GetCount()))], Complete: complete}, nil
}

func (r *fakeRelation) listFollowingCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listFollowing
}

// Feed settings of the fixture: small enough that the tests cross every bound.
const (
	testPullThreshold = 3000
	testInboxSize     = 40
	testBackfill      = 30
)

type feedFixture struct {
	svc   *videosvc.Service // for the event handlers, which are not RPCs
	api   video.VideoService
	store feedStore // every write of the tests goes through it
	db    *db.DB
	rel   *fakeRelation
	ids   *idgen.Generator
}

// feedStore is the video and inbox stores the feed reads and writes.
type feedStore interface {
	videosvc.Store
	videosvc.InboxStore
}

// keptStores is the stores as the one process has them: timelines (and work
// counts) kept in memory.
type keptStores struct {
	videosvc.Store
	videosvc.InboxStore
}

// writePaths are the ways the service (and the tests' own writes) reach the
// database: straight, or through the one process's kept timelines.
var writePaths = map[string]func(*videosvc.SQLStore) feedStore{
	"store": func(s *videosvc.SQLStore) feedStore { return s },
	"kept": func(s *videosvc.SQLStore) feedStore {
		videos, inbox := videosvc.KeepTimelines(videosvc.KeepWorkCounts(s), s)
		return keptStores{Store: videos, InboxStore: inbox}
	},
}

func newFeedFixture(t *testing.T, d *db.DB, place placement, path func(*videosvc.SQLStore) feedStore) *feedFixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sql, err := videosvc.NewSQLStore(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := path(sql)
	ids, err := idgen.New(2)
	if err != nil {
		t.Fatal(err)
	}
	rel := newFakeRelation()
	svc := videosvc.New(store, nil, nil, ids, log, videosvc.Options{
		Relation: rel,
		Inbox:    store,
		Feed:     videosvc.FeedOptions{PullThreshold: testPullThreshold, InboxSize: testInboxSize, BackfillCount: testBackfill},
	})
	return &feedFixture{svc: svc, api: place(t, svc), store: store, db: d, rel: rel, ids: ids}
}

// TestFollowingFeed runs the following timeline's suite on every database, in
// every placement of the feed read, and on both write paths.
func TestFollowingFeed(t *testing.T) {
	for dbName, open := range databases {
		for pName, place := range placements {
			for wName, path := range writePaths {
				t.Run(dbName+"/"+pName+"/"+wName, func(t *testing.T) {
					f := newFeedFixture(t, open(t), place, path)
					t.Run("fan-out reaches every follower, once", f.testFanOut)
					t.Run("pull-mode authors merge at read time", f.testPullMode)
					t.Run("pull-mode followees: from the popular list, or the following list", f.testPullAuthors)
					t.Run("follow backfills, unfollow removes", f.testFollowSync)
					t.Run("inboxes stay bounded", f.testInboxBound)
					t.Run("stale inbox entries are repaired at read time", f.testStaleRepair)
					t.Run("following falls through to global without repeats", f.testFallThrough)
					t.Run("a full last following page keeps its millisecond", f.testFullLastPage)
					t.Run("bad requests", f.testFeedBadRequests)
				})
			}
		}
	}
}

func (f *feedFixture) newID(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *feedFixture) insert(t *testing.T, author, ms int64) *videosvc.Video {
	t.Helper()
	v := &videosvc.Video{ID: f.newID(t), AuthorID: author, Title: "v", PlayKey: "videos/x.mp4", CoverKey: "covers/x.jpg", CreateTime: ms}
	if err := f.store.Create(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

func published(v *videosvc.Video) videosvc.Published {
	return videosvc.Published{VideoID: v.ID, AuthorID: v.AuthorID, CreateTime: v.CreateTime}
}

func (f *feedFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkSizes asserts that the size counters agree with the inboxes.
func (f *feedFixture) checkSizes(t *testing.T) {
	t.Helper()
	bad := f.count(t, `SELECT COUNT(*) FROM video_inbox_sizes s WHERE s.size <> (SELECT COUNT(*) FROM video_inbox i WHERE i.user_id = s.user_id)`)
	if bad != 0 {
		t.Fatalf("%d inbox size counters disagree with their inboxes", bad)
	}
}

func (f *feedFixture) feed(t *testing.T, viewer, latest int64, typ string) *video.FeedResponse {
	t.Helper()
	r, err := f.api.Feed(context.Background(), &video.FeedRequest{ViewerId: viewer, LatestTime: latest, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func videoIDs(vs []*video.Video) []int64 {
	out := make([]int64, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.GetId())
	}
	return out
}

func (f *feedFixture) testFanOut(t *testing.T) {
	ctx := context.Background()
	author := f.newID(t)
	const n = 2500
	followers := make([]int64, n)
	for i := range followers {
		followers[i] = f.newID(t)
		f.rel.set(followers[i], author, true)
	}
	v := f.insert(t, author, time.Now().Add(-time.Minute).UnixMilli())
	start := time.Now()
	if err := f.svc.FanOut(ctx, published(v)); err != nil {
		t.Fatal(err)
	}
	t.Logf("fan-out to %d followers took %v", n, time.Since(start))
	if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, v.ID); got != n {
		t.Fatalf("video in %d inboxes, want %d", got, n)
	}
	// Redelivery (or a retry after a half-done fan-out) changes nothing.
	if _, err := f.store.RemoveAuthorFromInbox(ctx, followers[n-1], author); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.svc.FanOut(ctx, published(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, v.ID); got != n {
		t.Fatalf("after redelivery video in %d inboxes, want %d", got, n)
	}
	f.checkSizes(t)
	// The last follower (past the first two pages) sees it first, logged in.
	r := f.feed(t, followers[n-1], 0, videosvc.FeedFollowing)
	if ids := videoIDs(r.GetVideos()); len(ids) != 1 || ids[0] != v.ID {
		t.Fatalf("following feed of the last follower = %v, want [%d]", ids, v.ID)
	}
}

func (f *feedFixture) testPullMode(t *testing.T) {
	ctx := context.Background()
	star, pushAuthor, viewer := f.newID(t), f.newID(t), f.newID(t)
	f.rel.boost(star, testPullThreshold) // plus the viewer's edge: above the threshold
	f.rel.set(viewer, star, true)
	f.rel.set(viewer, pushAuthor, true)
	now := time.Now().Add(-30 * time.Second).UnixMilli()
	s1 := f.insert(t, star, now-3000)
	p1 := f.insert(t, pushAuthor, now-2000)
	s2 := f.insert(t, star, now-1000)
	own := f.insert(t, viewer, now-500)
	for _, v := range []*videosvc.Video{s1, p1, s2, own} {
		if err := f.svc.FanOut(ctx, published(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id IN (?, ?)`, s1.ID, s2.ID); got != 0 {
		t.Fatalf("a pull-mode author's videos were fanned out to %d inboxes", got)
	}
	if err := f.svc.SyncFollow(ctx, viewer, star); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.InboxSize(ctx, viewer); got != 1 {
		t.Fatalf("inbox holds %d videos, want 1 (no backfill for a pull-mode author)", got)
	}
	r := f.feed(t, viewer, now, videosvc.FeedFollowing)
	want := []int64{own.ID, s2.ID, p1.ID, s1.ID}
	if got := videoIDs(r.GetVideos()); !slices.Equal(got, want) {
		t.Fatalf("following feed = %v, want %v", got, want)
	}
	// Once the author is in the inbox too (fanned out before crossing the
	// threshold), the video is still listed once.
	if _, err := f.store.AddToInboxes(ctx, []videosvc.InboxEntry{{UserID: viewer, VideoID: s2.ID, CreateTime: s2.CreateTime}}, testInboxSize); err != nil {
		t.Fatal(err)
	}
	if got := videoIDs(f.feed(t, viewer, now, videosvc.FeedFollowing).GetVideos()); !slices.Equal(got, want) {
		t.Fatalf("following feed with a duplicate = %v, want %v", got, want)
	}
}

// testPullAuthors: while the relation role's list of popular users is
// complete, the viewer's pull-mode followees come from it, without walking the
// viewer's following list; an author who crosses the threshold is merged from
// the publish on (the fan-out notices); with too many popular users to list,
// the following list is walked and the feed is the same.
func (f *feedFixture) testPullAuthors(t *testing.T) {
	ctx := context.Background()
	followed, other, rising, viewer := f.newID(t), f.newID(t), f.newID(t), f.newID(t)
	f.rel.boost(followed, testPullThreshold)
	f.rel.boost(other, testPullThreshold)
	f.rel.set(viewer, followed, true)
	f.rel.set(viewer, rising, true)
	now := time.Now().Add(-20 * time.Second).UnixMilli()
	a := f.insert(t, followed, now-3000)
	b := f.insert(t, other, now-2000) // not followed: never in the viewer's feed
	own := f.insert(t, viewer, now-1000)
	for _, v := range []*videosvc.Video{a, b, own} {
		if err := f.svc.FanOut(ctx, published(v)); err != nil {
			t.Fatal(err)
		}
	}
	before := f.rel.listFollowingCalls()
	if got, want := videoIDs(f.feed(t, viewer, now, videosvc.FeedFollowing).GetVideos()), []int64{own.ID, a.ID}; !slices.Equal(got, want) {
		t.Fatalf("following feed = %v, want %v", got, want)
	}
	if n := f.rel.listFollowingCalls() - before; n != 0 {
		t.Errorf("the feed walked the viewer's following list %d times; the popular list answers", n)
	}
	// rising crosses the threshold and publishes: the fan-out skips it, and
	// the very next read merges it although the popular list was fresh.
	f.rel.boost(rising, testPullThreshold)
	r := f.insert(t, rising, now-500)
	if err := f.svc.FanOut(ctx, published(r)); err != nil {
		t.Fatal(err)
	}
	want := []int64{r.ID, own.ID, a.ID}
	if got := videoIDs(f.feed(t, viewer, now, videosvc.FeedFollowing).GetVideos()); !slices.Equal(got, want) {
		t.Fatalf("following feed after a new pull-mode author's publish = %v, want %v", got, want)
	}
	// Too many popular users to list: the following list is walked instead,
	// once the cached list has been dropped (the fan-out of a popular author
	// it does not hold drops it).
	f.rel.mu.Lock()
	f.rel.popularIncomplete = true
	f.rel.mu.Unlock()
	t.Cleanup(func() {
		f.rel.mu.Lock()
		f.rel.popularIncomplete = false
		f.rel.mu.Unlock()
	})
	newcomer := f.newID(t)
	f.rel.boost(newcomer, testPullThreshold+1)
	if err := f.svc.FanOut(ctx, published(f.insert(t, newcomer, now-5000))); err != nil {
		t.Fatal(err)
	}
	before = f.rel.listFollowingCalls()
	if got := videoIDs(f.feed(t, viewer, now, videosvc.FeedFollowing).GetVideos()); !slices.Equal(got, want) {
		t.Fatalf("following feed walking the following list = %v, want %v", got, want)
	}
	if f.rel.listFollowingCalls() == before {
		t.Error("with an incomplete popular list the feed did not walk the following list")
	}
	// A relation role that does not answer ListPopular (an older release,
	// during a rolling upgrade): the feed walks the following list, the same.
	f.rel.mu.Lock()
	f.rel.popularIncomplete, f.rel.popularErr = false, errors.New("unknown method ListPopular")
	f.rel.mu.Unlock()
	t.Cleanup(func() {
		f.rel.mu.Lock()
		f.rel.popularErr = nil
		f.rel.mu.Unlock()
	})
	another := f.newID(t)
	f.rel.boost(another, testPullThreshold+1)
	if err := f.svc.FanOut(ctx, published(f.insert(t, another, now-6000))); err != nil {
		t.Fatal(err)
	}
	before = f.rel.listFollowingCalls()
	if got := videoIDs(f.feed(t, viewer, now, videosvc.FeedFollowing).GetVideos()); !slices.Equal(got, want) {
		t.Fatalf("following feed without ListPopular = %v, want %v", got, want)
	}
	if f.rel.listFollowingCalls() == before {
		t.Error("without ListPopular the feed did not walk the following list")
	}
}

func (f *feedFixture) testFollowSync(t *testing.T) {
	ctx := context.Background()
	author, viewer := f.newID(t), f.newID(t)
	base0 := time.Now().Add(-time.Hour).UnixMilli()
	var vs []*videosvc.Video
	for i := range testBackfill + 10 {
		vs = append(vs, f.insert(t, author, base0+int64(i)*1000))
	}
	newest := make([]int64, 0, testBackfill)
	for i := len(vs) - 1; i >= len(vs)-testBackfill; i-- {
		newest = append(newest, vs[i].ID)
	}

	// A follow event delivered before the edge exists (or after it is gone)
	// changes nothing.
	if err := f.svc.SyncFollow(ctx, viewer, author); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.InboxSize(ctx, viewer); got != 0 {
		t.Fatalf("inbox holds %d videos before the follow", got)
	}
	f.rel.set(viewer, author, true)
	for range 2 { // redelivered
		if err := f.svc.SyncFollow(ctx, viewer, author); err != nil {
			t.Fatal(err)
		}
	}
	r := f.feed(t, viewer, 0, videosvc.FeedFollowing)
	if got := videoIDs(r.GetVideos()); !slices.Equal(got[:min(len(got), testBackfill)], newest) || len(got) != testBackfill {
		t.Fatalf("following feed after follow = %v, want the %d newest %v", got, testBackfill, newest)
	}
	f.checkSizes(t)

	f.rel.set(viewer, author, false)
	for range 2 {
		if err := f.svc.SyncFollow(ctx, viewer, author); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.feed(t, viewer, 0, videosvc.FeedFollowing).GetVideos(); len(got) != 0 {
		t.Fatalf("following feed after unfollow has %d videos", len(got))
	}
	f.checkSizes(t)
}

// testStaleRepair: a fan-out that wrote after the unfollow's removal leaves an
// entry of an unfollowed author; the read drops and deletes it.
func (f *feedFixture) testStaleRepair(t *testing.T) {
	ctx := context.Background()
	author, viewer := f.newID(t), f.newID(t)
	f.rel.set(viewer, author, true)
	v := f.insert(t, author, time.Now().Add(-3*time.Hour).UnixMilli())
	f.rel.set(viewer, author, false)
	if _, err := f.store.AddToInboxes(ctx, []videosvc.InboxEntry{{UserID: viewer, VideoID: v.ID, CreateTime: v.CreateTime}}, testInboxSize); err != nil {
		t.Fatal(err)
	}
	if got := f.feed(t, viewer, 0, videosvc.FeedFollowing).GetVideos(); len(got) != 0 {
		t.Fatalf("following feed shows %d videos of an unfollowed author", len(got))
	}
	if got, _ := f.store.InboxSize(ctx, viewer); got != 0 {
		t.Fatalf("the stale entry was not deleted: inbox holds %d", got)
	}
	f.checkSizes(t)
}

func (f *feedFixture) testInboxBound(t *testing.T) {
	ctx := context.Background()
	author, viewer := f.newID(t), f.newID(t)
	f.rel.set(viewer, author, true)
	base0 := time.Now().Add(-2 * time.Hour).UnixMilli()
	var all []*videosvc.Video
	for i := range 3 * testInboxSize {
		v := f.insert(t, author, base0+int64(i))
		all = append(all, v)
		if err := f.svc.FanOut(ctx, published(v)); err != nil {
			t.Fatal(err)
		}
		size, err := f.store.InboxSize(ctx, viewer)
		if err != nil {
			t.Fatal(err)
		}
		if limit := testInboxSize + testInboxSize/8; size > limit {
			t.Fatalf("inbox holds %d entries, bound %d", size, limit)
		}
	}
	f.checkSizes(t)
	// The newest testInboxSize are all there.
	newest := all[len(all)-testInboxSize:]
	args := []any{viewer}
	for _, v := range newest {
		args = append(args, v.ID)
	}
	q := `SELECT COUNT(*) FROM video_inbox WHERE user_id = ? AND video_id IN (?` + strings.Repeat(",?", len(newest)-1) + `)`
	if got := f.count(t, q, args...); got != testInboxSize {
		t.Fatalf("%d of the %d newest videos in the inbox", got, testInboxSize)
	}
}

// testFallThrough pages a logged-in feed by next_time alone, as the app does,
// through the following timeline and on into the global one, with videos
// sharing milliseconds across page boundaries.
func (f *feedFixture) testFallThrough(t *testing.T) {
	ctx := context.Background()
	viewer, followed, stranger := f.newID(t), f.newID(t), f.newID(t)
	f.rel.set(viewer, followed, true)
	// Older than everything the other subtests wrote, so the global timeline
	// before the start time holds only these videos.
	start := time.Now().Add(-24 * time.Hour).UnixMilli()
	var fol, glob []*videosvc.Video
	ms := start
	for i := range 120 {
		if i%7 != 0 { // runs of videos in one millisecond
			ms -= 1 + int64(i%3)
		}
		switch {
		case i%3 == 0 && len(fol) < 40:
			v := f.insert(t, followed, ms)
			if err := f.svc.FanOut(ctx, published(v)); err != nil {
				t.Fatal(err)
			}
			fol = append(fol, v)
		case i%11 == 0 && len(fol) < 40:
			fol = append(fol, f.insert(t, viewer, ms))
		default:
			glob = append(glob, f.insert(t, stranger, ms))
		}
	}
	// The oldest following video shares its millisecond with an older and a
	// newer global one (by id): the fall-through shows the older, not the newer.
	ms -= 5
	glob = append(glob, f.insert(t, stranger, ms))
	v := f.insert(t, followed, ms)
	if err := f.svc.FanOut(ctx, published(v)); err != nil {
		t.Fatal(err)
	}
	fol = append(fol, v)
	glob = append(glob, f.insert(t, stranger, ms))
	for range 40 {
		ms--
		glob = append(glob, f.insert(t, stranger, ms))
	}
	order := func(a, b *videosvc.Video) int {
		if c := cmp.Compare(b.CreateTime, a.CreateTime); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	}
	slices.SortFunc(fol, order)
	slices.SortFunc(glob, order)
	last := fol[len(fol)-1]
	var want []int64
	for _, v := range fol {
		want = append(want, v.ID)
	}
	for _, v := range glob {
		if order(last, v) < 0 { // older than the last following video
			want = append(want, v.ID)
		}
	}

	var got []int64
	latest := start + 1
	for range 20 {
		r := f.feed(t, viewer, latest, videosvc.FeedDefault)
		if len(r.GetVideos()) == 0 {
			break
		}
		got = append(got, videoIDs(r.GetVideos())...)
		latest = r.GetNextTime()
	}
	// The other subtests' videos are all newer than start, so the pages end
	// exactly with want.
	if !slices.Equal(got, want) {
		t.Fatalf("logged-in paging:\n got %v\nwant %v", got, want)
	}
	// type=following alone stops where the following timeline ends.
	var only []int64
	latest = start + 1
	for range 20 {
		r := f.feed(t, viewer, latest, videosvc.FeedFollowing)
		if len(r.GetVideos()) == 0 {
			break
		}
		only = append(only, videoIDs(r.GetVideos())...)
		latest = r.GetNextTime()
	}
	if !slices.Equal(only, want[:len(fol)]) {
		t.Fatalf("type=following paging:\n got %v\nwant %v", only, want[:len(fol)])
	}
	// type=global and anonymous read the global timeline.
	for _, viewerID := range []int64{viewer, 0} {
		r := f.feed(t, viewerID, start+1, videosvc.FeedGlobal)
		all := append(slices.Clone(fol), glob...)
		slices.SortFunc(all, order)
		if got, w := videoIDs(r.GetVideos()), all[0].ID; len(got) < 30 || got[0] != w {
			t.Fatalf("global feed for viewer %d starts %v, want %d first", viewerID, got[:min(3, len(got))], w)
		}
	}
}

// testFullLastPage: the following timeline ends exactly with a full page whose
// last millisecond also holds an older global video; it must not be skipped when
// the next request starts the global timeline strictly before that millisecond.
func (f *feedFixture) testFullLastPage(t *testing.T) {
	ctx := context.Background()
	viewer, followed, stranger := f.newID(t), f.newID(t), f.newID(t)
	f.rel.set(viewer, followed, true)
	start := time.Now().Add(-48 * time.Hour).UnixMilli()
	var want []int64
	add := func(author, ms int64) {
		v := f.insert(t, author, ms)
		if author == followed {
			if err := f.svc.FanOut(ctx, published(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range videosvc.DefaultFeedCount - 1 {
		add(followed, start-int64(i))
	}
	m := start - videosvc.DefaultFeedCount
	add(stranger, m) // older by id than the last following video
	add(followed, m)
	for i := range 5 {
		add(stranger, m-1-int64(i))
	}
	all, err := f.store.Recent(ctx, videosvc.Position{Time: start + 1}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if v.CreateTime <= start {
			want = append(want, v.ID)
		}
	}
	// Expected order: the 30 following videos, then the globals by recency.
	slices.SortStableFunc(want, func(a, b int64) int {
		fa, fb := f.isBy(t, a, followed), f.isBy(t, b, followed)
		switch {
		case fa && !fb:
			return -1
		case !fa && fb:
			return 1
		}
		return 0
	})
	var got []int64
	latest := start + 1
	for range 10 {
		r := f.feed(t, viewer, latest, videosvc.FeedDefault)
		if len(r.GetVideos()) == 0 {
			break
		}
		got = append(got, videoIDs(r.GetVideos())...)
		latest = r.GetNextTime()
	}
	if !slices.Equal(got, want) {
		t.Fatalf("logged-in paging:\n got %v\nwant %v", got, want)
	}
}

func (f *feedFixture) isBy(t *testing.T, id, author int64) bool {
	t.Helper()
	vs, err := f.store.Get(context.Background(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	return vs[id] != nil && vs[id].AuthorID == author
}

func (f *feedFixture) testFeedBadRequests(t *testing.T) {
	ctx := context.Background()
	for _, req := range []*video.FeedRequest{
		{ViewerId: f.newID(t), Type: "friends"},
		{ViewerId: -1},
		{ViewerId: f.newID(t), LatestTime: -1},
	} {
		_, err := f.api.Feed(ctx, req)
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	}
}
