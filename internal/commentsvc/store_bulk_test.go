package commentsvc_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// TestBulkInsert loads comment histories through BulkInsert and checks that the
// role serves them as if they had been written live: floors per video and per
// thread, what each state shows, counts, hot order, likes; that `mdouyin
// check`'s counters agree with the facts; that live writes continue the floors
// and counts; and that histories the live path could not have made are refused
// whole.
func TestBulkInsert(t *testing.T) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t, st, placements["direct"], commentsvc.Options{})
			ctx := context.Background()
			bulk, err := commentsvc.NewSQLStore(ctx, f.db, nil)
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := bulk.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			const (
				visible  = comment.CommentState_Visible
				pending  = comment.CommentState_Pending
				rejected = comment.CommentState_Rejected
				deleted  = comment.CommentState_Deleted
			)
			author := f.id(t)
			vid, big := f.newVideo(t, author), f.newVideo(t, author)
			t0 := time.Now().Add(-10 * 24 * time.Hour).UnixMilli()
			minute := int64(time.Minute / time.Millisecond)
			var cs []commentsvc.NewComment
			add := func(video, parent int64, state comment.CommentState, at int64) int64 {
				id := f.id(t)
				cs = append(cs, commentsvc.NewComment{ID: id, VideoID: video, OwnerID: author, UserID: f.id(t), ParentID: parent,
					State: state, CreatedAt: at, Content: fmt.Sprintf("c%d", len(cs))})
				return id
			}
			// Video vid: five top-level comments, the third held for review, the
			// fourth deleted after a reply came; a thread under the first with a
			// reply to a reply, a deleted reply and a held one.
			r1 := add(vid, 0, visible, t0)
			r2 := add(vid, 0, visible, t0+minute)
			add(vid, 0, pending, t0+2*minute) // floor 3, held
			r4 := add(vid, 0, deleted, t0+3*minute)
			r5 := add(vid, 0, visible, t0+3*minute) // the same ms as r4: order decides
			a1 := add(vid, r1, visible, t0+5*minute)
			a2 := add(vid, a1, visible, t0+6*minute)
			add(vid, r1, deleted, t0+7*minute)
			add(vid, a2, rejected, t0+8*minute)
			b1 := add(vid, r4, visible, t0+9*minute)
			var likes []commentsvc.CommentLike
			like := func(id int64, n int, at int64) {
				for range n {
					likes = append(likes, commentsvc.CommentLike{UserID: f.id(t), CommentID: id, CreatedAt: at})
				}
			}
			like(r1, 3, t0+10*minute)
			like(r2, 1, t0+10*minute)
			like(a1, 2, t0+11*minute)
			like(r4, 1, t0+4*minute)
			like(b1, 1, t0+12*minute)
			// Video big: 600 top-level comments and 120 replies in one thread
			// (more than one statement each), 700 likes.
			var bigRoots []int64
			for i := range 600 {
				bigRoots = append(bigRoots, add(big, 0, visible, t0+int64(i)*1000))
			}
			for i := range 120 {
				add(big, bigRoots[7], visible, t0+600_000+int64(i))
			}
			for i := range 700 {
				like(bigRoots[i%35], 1, t0+700_000)
			}
			if err := bulk.BulkInsert(ctx, cs, likes); err != nil {
				t.Fatal(err)
			}
			if err := bulk.BulkInsert(ctx, nil, nil); err != nil {
				t.Fatal(err)
			}

			byTime := f.list(t, 0, vid, 0, "time", 0, "").GetComments()
			if got := ids(byTime); !slices.Equal(got, []int64{r5, r2, r1}) {
				t.Errorf("time order %v, want %v", got, []int64{r5, r2, r1})
			}
			if got := floors(byTime); !slices.Equal(got, []int64{5, 2, 1}) {
				t.Errorf("floors %v, want 5 2 1", got)
			}
			first := byTime[2]
			if first.GetLikeCount() != 3 || first.GetReplyCount() != 2 {
				t.Errorf("comment r1: %d likes, %d replies; want 3 and 2", first.GetLikeCount(), first.GetReplyCount())
			}
			// Visible roots and the visible replies of visible threads: the
			// deleted thread's reply is not counted.
			if n := f.count(t, vid); n != 5 {
				t.Errorf("video count %d, want 5", n)
			}
			thread := f.list(t, 0, vid, r1, "", 0, "").GetComments()
			if !slices.Equal(ids(thread), []int64{a1, a2}) || !slices.Equal(floors(thread), []int64{1, 2}) || thread[1].GetParentId() != a1 {
				t.Errorf("thread r1: %v floors %v (a2's parent %d); want %v floors 1 2, a2 answering a1",
					ids(thread), floors(thread), thread[1].GetParentId(), []int64{a1, a2})
			}
			if thread[0].GetLikeCount() != 2 || thread[0].GetRootId() != r1 {
				t.Errorf("reply a1: %+v", thread[0])
			}
			// A deleted thread is gone for readers, as after a live delete;
			// its reply is still counted on it.
			if _, err := f.api.List(ctx, &comment.ListRequest{VideoId: vid, RootId: r4}); err == nil {
				t.Error("the thread of the deleted r4 was listed")
			}
			if rows, err := bulk.Rows(ctx, []int64{r4, b1}); err != nil || rows[r4].ReplyCount != 1 || rows[b1].RootID != r4 || rows[b1].Floor != 1 {
				t.Errorf("deleted r4 and its reply: %+v (%v)", rows, err)
			}
			if n := f.count(t, big); n != 720 {
				t.Errorf("big video count %d, want 720", n)
			}

			// Hot order: the stored score of every comment is HotScore of its
			// counts and time, and pages come highest first.
			var hot []*comment.Comment
			cursor := ""
			for {
				r := f.list(t, 0, big, 0, "hot", 100, cursor)
				hot = append(hot, r.GetComments()...)
				if !r.GetPage().GetHasMore() {
					break
				}
				cursor = r.GetPage().GetNextCursor()
			}
			if len(hot) != 600 {
				t.Fatalf("hot pages hold %d comments, want 600", len(hot))
			}
			score := func(c *comment.Comment) float64 {
				return commentsvc.HotScore(c.GetLikeCount(), c.GetReplyCount(), c.GetCreateTime())
			}
			if !slices.IsSortedFunc(hot, func(a, b *comment.Comment) int {
				return cmp.Or(cmp.Compare(score(b), score(a)), cmp.Compare(b.GetId(), a.GetId()))
			}) {
				t.Error("hot pages are not in HotScore order")
			}
			// The thread's 120 replies weigh more than minutes of age.
			if hot[0].GetId() != bigRoots[7] || hot[0].GetLikeCount() != 20 || hot[0].GetReplyCount() != 120 {
				t.Errorf("hottest %d with %d likes and %d replies; want %d with 20 and 120",
					hot[0].GetId(), hot[0].GetLikeCount(), hot[0].GetReplyCount(), bigRoots[7])
			}
			checkCounters(t, bulk, f.db)

			// Live writes continue where the history ends.
			if c := f.publish(t, f.id(t), vid, a2, "live reply"); c.GetFloor() != 5 || c.GetRootId() != r1 {
				t.Errorf("live reply: floor %d root %d; want 5 under %d", c.GetFloor(), c.GetRootId(), r1)
			}
			if c := f.publish(t, f.id(t), vid, 0, "live"); c.GetFloor() != 6 {
				t.Errorf("live comment: floor %d, want 6", c.GetFloor())
			}
			if _, err := f.api.Like(ctx, &comment.LikeRequest{UserId: likes[0].UserID, CommentId: r1, Like: false}); err != nil {
				t.Fatal(err)
			}
			if n := f.count(t, vid); n != 7 {
				t.Errorf("video count after live writes %d, want 7", n)
			}
			got := f.list(t, likes[1].UserID, vid, 0, "time", 0, "").GetComments()
			if r := got[len(got)-1]; r.GetId() != r1 || r.GetLikeCount() != 2 || r.GetReplyCount() != 3 || !r.GetIsLiked() {
				t.Errorf("r1 after live writes: %+v; want 2 likes (one liked by the viewer), 3 replies", r)
			}
			checkCounters(t, bulk, f.db)

			// Histories the live path cannot make fail whole.
			total := func() int64 {
				n, err := bulk.Total(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := total()
			fresh := f.newVideo(t, author)
			c := func(id, video, parent int64, state comment.CommentState, at int64) commentsvc.NewComment {
				return commentsvc.NewComment{ID: id, VideoID: video, OwnerID: author, UserID: author, ParentID: parent, State: state, CreatedAt: at, Content: "x"}
			}
			ok1, ok2, held := f.id(t), f.id(t), f.id(t)
			for name, call := range map[string]struct {
				cs    []commentsvc.NewComment
				likes []commentsvc.CommentLike
			}{
				"a video that has comments":     {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok2, vid, 0, visible, t0)}},
				"a reply to an unknown comment": {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok2, fresh, r1, visible, t0)}},
				"a reply on another video":      {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok2, big, ok1, visible, t0)}},
				"a reply to a held comment":     {cs: []commentsvc.NewComment{c(held, fresh, 0, pending, t0), c(ok2, fresh, held, visible, t0)}},
				"a reply older than its parent": {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok2, fresh, ok1, visible, t0-1)}},
				"comments out of time order":    {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok2, fresh, 0, visible, t0-1)}},
				"a comment given twice":         {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0), c(ok1, fresh, 0, visible, t0)}},
				"an invalid state":              {cs: []commentsvc.NewComment{c(ok1, fresh, 0, 0, t0)}},
				"a like of a held comment": {cs: []commentsvc.NewComment{c(held, fresh, 0, pending, t0)},
					likes: []commentsvc.CommentLike{{UserID: author, CommentID: held, CreatedAt: t0}}},
				"a like of a comment elsewhere": {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0)},
					likes: []commentsvc.CommentLike{{UserID: author, CommentID: r1, CreatedAt: t0}}},
				"a like older than its comment": {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0)},
					likes: []commentsvc.CommentLike{{UserID: author, CommentID: ok1, CreatedAt: t0 - 1}}},
				"a like given twice": {cs: []commentsvc.NewComment{c(ok1, fresh, 0, visible, t0)},
					likes: []commentsvc.CommentLike{{UserID: author, CommentID: ok1, CreatedAt: t0}, {UserID: author, CommentID: ok1, CreatedAt: t0 + 1}}},
			} {
				if err := bulk.BulkInsert(ctx, call.cs, call.likes); err == nil {
					t.Errorf("%s: accepted", name)
				}
			}
			if n := total(); n != before {
				t.Errorf("refused calls wrote %d comments", n-before)
			}
			if _, ok, err := bulk.Subject(ctx, fresh); err != nil || ok {
				t.Errorf("refused calls left a subject for video %d (%v)", fresh, err)
			}
			if empty, err := bulk.Empty(ctx); err != nil || empty {
				t.Errorf("loaded store: empty %v, %v", empty, err)
			}
		})
	}
}

// checkCounters runs every stored count of the store against its facts, as
// `mdouyin check` does.
func checkCounters(t *testing.T, s *commentsvc.SQLStore, d *db.DB) {
	t.Helper()
	for _, c := range s.Counters() {
		n, err := d.CheckCounter(context.Background(), c, false, nil, func(diff db.CounterDiff) {
			t.Errorf("%s key %d: stored %d, facts %d", diff.Counter, diff.Key, diff.Stored, diff.Actual)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: no keys checked", c.Name())
		}
	}
}
