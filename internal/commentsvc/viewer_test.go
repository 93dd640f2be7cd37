package commentsvc

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// heldLikes is a store whose Liked reads, once armed, answer only after the test
// lets them: a reader that read before a write and fills the cache after it.
type heldLikes struct {
	*readCounter
	armed   atomic.Bool
	reading chan struct{} // a held read has its answer
	release chan struct{}
}

func (h *heldLikes) Liked(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	out, err := h.readCounter.Liked(ctx, userID, ids)
	if h.armed.CompareAndSwap(true, false) {
		h.reading <- struct{}{}
		<-h.release
	}
	return out, err
}

// TestViewerPartKeptUntilTheirWrite: a reader's own part of a page (what they
// like, their own held or new comments) is read from the store once and then
// kept, and each of their writes shows on their next read at once, on another
// replica of the role than the one that took the write.
func TestViewerPartKeptUntilTheirWrite(t *testing.T) {
	f := newInternal(t, Options{SensitiveWords: []string{"forbidden"}}, nil)
	f.run()
	ctx := context.Background()
	vid := f.newVideoOf(t, f.id(t))
	var ids []int64
	for range 3 {
		r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "someone's"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetComment().GetId())
	}
	open := make(chan struct{})
	close(open)
	counted := &heldLikes{readCounter: &readCounter{Store: f.store, subjectGate: open, pageGate: open},
		reading: make(chan struct{}), release: make(chan struct{})}
	// The reading replica: the same store and shared caches, its reads counted;
	// every write goes through f.svc.
	replica, err := New(counted, f.videos, f.ids, f.bus, f.svc.kv, f.svc.sets, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Close)
	reader := f.id(t)
	list := func() []*comment.Comment {
		t.Helper()
		r, err := replica.List(ctx, &comment.ListRequest{ViewerId: reader, VideoId: vid, Page: &base.Page{Count: 30}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetComments()
	}
	liked := func(cs []*comment.Comment) []int64 {
		var out []int64
		for _, c := range cs {
			if c.GetIsLiked() {
				out = append(out, c.GetId())
			}
		}
		slices.Sort(out)
		return out
	}
	reads := func() [2]int64 { return [2]int64{counted.own.Load(), counted.liked.Load()} }

	list()
	before := reads()
	for range 3 {
		if got := liked(list()); len(got) != 0 {
			t.Fatalf("liked %v before any like", got)
		}
	}
	if got := reads(); got != before {
		t.Fatalf("own and liked store reads went from %v to %v: the reader's part was not kept", before, got)
	}

	like := func(id int64, yes bool) {
		t.Helper()
		if _, err := f.svc.Like(ctx, &comment.LikeRequest{UserId: reader, CommentId: id, Like: yes}); err != nil {
			t.Fatal(err)
		}
	}
	like(ids[1], true)
	if got := liked(list()); !slices.Equal(got, []int64{ids[1]}) {
		t.Fatalf("liked %v right after liking %d", got, ids[1])
	}
	like(ids[1], false)
	like(ids[2], true)
	if got := liked(list()); !slices.Equal(got, []int64{ids[2]}) {
		t.Fatalf("liked %v right after taking back %d and liking %d", got, ids[1], ids[2])
	}
	// Someone else's like changes nothing of the reader's.
	if _, err := f.svc.Like(ctx, &comment.LikeRequest{UserId: f.id(t), CommentId: ids[0], Like: true}); err != nil {
		t.Fatal(err)
	}
	if got := liked(list()); !slices.Equal(got, []int64{ids[2]}) {
		t.Fatalf("liked %v after another user's like", got)
	}

	// A held comment of the reader's own shows to them at once, though their
	// page was known to hold none of theirs.
	held, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: reader, VideoId: vid, Content: "forbidden words"})
	if err != nil {
		t.Fatal(err)
	}
	if held.GetComment().GetState() != comment.CommentState_Pending {
		t.Fatalf("comment state %v, want held", held.GetComment().GetState())
	}
	if cs := list(); len(cs) == 0 || cs[0].GetId() != held.GetComment().GetId() {
		t.Fatalf("the reader's held comment %d is not first on their page: %v", held.GetComment().GetId(), cs)
	}
	// Deleting it shows at once too.
	if _, err := f.svc.Delete(ctx, &comment.DeleteRequest{UserId: reader, CommentId: held.GetComment().GetId()}); err != nil {
		t.Fatal(err)
	}
	if cs := list(); len(cs) != 3 || slices.ContainsFunc(cs, func(c *comment.Comment) bool { return c.GetUserId() == reader }) {
		t.Fatalf("the deleted comment is still on the reader's page: %v", cs)
	}

	// A read that had the store's answer before the reader's like and keeps it
	// after: the next read does not find that answer.
	like(ids[2], false)
	list() // kept: nothing liked
	counted.armed.Store(true)
	like(ids[0], true) // a new generation: the next read asks the store, and is held
	done := make(chan []int64)
	go func() {
		r, err := replica.List(ctx, &comment.ListRequest{ViewerId: reader, VideoId: vid, Page: &base.Page{Count: 30}})
		if err != nil {
			t.Error(err)
		}
		done <- liked(r.GetComments())
	}()
	<-counted.reading // it has read: ids[0] liked
	like(ids[0], false)
	close(counted.release) // it keeps "ids[0] liked" after the unlike
	if got := <-done; !slices.Equal(got, []int64{ids[0]}) {
		t.Fatalf("the held read saw %v, want its own moment's %v", got, []int64{ids[0]})
	}
	if got := liked(list()); len(got) != 0 {
		t.Fatalf("liked %v after taking every like back: a read from before the unlike was kept", got)
	}
}

func TestLikedSet(t *testing.T) {
	in := map[int64]bool{1: true, 1<<53 - 1: false, 300: true, 299: false, 1 << 40: true}
	set := readLiked(encodeLiked(in))
	if set.len() != len(in) {
		t.Fatalf("the set holds %d answers, want %d", set.len(), len(in))
	}
	for _, id := range []int64{0, 1, 2, 299, 300, 301, 1 << 40, 1<<53 - 1, 1 << 53} {
		want, wantKnown := in[id]
		if liked, known := set.lookup(id); liked != want || known != wantKnown {
			t.Errorf("lookup(%d) = %v, %v; want %v, %v", id, liked, known, want, wantKnown)
		}
		if set.has(id) != want {
			t.Errorf("has(%d) = %v, want %v", id, set.has(id), want)
		}
	}
	// New answers join the old ones, and replace an old answer for their id.
	more := set.with([]int64{300, 7, 5000}, map[int64]bool{7: true})
	for id, want := range map[int64]bool{1: true, 7: true, 299: false, 300: false, 5000: false, 1 << 40: true} {
		if liked, known := more.lookup(id); !known || liked != want {
			t.Errorf("after with: lookup(%d) = %v, %v; want %v, true", id, liked, known, want)
		}
	}
	if more.len() != 7 {
		t.Errorf("after with: %d answers, want 7", more.len())
	}
	if _, known := set.lookup(7); known {
		t.Error("with changed the set it was called on")
	}
	// Damaged values know nothing: cut short, or out of order.
	good := encodeLiked(in)
	swapped := append(append(likedSet{}, good[likedRecord:2*likedRecord]...), good[:likedRecord]...)
	for name, v := range map[string][]byte{"cut": good[:len(good)-1], "swapped": swapped, "one byte": {0x80}} {
		if l := readLiked(v); l.len() != 0 {
			t.Errorf("%s: a damaged value reads as %d answers", name, l.len())
		}
	}
	var none likedSet
	if _, known := none.lookup(1); known || none.has(1) {
		t.Error("the empty set knows an answer")
	}
}
