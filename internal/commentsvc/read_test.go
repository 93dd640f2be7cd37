package commentsvc

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []struct {
		o Order
		m cache.Member
	}{
		{ByTime, cache.Member{ID: 1, Score: 1}},
		{ByThread, cache.Member{ID: 1<<53 - 1, Score: 123456}},
		{ByHot, cache.Member{ID: 386301052354618, Score: 1234.5678901}},
		{ByHot, cache.Member{ID: 5, Score: -3.25}},
	} {
		got, err := decodeCursor(encodeCursor(c.o, c.m), c.o)
		if err != nil || *got != c.m {
			t.Errorf("round trip of %v in order %d = %v, %v", c.m, c.o, got, err)
		}
		// A cursor of one order is refused by the others.
		for _, other := range []Order{ByTime, ByHot, ByThread} {
			if other == c.o {
				continue
			}
			if _, err := decodeCursor(encodeCursor(c.o, c.m), other); err == nil {
				t.Errorf("a cursor of order %d was accepted by order %d", c.o, other)
			}
		}
	}
	for _, bad := range []string{"x", "MS4x", encodeCursor(ByTime, cache.Member{ID: 0, Score: 1}),
		encodeCursor(ByTime, cache.Member{ID: -4, Score: 1}), encodeCursor(ByHot, cache.Member{ID: 4, Score: math.Inf(1)}),
		encodeCursor(ByHot, cache.Member{ID: 4, Score: 1}) + "A", string(make([]byte, 200))} {
		if _, err := decodeCursor(bad, ByHot); err == nil {
			if _, err := decodeCursor(bad, ByTime); err == nil {
				t.Errorf("cursor %q accepted", bad)
			}
		}
	}
}

func TestEdgeMarker(t *testing.T) {
	ms := []cache.Member{{ID: 9, Score: 9}, {ID: 8, Score: 7}}
	for _, c := range []struct {
		o        Order
		complete bool
		want     float64
	}{
		{ByTime, true, math.Inf(-1)}, {ByHot, true, math.Inf(-1)}, {ByThread, true, math.Inf(1)},
		{ByTime, false, 7}, {ByHot, false, 7}, {ByThread, false, 7.5},
	} {
		if got := edgeMarker(c.o, ms, c.complete); got.ID != 0 || got.Score != c.want {
			t.Errorf("edgeMarker(%d, complete %v) = %v, want id 0 score %v", c.o, c.complete, got, c.want)
		}
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestHotPagesInvalidatedEverywhere runs two processes' services over the same
// store and stream. Once a video is hot, each serves its first page from its own
// local cache; a change made through one drops the page in both, so neither
// serves a stale like count even though the (fake) clock never lets a page
// expire.
func TestHotPagesInvalidatedEverywhere(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	o := Options{Clock: clock.now, HotKeys: hotkey.DetectorOptions{Window: 10 * time.Second, Buckets: 10, MinCount: 5, Now: clock.now}}
	f := newInternal(t, o, nil)
	f.run()
	b := f.peer(t, o)
	vid := f.id(t)
	f.videos.Add(vid, f.id(t))
	ctx := context.Background()
	r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "hot"})
	if err != nil {
		t.Fatal(err)
	}
	cid := r.GetComment().GetId()
	likes := func(s *Service) int64 {
		t.Helper()
		l, err := s.List(ctx, &comment.ListRequest{VideoId: vid, Page: &base.Page{Count: 10}})
		if err != nil || len(l.GetComments()) != 1 {
			t.Fatalf("list: %v, %v", l, err)
		}
		return l.GetComments()[0].GetLikeCount()
	}
	tag := strconv.FormatInt(vid, 10)
	for _, s := range []*Service{f.svc, b} {
		for range 10 {
			likes(s)
		}
	}
	clock.add(1100 * time.Millisecond) // the interval with the reads has ended
	for _, s := range []*Service{f.svc, b} {
		if !s.detector.IsHot(tag) {
			t.Fatal("a video read 10 times in the window is not hot")
		}
		likes(s) // fills the hot page
		if _, ok := s.hotPages.Get(hotPageKey(vid, ByTime, 10)); !ok {
			t.Fatal("a hot video's first page is not in the local cache")
		}
	}
	// Served from the hot page: the store is not asked for the page.
	pages := f.store.pages.Load()
	likes(b)
	if f.store.pages.Load() != pages {
		t.Fatal("a hot page read went to the store")
	}

	if _, err := f.svc.Like(ctx, &comment.LikeRequest{UserId: f.id(t), CommentId: cid, Like: true}); err != nil {
		t.Fatal(err)
	}
	if n := likes(f.svc); n != 1 {
		t.Fatalf("the process that made the change serves like_count %d, want 1 at once", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for likes(b) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the other process still serves its stale hot page")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestChangeEvents checks that every kind of change reaches the events stream
// with the comment's state after it and a growing version.
func TestChangeEvents(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	f.run()
	author, user := f.id(t), f.id(t)
	vid := f.newVideoOf(t, author)
	ctx := context.Background()
	events := make(chan Event, 100)
	sub, err := f.bus.Consume(ctx, mq.ConsumerSpec{Stream: EventsStream, Durable: "test-events"}, func(_ context.Context, m mq.Msg) error {
		var e Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Errorf("event %s: %v", m.Data, err)
		}
		events <- e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: user, VideoId: vid, Content: "事件"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.GetComment().GetId()
	if _, err := f.svc.Like(ctx, &comment.LikeRequest{UserId: user, CommentId: id, Like: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Pin(ctx, &comment.PinRequest{UserId: author, VideoId: vid, CommentId: id, Pin: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Delete(ctx, &comment.DeleteRequest{UserId: user, CommentId: id}); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventCreated, ID: id, VideoID: vid, UserID: user, Floor: 1, State: comment.CommentState_Visible, Content: "事件", Version: 1},
		{Kind: EventLike, ID: id, VideoID: vid, UserID: user, Floor: 1, State: comment.CommentState_Visible, LikeCount: 1, Version: 2},
		{Kind: EventPin, ID: id, VideoID: vid, PinnedID: id},
		{Kind: EventState, ID: id, VideoID: vid, UserID: user, Floor: 1, State: comment.CommentState_Deleted,
			OldState: comment.CommentState_Visible, LikeCount: 1, Content: "事件", Version: 3},
	}
	for i, w := range want {
		select {
		case e := <-events:
			e.At, e.CreatedAt = 0, 0
			if e != w {
				t.Errorf("event %d = %+v\nwant %+v", i, e, w)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("event %d (%s) did not arrive", i, w.Kind)
		}
	}
}

// TestPageBeforeEverything reads the store from the position a pinned-only first
// page hands on: before every comment, in every order.
func TestPageBeforeEverything(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	f.run()
	vid := f.newVideoOf(t, f.id(t))
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "c" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []Order{ByTime, ByHot} {
		ms, err := f.store.Page(ctx, PageQuery{VideoID: vid, Order: o, After: &cache.Member{Score: math.MaxFloat64, ID: 1<<53 - 1}, N: 10})
		if err != nil || len(ms) != 3 {
			t.Fatalf("order %d: %d comments after the start position, %v; want 3", o, len(ms), err)
		}
	}
}

// TestHotPageSharedByReaders checks a hot first page's answers: every reader
// gets the page's comments as everyone sees them, shared, except copies of the
// ones they like (a comment, or one whose previewed reply they like), and no
// reader's likes show in anyone else's answer.
func TestHotPageSharedByReaders(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	o := Options{Clock: clock.now, HotKeys: hotkey.DetectorOptions{Window: 10 * time.Second, Buckets: 10, MinCount: 1, Now: clock.now}}
	f := newInternal(t, o, nil)
	f.run()
	ctx := context.Background()
	author := f.id(t)
	vid := f.newVideoOf(t, author)
	publish := func(parent int64) int64 {
		t.Helper()
		r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "c", ParentId: parent})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetComment().GetId()
	}
	var roots []int64
	for range 4 {
		roots = append(roots, publish(0))
	}
	reply := publish(roots[1])
	if _, err := f.svc.Pin(ctx, &comment.PinRequest{UserId: author, VideoId: vid, CommentId: roots[0], Pin: true}); err != nil {
		t.Fatal(err)
	}
	fan, other := f.id(t), f.id(t)
	for _, id := range []int64{roots[2], reply} {
		if _, err := f.svc.Like(ctx, &comment.LikeRequest{UserId: fan, CommentId: id, Like: true}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(viewer int64) []*comment.Comment {
		t.Helper()
		r, err := f.svc.List(ctx, &comment.ListRequest{ViewerId: viewer, VideoId: vid, Page: &base.Page{Count: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetComments()
	}
	list(0)
	clock.add(1100 * time.Millisecond) // hot from here on
	// likedIn lists the ids an answer marks liked, replies included.
	likedIn := func(cs []*comment.Comment) []int64 {
		var out []int64
		for _, c := range cs {
			for _, x := range append([]*comment.Comment{c}, c.GetReplies()...) {
				if x.GetIsLiked() {
					out = append(out, x.GetId())
				}
			}
		}
		slices.Sort(out)
		return out
	}
	wantFan := []int64{roots[2], reply}
	slices.Sort(wantFan)
	// Each round reads the fan's, another reader's and an anonymous answer.
	// Sharing is checked only in rounds that one kept page served from start
	// to end: the writes' change notices reach this process asynchronously,
	// and one arriving late drops the page, which the next read builds anew.
	key := hotPageKey(vid, ByTime, 10)
	stable := 0
	for deadline := time.Now().Add(20 * time.Second); stable < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s, %d of 2 rounds were served by one kept page", stable)
		}
		list(0) // keeps the page if a notice dropped it
		kept, ok := f.svc.hotPages.Get(key)
		mine, theirs, anon := list(fan), list(other), list(0)
		if got := likedIn(mine); !slices.Equal(got, wantFan) {
			t.Fatalf("the fan's answer likes %v, want %v", got, wantFan)
		}
		if got := likedIn(theirs); len(got) != 0 {
			t.Fatalf("another reader's answer likes %v: the fan's likes leaked", got)
		}
		if got := likedIn(anon); len(got) != 0 {
			t.Fatalf("the anonymous answer likes %v", got)
		}
		if after, still := f.svc.hotPages.Get(key); !ok || !still || after != kept {
			continue
		}
		stable++
		shared := kept.objects()
		if len(shared) != 4 || shared[0].GetId() != roots[0] || !shared[0].GetIsPinned() {
			t.Fatalf("first page %v: want 4 comments, the pinned one first", shared)
		}
		if r := shared[3].GetReplies(); shared[3].GetId() != roots[1] || len(r) != 1 || r[0].GetId() != reply || r[0].GetIsLiked() {
			t.Fatalf("everyone's comment %d with previews %v, want %d with its reply", shared[3].GetId(), r, roots[1])
		}
		for i, c := range shared {
			// Shared where nobody's likes differ; copied where the fan's do.
			if theirs[i] != c || anon[i] != c {
				t.Fatalf("comment %d is not shared by the answers without likes", c.GetId())
			}
			liked := c.GetId() == roots[2] || c.GetId() == roots[1] // roots[1] previews the liked reply
			if (mine[i] == c) == liked {
				t.Fatalf("comment %d shared %v in the fan's answer, want %v", c.GetId(), mine[i] == c, !liked)
			}
			// Otherwise the fan's copy is the shared comment, but for is_liked.
			cp, want := *mine[i], *c
			cp.IsLiked, cp.Replies, want.Replies = false, nil, nil
			if !reflect.DeepEqual(cp, want) || len(mine[i].GetReplies()) != len(c.GetReplies()) {
				t.Fatalf("the fan's comment %+v differs from everyone's %+v", mine[i], c)
			}
		}
	}
}
