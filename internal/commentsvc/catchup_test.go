package commentsvc

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// TestCachesCatchUpFromEvents plays a process killed between a commit and its
// cache updates: once every cache holds the video's lists, a delete, a reply's
// delete and a like are written to the store alone, as the dead process would
// have left them. Readers must come to see them from the changes' events, long
// before the cached entries (minutes) expire.
func TestCachesCatchUpFromEvents(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	// Without the second drop a second after each change, which would hide a
	// stale entry here by chance (the changes below follow the publishes
	// within a second).
	f.svc.redelete = 0
	f.run()
	ctx := context.Background()
	vid := f.id(t)
	f.videos.Add(vid, f.id(t))
	publish := func(parent int64, text string) int64 {
		t.Helper()
		r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, ParentId: parent, Content: text})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetComment().GetId()
	}
	gone := publish(0, "deleted behind the caches' back")
	liked := publish(0, "liked behind the caches' back")
	reply := publish(liked, "a reply deleted behind the caches' back")

	list := func(root int64, sort string) []*comment.Comment {
		t.Helper()
		l, err := f.svc.List(ctx, &comment.ListRequest{VideoId: vid, RootId: root, Sort: sort, Page: &base.Page{Count: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetComments()
	}
	count := func() int64 {
		t.Helper()
		r, err := f.svc.VideoCounts(ctx, &comment.VideoCountsRequest{VideoIds: []int64{vid}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetCounts()[vid]
	}
	readAll := func() {
		list(0, "")
		list(0, "hot")
		list(liked, "")
		count()
	}
	// Warm until the lists and the count are answered from the caches alone
	// (the index sets are rebuilt in the background after the first miss).
	deadline := time.Now().Add(20 * time.Second)
	for {
		pages, rows := f.store.pages.Load(), f.store.rows.Load()
		readAll()
		if f.store.pages.Load() == pages && f.store.rows.Load() == rows {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lists are still read from the store")
		}
		time.Sleep(10 * time.Millisecond)
	}

	always := func(comment.CommentState) bool { return true }
	for _, id := range []int64{gone, reply} {
		if _, _, err := f.store.Store.SetState(ctx, id, comment.CommentState_Deleted, always); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.store.Store.Like(ctx, f.id(t), liked, true, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}

	stale := func() string {
		for _, sort := range []string{"", "hot"} {
			top := list(0, sort)
			if got := ids(top); !slices.Equal(got, []int64{liked}) {
				return fmt.Sprintf("list (sort %q) shows %v, want [%d]", sort, got, liked)
			}
			if c := top[0]; c.GetLikeCount() != 1 || c.GetReplyCount() != 0 || len(c.GetReplies()) != 0 {
				return fmt.Sprintf("sort %q: like_count %d, reply_count %d, preview %v; want 1, 0, none",
					sort, c.GetLikeCount(), c.GetReplyCount(), ids(c.GetReplies()))
			}
		}
		if got := list(liked, ""); len(got) != 0 {
			return fmt.Sprintf("the thread still lists %v", ids(got))
		}
		if n := count(); n != 1 {
			return fmt.Sprintf("comment_count %d, want 1", n)
		}
		return ""
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		msg := stale()
		if msg == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the caches did not catch up with the stored changes: %s", msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(cs []*comment.Comment) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.GetId()
	}
	return out
}
