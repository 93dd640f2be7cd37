package relationsvc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/relation/relationservice"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// placement builds the relation service under test and returns the interface
// callers use: the Go implementation itself, or a Kitex client of a real server on
// loopback.
type placement func(t *testing.T, svc *relationsvc.Service) relation.RelationService

var placements = map[string]placement{
	"direct": func(t *testing.T, svc *relationsvc.Service) relation.RelationService { return svc },
	"kitex":  viaKitex,
}

func viaKitex(t *testing.T, svc *relationsvc.Service) relation.RelationService {
	t.Helper()
	addr := svctest.ServeKitex(t, "relation", func(o []server.Option) server.Server { return relationservice.NewServer(svc, o...) })
	c, err := relationservice.NewClient("relation", rpc.ClientOptions("relation", []string{addr}, 10*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}
	return relationsvc.NewRemote(c)
}

// databases opens an empty database for the service on each engine under test.
var databases = svctest.Databases("relationsvc")

// fakeUsers is the user role as the relation role sees it: GetProfiles of the
// accounts it holds. Other methods are not called.
type fakeUsers struct {
	user.UserService
	mu    sync.Mutex
	known map[int64]bool
}

func (f *fakeUsers) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]*base.Profile{}
	for _, id := range req.GetUserIds() {
		if f.known[id] {
			out[id] = &base.Profile{Id: id, Name: fmt.Sprint("user", id)}
		}
	}
	return &user.GetProfilesResponse{Profiles: out}, nil
}

type fixture struct {
	api    relation.RelationService
	store  *relationsvc.SQLStore
	events *outbox.Outbox
	db     *db.DB
	users  *fakeUsers
	ids    *idgen.Generator
}

func newFixture(t *testing.T, d *db.DB, place placement, keep bool) *fixture {
	t.Helper()
	ctx := context.Background()
	// The outbox has no bus: nothing relays in this suite, so every event the
	// service records stays in the table where Pending counts it.
	ob := svctest.Outbox(t, d, relationsvc.OutboxService, nil, quiet)
	store, err := relationsvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(1)
	if err != nil {
		t.Fatal(err)
	}
	users := &fakeUsers{known: map[int64]bool{}}
	var served relationsvc.Store = store
	if keep {
		served = relationsvc.KeepStats(store)
	}
	svc := relationsvc.New(served, users, ids)
	return &fixture{api: place(t, svc), store: store, events: ob, db: d, users: users, ids: ids}
}

// TestRelationService runs the whole suite on every database and in every
// placement, and once more in one process with its stats kept (KeepStats).
func TestRelationService(t *testing.T) {
	type variant struct {
		place placement
		keep  bool
	}
	variants := map[string]variant{"direct/kept stats": {placements["direct"], true}}
	for pName, place := range placements {
		variants[pName] = variant{place, false}
	}
	for dbName, open := range databases {
		for vName, v := range variants {
			t.Run(dbName+"/"+vName, func(t *testing.T) {
				f := newFixture(t, open(t), v.place, v.keep)
				t.Run("follow and unfollow", f.testFollow)
				t.Run("bad input changes nothing", f.testBadInput)
				t.Run("paging never repeats or skips", f.testPaging)
				t.Run("ties within a millisecond", f.testTies)
				t.Run("default page", f.testDefaultPage)
				t.Run("friends are mutual follows", f.testFriends)
				t.Run("user stats", f.testUserStats)
				t.Run("popular users", f.testPopular)
				t.Run("concurrent follows stay exact", f.testConcurrent)
			})
		}
	}
}

// newUser registers a new account with the fake user role.
func (f *fixture) newUser(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	f.users.mu.Lock()
	f.users.known[id] = true
	f.users.mu.Unlock()
	return id
}

// ghost returns a valid id that has no account.
func (f *fixture) ghost(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) follow(t *testing.T, from, to int64, follow bool) {
	t.Helper()
	if _, err := f.api.Follow(context.Background(), &relation.FollowRequest{UserId: from, ToUserId: to, Follow: follow}); err != nil {
		t.Fatalf("follow(%d → %d, %v): %v", from, to, follow, err)
	}
}

func (f *fixture) pending(t *testing.T) int {
	t.Helper()
	n, err := f.events.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stats returns what viewer sees of id.
func (f *fixture) stats(t *testing.T, viewer, id int64) *relation.UserStats {
	t.Helper()
	r, err := f.api.UserStats(context.Background(), &relation.UserStatsRequest{ViewerId: viewer, UserIds: []int64{id}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.GetStats()[id]
	if s == nil {
		t.Fatalf("no stats for %d", id)
	}
	return s
}

func (f *fixture) wantStats(t *testing.T, viewer, id, follows, followers int64, isFollow bool) {
	t.Helper()
	s := f.stats(t, viewer, id)
	if s.FollowCount != follows || s.FollowerCount != followers || s.IsFollow != isFollow {
		t.Fatalf("stats of %d seen by %d = %+v, want follow_count %d follower_count %d is_follow %v",
			id, viewer, s, follows, followers, isFollow)
	}
}

// all pages through a list with count per page and returns the ids in order.
func all(t *testing.T, list func(context.Context, *relation.ListRequest) (*relation.ListResponse, error), id int64, count int32) []int64 {
	t.Helper()
	var out []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		r, err := list(context.Background(), &relation.ListRequest{UserId: id, Page: &base.Page{Count: count, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		if count > 0 && len(r.GetUserIds()) > int(count) {
			t.Fatalf("page of %d for count %d", len(r.GetUserIds()), count)
		}
		out = append(out, r.GetUserIds()...)
		if !r.GetPage().GetHasMore() {
			if r.GetPage().GetNextCursor() != "" {
				t.Fatalf("last page carries a cursor %q", r.GetPage().GetNextCursor())
			}
			return out
		}
		if len(r.GetUserIds()) == 0 || r.GetPage().GetNextCursor() == "" {
			t.Fatalf("has_more with %d ids and cursor %q", len(r.GetUserIds()), r.GetPage().GetNextCursor())
		}
		cursor = r.GetPage().GetNextCursor()
	}
}

func (f *fixture) testFollow(t *testing.T) {
	a, b := f.newUser(t), f.newUser(t)
	f.wantStats(t, a, b, 0, 0, false)
	before := f.pending(t)

	f.follow(t, a, b, true)
	f.wantStats(t, a, a, 1, 0, false)
	f.wantStats(t, a, b, 0, 1, true)
	f.wantStats(t, b, a, 1, 0, false) // b does not follow a
	f.wantStats(t, 0, b, 0, 1, false) // anonymous never follows
	if n := f.pending(t) - before; n != 1 {
		t.Fatalf("a follow recorded %d events, want 1", n)
	}

	// A repeated follow changes nothing and announces nothing.
	f.follow(t, a, b, true)
	f.wantStats(t, a, b, 0, 1, true)
	f.wantStats(t, a, a, 1, 0, false)
	if n := f.pending(t) - before; n != 1 {
		t.Fatalf("a repeated follow recorded an event (%d in all)", n)
	}
	if got := all(t, f.api.ListFollowing, a, 0); !slices.Equal(got, []int64{b}) {
		t.Fatalf("a follows %v, want [%d]", got, b)
	}
	if got := all(t, f.api.ListFollowers, b, 0); !slices.Equal(got, []int64{a}) {
		t.Fatalf("b's followers %v, want [%d]", got, a)
	}

	f.follow(t, a, b, false)
	f.wantStats(t, a, a, 0, 0, false)
	f.wantStats(t, a, b, 0, 0, false)
	if n := f.pending(t) - before; n != 2 {
		t.Fatalf("follow + unfollow recorded %d events, want 2", n)
	}
	// Repeated unfollows, and an unfollow of a user never followed, change nothing.
	f.follow(t, a, b, false)
	f.follow(t, b, a, false)
	f.wantStats(t, a, b, 0, 0, false)
	f.wantStats(t, b, a, 0, 0, false)
	if n := f.pending(t) - before; n != 2 {
		t.Fatalf("repeated unfollows recorded events (%d in all)", n)
	}
	if got := all(t, f.api.ListFollowing, a, 0); len(got) != 0 {
		t.Fatalf("a still follows %v", got)
	}
	if got := all(t, f.api.ListFollowers, b, 0); len(got) != 0 {
		t.Fatalf("b still has followers %v", got)
	}

	// Following again after an unfollow is a new state change.
	f.follow(t, a, b, true)
	f.wantStats(t, a, b, 0, 1, true)
	if n := f.pending(t) - before; n != 3 {
		t.Fatalf("follow, unfollow, follow recorded %d events, want 3", n)
	}
	f.wantCountsExact(t)
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	a, b := f.newUser(t), f.newUser(t)
	ghost := f.ghost(t)
	before := f.pending(t)
	for _, follow := range []bool{true, false} {
		_, err := f.api.Follow(ctx, &relation.FollowRequest{UserId: a, ToUserId: a, Follow: follow})
		svctest.WantCode(t, err, base.ErrCode_RelationSelfFollow)
		_, err = f.api.Follow(ctx, &relation.FollowRequest{UserId: a, ToUserId: ghost, Follow: follow})
		svctest.WantCode(t, err, base.ErrCode_RelationUserNotFound)
		_, err = f.api.Follow(ctx, &relation.FollowRequest{UserId: ghost, ToUserId: b, Follow: follow})
		svctest.WantCode(t, err, base.ErrCode_Unauthenticated)
		for _, bad := range []int64{0, -1, 1 << 53, 1<<63 - 1} {
			_, err = f.api.Follow(ctx, &relation.FollowRequest{UserId: a, ToUserId: bad, Follow: follow})
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
			_, err = f.api.Follow(ctx, &relation.FollowRequest{UserId: bad, ToUserId: b, Follow: follow})
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		}
	}
	f.wantStats(t, a, a, 0, 0, false)
	f.wantStats(t, a, b, 0, 0, false)
	if n := f.pending(t) - before; n != 0 {
		t.Fatalf("refused follows recorded %d events", n)
	}

	lists := map[string]func(context.Context, *relation.ListRequest) (*relation.ListResponse, error){
		"following": f.api.ListFollowing, "followers": f.api.ListFollowers, "friends": f.api.ListFriends,
	}
	for name, list := range lists {
		for _, bad := range []int64{0, -1, 1 << 53} {
			_, err := list(ctx, &relation.ListRequest{UserId: bad})
			svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		}
		_, err := list(ctx, &relation.ListRequest{UserId: a, Page: &base.Page{Count: -1}})
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
		for _, cursor := range []string{"garbage", "!!!", "MTIzNA", "LTEuNQ", "MTIzLjA", "MTIzLjAwMQ", "LTEuMQ", string(make([]byte, 300))} {
			_, err := list(ctx, &relation.ListRequest{UserId: a, Page: &base.Page{Count: 10, Cursor: cursor}})
			if errs.CodeOf(err) != base.ErrCode_InvalidArgument {
				t.Errorf("%s with cursor %q: %v, want InvalidArgument", name, cursor, err)
			}
		}
		// An unknown user's lists are empty: whether the user exists is the
		// caller's question to the user role.
		r, err := list(ctx, &relation.ListRequest{UserId: ghost})
		if err != nil || len(r.GetUserIds()) != 0 || r.GetPage().GetHasMore() {
			t.Fatalf("%s of an unknown user: %v, %v", name, r, err)
		}
	}

	_, err := f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: -1, UserIds: []int64{a}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: 1 << 53, UserIds: []int64{a}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	for _, bad := range []int64{0, -1, 1 << 53} {
		_, err = f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: a, UserIds: []int64{b, bad}})
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	}
	many := make([]int64, relationsvc.MaxBatch+1)
	for i := range many {
		many[i] = a
	}
	_, err = f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: a, UserIds: many})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	if _, err := f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: a, UserIds: many[:relationsvc.MaxBatch]}); err != nil {
		t.Fatalf("a batch of %d: %v", relationsvc.MaxBatch, err)
	}
}

func (f *fixture) testPaging(t *testing.T) {
	star := f.newUser(t)
	var fans []int64
	for range 25 {
		fan := f.newUser(t)
		f.follow(t, fan, star, true)
		fans = append(fans, fan)
	}
	// Newest first. Follows in one millisecond tie on created_at and are then
	// ordered by id, which here is also the order they were made in.
	want := slices.Clone(fans)
	slices.Reverse(want)
	got := all(t, f.api.ListFollowers, star, 10)
	if !slices.Equal(got, want) {
		t.Fatalf("followers in pages of 10:\n got %v\nwant %v", got, want)
	}
	for _, fan := range fans {
		f.wantStats(t, fan, star, 0, 25, true)
	}

	// Changes between pages neither repeat nor skip the other entries: take the
	// first page, then a new follower arrives (it belongs before the cursor) and
	// one on the next page leaves.
	ctx := context.Background()
	r, err := f.api.ListFollowers(ctx, &relation.ListRequest{UserId: star, Page: &base.Page{Count: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.GetUserIds(), want[:10]) || !r.GetPage().GetHasMore() {
		t.Fatalf("first page %v (more %v), want %v", r.GetUserIds(), r.GetPage().GetHasMore(), want[:10])
	}
	late := f.newUser(t)
	f.follow(t, late, star, true)
	leaver := want[12]
	f.follow(t, leaver, star, false)
	var rest []int64
	cursor := r.GetPage().GetNextCursor()
	for cursor != "" {
		r, err := f.api.ListFollowers(ctx, &relation.ListRequest{UserId: star, Page: &base.Page{Count: 10, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, r.GetUserIds()...)
		cursor = r.GetPage().GetNextCursor()
	}
	wantRest := slices.DeleteFunc(slices.Clone(want[10:]), func(id int64) bool { return id == leaver })
	if !slices.Equal(rest, wantRest) {
		t.Fatalf("pages after changes:\n got %v\nwant %v", rest, wantRest)
	}

	// The following list pages the same way.
	var followees []int64
	for range 13 {
		u := f.newUser(t)
		f.follow(t, star, u, true)
		followees = append(followees, u)
	}
	slices.Reverse(followees)
	if got := all(t, f.api.ListFollowing, star, 5); !slices.Equal(got, followees) {
		t.Fatalf("following in pages of 5:\n got %v\nwant %v", got, followees)
	}
	if got := all(t, f.api.ListFollowing, star, 13); !slices.Equal(got, followees) {
		t.Fatalf("following in one exact page:\n got %v\nwant %v", got, followees)
	}
	f.wantCountsExact(t)
}

// testTies writes edges that share one millisecond straight through the store and
// pages through them: the user id breaks the tie, so nothing repeats or is skipped.
func (f *fixture) testTies(t *testing.T) {
	ctx := context.Background()
	star := f.newUser(t)
	var fans []int64
	for i := range 17 {
		fan := f.newUser(t)
		at := int64(1_700_000_000_000)
		if i >= 12 {
			at++ // a later millisecond for the last five
		}
		if _, err := f.store.Follow(ctx, relationsvc.Change{FollowerID: fan, FolloweeID: star, At: at, EventID: f.ghost(t)}); err != nil {
			t.Fatal(err)
		}
		fans = append(fans, fan)
	}
	want := append(slices.Clone(fans[12:]), fans[:12]...)
	slices.Reverse(want[:5])
	slices.Reverse(want[5:])
	for _, count := range []int32{1, 2, 3, 5, 16, 17, 18} {
		if got := all(t, f.api.ListFollowers, star, count); !slices.Equal(got, want) {
			t.Fatalf("pages of %d:\n got %v\nwant %v", count, got, want)
		}
	}
}

// testDefaultPage checks that a list without a count answers 1,000 users and
// that a larger count is clamped to it.
func (f *fixture) testDefaultPage(t *testing.T) {
	ctx := context.Background()
	star := f.newUser(t)
	const n = relationsvc.DefaultPageSize + 7
	var wg sync.WaitGroup
	errc := make(chan error, n)
	sem := make(chan struct{}, 8)
	for range n {
		fan, eventID := f.newUser(t), f.ghost(t)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := f.store.Follow(ctx, relationsvc.Change{FollowerID: fan, FolloweeID: star, At: time.Now().UnixMilli(), EventID: eventID})
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, count := range []int32{0, relationsvc.MaxPageSize + 1, 1 << 30} {
		r, err := f.api.ListFollowers(ctx, &relation.ListRequest{UserId: star, Page: &base.Page{Count: count}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetUserIds()) != relationsvc.DefaultPageSize || !r.GetPage().GetHasMore() {
			t.Fatalf("count %d: a page of %d (more %v), want %d and more", count, len(r.GetUserIds()), r.GetPage().GetHasMore(), relationsvc.DefaultPageSize)
		}
		r, err = f.api.ListFollowers(ctx, &relation.ListRequest{UserId: star, Page: &base.Page{Count: count, Cursor: r.GetPage().GetNextCursor()}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetUserIds()) != 7 || r.GetPage().GetHasMore() {
			t.Fatalf("count %d: second page of %d (more %v), want the last 7", count, len(r.GetUserIds()), r.GetPage().GetHasMore())
		}
	}
	if got := all(t, f.api.ListFollowers, star, 0); len(got) != n {
		t.Fatalf("all pages hold %d followers, want %d", len(got), n)
	}
	f.wantStats(t, 0, star, 0, n, false)
}

func (f *fixture) testFriends(t *testing.T) {
	me := f.newUser(t)
	mutual := []int64{f.newUser(t), f.newUser(t), f.newUser(t), f.newUser(t)}
	oneWayOut, oneWayIn := f.newUser(t), f.newUser(t)
	for _, u := range mutual {
		f.follow(t, me, u, true)
		f.follow(t, u, me, true)
	}
	f.follow(t, me, oneWayOut, true)
	f.follow(t, oneWayIn, me, true)

	want := slices.Clone(mutual)
	slices.Reverse(want) // ordered by when me followed them, newest first
	for _, count := range []int32{0, 1, 3, 4} {
		if got := all(t, f.api.ListFriends, me, count); !slices.Equal(got, want) {
			t.Fatalf("friends in pages of %d:\n got %v\nwant %v", count, got, want)
		}
	}
	// Friendship is symmetric.
	for _, u := range mutual {
		if got := all(t, f.api.ListFriends, u, 0); !slices.Equal(got, []int64{me}) {
			t.Fatalf("friends of %d = %v, want [%d]", u, got, me)
		}
	}
	for _, u := range []int64{oneWayOut, oneWayIn} {
		if got := all(t, f.api.ListFriends, u, 0); len(got) != 0 {
			t.Fatalf("one-way follow made friends: %v", got)
		}
	}
	// The one-way follow becomes a friendship once returned, and ends with either
	// unfollow.
	f.follow(t, oneWayOut, me, true)
	if got := all(t, f.api.ListFriends, me, 0); !slices.Equal(got, append([]int64{oneWayOut}, want...)) {
		t.Fatalf("friends after a follow back: %v", got)
	}
	f.follow(t, me, mutual[0], false)
	f.follow(t, oneWayOut, me, false)
	if got := all(t, f.api.ListFriends, me, 0); !slices.Equal(got, want[:3]) {
		t.Fatalf("friends after unfollows: %v, want %v", got, want[:3])
	}
	if got := all(t, f.api.ListFriends, mutual[0], 0); len(got) != 0 {
		t.Fatalf("friendship survived an unfollow: %v", got)
	}
	f.wantCountsExact(t)
}

func (f *fixture) testUserStats(t *testing.T) {
	ctx := context.Background()
	a, b, c := f.newUser(t), f.newUser(t), f.newUser(t)
	f.follow(t, a, b, true)
	f.follow(t, a, c, true)
	f.follow(t, c, b, true)
	ghost := f.ghost(t)
	r, err := f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: a, UserIds: []int64{a, b, c, b, ghost}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]relation.UserStats{
		a:     {FollowCount: 2},
		b:     {FollowerCount: 2, IsFollow: true},
		c:     {FollowCount: 1, FollowerCount: 1, IsFollow: true},
		ghost: {},
	}
	if len(r.GetStats()) != len(want) {
		t.Fatalf("stats for %d users, want %d: %v", len(r.GetStats()), len(want), r.GetStats())
	}
	for id, w := range want {
		got := r.GetStats()[id]
		if got == nil || got.FollowCount != w.FollowCount || got.FollowerCount != w.FollowerCount || got.IsFollow != w.IsFollow {
			t.Fatalf("stats of %d = %+v, want %+v", id, got, w)
		}
	}
	r, err = f.api.UserStats(ctx, &relation.UserStatsRequest{ViewerId: 0, UserIds: nil})
	if err != nil || len(r.GetStats()) != 0 {
		t.Fatalf("empty batch: %v, %v", r, err)
	}
}

// testConcurrent has many users follow and unfollow one user at once, some of
// them the same edge from several goroutines, and checks that every count ends
// equal to the edges it counts.
func (f *fixture) testConcurrent(t *testing.T) {
	ctx := context.Background()
	star := f.newUser(t)
	const fans, rounds = 16, 6
	ids := make([]int64, fans)
	for i := range ids {
		ids[i] = f.newUser(t)
	}
	before := f.pending(t)
	var wg sync.WaitGroup
	errc := make(chan error, fans*rounds*3)
	for i, fan := range ids {
		for g := range 2 { // two goroutines per fan race on the same edge
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					follow := (r+g+i)%2 == 0
					_, err := f.api.Follow(ctx, &relation.FollowRequest{UserId: fan, ToUserId: star, Follow: follow})
					errc <- err
					// The star follows back some of them, so both rows of a
					// pair are locked from both sides.
					if i%3 == 0 {
						_, err := f.api.Follow(ctx, &relation.FollowRequest{UserId: star, ToUserId: fan, Follow: !follow})
						errc <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.wantCountsExact(t)
	// Events match the state changes: each edge's events alternate follow and
	// unfollow from absent, so an edge that ends present had one more follow.
	var edges int
	if err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM relation_follows WHERE follower_id = ? OR followee_id = ?`, star, star).Scan(&edges); err != nil {
		t.Fatal(err)
	}
	if n := f.pending(t) - before; n < edges || (n-edges)%2 != 0 {
		t.Fatalf("%d events for %d edges left present; want edges plus follow/unfollow pairs", n, edges)
	}
	s := f.stats(t, 0, star)
	var followers, following int
	f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM relation_follows WHERE followee_id = ?`, star).Scan(&followers)
	f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM relation_follows WHERE follower_id = ?`, star).Scan(&following)
	if s.FollowerCount != int64(followers) || s.FollowCount != int64(following) {
		t.Fatalf("star's stats %+v, edges %d followers %d following", s, followers, following)
	}
	if got := all(t, f.api.ListFollowers, star, 7); len(got) != followers {
		t.Fatalf("follower list holds %d, edges %d", len(got), followers)
	}
}

// wantCountsExact checks every stored count against the edges it counts.
func (f *fixture) wantCountsExact(t *testing.T) {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), `SELECT c.user_id, c.follow_count, c.follower_count,
		(SELECT COUNT(*) FROM relation_follows e WHERE e.follower_id = c.user_id),
		(SELECT COUNT(*) FROM relation_follows e WHERE e.followee_id = c.user_id)
		FROM relation_counts c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, follows, followers, edgesOut, edgesIn int64
		if err := rows.Scan(&id, &follows, &followers, &edgesOut, &edgesIn); err != nil {
			t.Fatal(err)
		}
		if follows != edgesOut || followers != edgesIn {
			t.Fatalf("user %d counts %d following, %d followers; edges say %d, %d", id, follows, followers, edgesOut, edgesIn)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var orphans int
	if err := f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM relation_follows e
		WHERE NOT EXISTS (SELECT 1 FROM relation_counts c WHERE c.user_id = e.follower_id)
		OR NOT EXISTS (SELECT 1 FROM relation_counts c WHERE c.user_id = e.followee_id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Fatalf("%d edges have an end without a counts row", orphans)
	}
}

// testPopular: ListPopular lists the users with more than min_followers
// followers, most followed first (then the newer id), as the follow edges
// count them, and says whether that is all of them.
func (f *fixture) testPopular(t *testing.T) {
	ctx := context.Background()
	authors := []int64{f.newUser(t), f.newUser(t), f.newUser(t)}
	for i, n := range []int{7, 6, 6} {
		for range n {
			f.follow(t, f.newUser(t), authors[i], true)
		}
	}
	// The oracle: the edges themselves, over every user the suite made.
	expect := func(min int64) []int64 {
		rows, err := f.db.QueryContext(ctx, `SELECT followee_id FROM relation_follows GROUP BY followee_id
			HAVING COUNT(*) > ? ORDER BY COUNT(*) DESC, followee_id DESC`, min)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	list := func(min int64, count int32) *relation.PopularResponse {
		t.Helper()
		r, err := f.api.ListPopular(ctx, &relation.PopularRequest{MinFollowers: min, Count: count})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := expect(5)
	if len(want) < 3 || !slices.Contains(want, authors[0]) || !slices.Contains(want, authors[2]) {
		t.Fatalf("the oracle lists %v, which lacks the authors %v", want, authors)
	}
	if r := list(5, relationsvc.MaxPopular); !slices.Equal(r.GetUserIds(), want) || !r.GetComplete() {
		t.Errorf("ListPopular(5) = %v complete %v, want %v complete", r.GetUserIds(), r.GetComplete(), want)
	}
	if r := list(5, 2); !slices.Equal(r.GetUserIds(), want[:2]) || r.GetComplete() {
		t.Errorf("ListPopular(5, count 2) = %v complete %v, want %v incomplete", r.GetUserIds(), r.GetComplete(), want[:2])
	}
	// An unfollow takes the author under the bar at once.
	f.follow(t, f.newUser(t), authors[1], true)
	for _, id := range f.followersOf(t, authors[1])[:2] {
		f.follow(t, id, authors[1], false)
	}
	if r := list(5, relationsvc.MaxPopular); slices.Contains(r.GetUserIds(), authors[1]) || !slices.Equal(r.GetUserIds(), expect(5)) {
		t.Errorf("after unfollows ListPopular(5) = %v, want %v (without %d)", r.GetUserIds(), expect(5), authors[1])
	}
	for _, bad := range []*relation.PopularRequest{{MinFollowers: 5}, {MinFollowers: 5, Count: relationsvc.MaxPopular + 1}, {MinFollowers: -1, Count: 10}} {
		_, err := f.api.ListPopular(ctx, bad)
		svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	}
}

// followersOf lists every follower of id.
func (f *fixture) followersOf(t *testing.T, id int64) []int64 {
	t.Helper()
	r, err := f.api.ListFollowers(context.Background(), &relation.ListRequest{UserId: id, Page: &base.Page{Count: 100}})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetUserIds()
}
