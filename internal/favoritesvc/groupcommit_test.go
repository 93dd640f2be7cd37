package favoritesvc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// gatedStore holds every batch at its start until release is closed, so a test
// can fill the queue behind a batch and know what the next one holds. batches
// receives the size of every Apply as it begins (the retries of single writes
// after a failed batch included).
type gatedStore struct {
	favoritesvc.BatchStore
	batches chan int
	release chan struct{}
}

func (g *gatedStore) Apply(ctx context.Context, ws []favoritesvc.Write) ([]bool, error) {
	g.batches <- len(ws)
	<-g.release
	return g.BatchStore.Apply(ctx, ws)
}

// gcFixture is a group commit over a real store on one database.
type gcFixture struct {
	*fixture
	gc   *favoritesvc.GroupCommit
	gate *gatedStore // nil: batches run at once
}

func newGCFixture(t *testing.T, d *db.DB, gated bool, o favoritesvc.GroupCommitOptions) *gcFixture {
	t.Helper()
	store, err := favoritesvc.NewSQLStore(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	f := &gcFixture{fixture: &fixture{db: d}}
	var under favoritesvc.BatchStore = store
	if gated {
		f.gate = &gatedStore{BatchStore: store, batches: make(chan int, 1000), release: make(chan struct{})}
		under = f.gate
		t.Cleanup(f.open) // never leave a committer blocked
	}
	f.gc = favoritesvc.NewGroupCommit(under, o)
	return f
}

// open lets every batch through from now on.
func (f *gcFixture) open() {
	select {
	case <-f.gate.release:
	default:
		close(f.gate.release)
	}
}

// nextBatch returns the size of the next batch to begin.
func (f *gcFixture) nextBatch(t *testing.T) int {
	t.Helper()
	select {
	case n := <-f.gate.batches:
		return n
	case <-time.After(30 * time.Second):
		t.Fatal("no batch began")
		return 0
	}
}

// waitQueued polls until n writes wait in the queue.
func (f *gcFixture) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.gc.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", f.gc.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// result is the answer to one write.
type result struct {
	changed bool
	err     error
}

// start sends w from a goroutine of its own; its answer arrives on the channel.
func (f *gcFixture) start(ctx context.Context, w favoritesvc.Write) <-chan result {
	c := make(chan result, 1)
	go func() {
		var r result
		if w.Unlike {
			r.changed, r.err = f.gc.Unlike(ctx, w.Like.UserID, w.Like.VideoID)
		} else {
			r.changed, r.err = f.gc.Like(ctx, w.Like)
		}
		c <- r
	}()
	return c
}

func wait(t *testing.T, c <-chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
		return result{}
	}
}

func like(user, video, author int64) favoritesvc.Write {
	return favoritesvc.Write{Like: favoritesvc.Like{UserID: user, VideoID: video, AuthorID: author, CreatedAt: user}}
}

func unlike(user, video int64) favoritesvc.Write {
	return favoritesvc.Write{Like: favoritesvc.Like{UserID: user, VideoID: video}, Unlike: true}
}

func (f *gcFixture) videoCount(t *testing.T, video int64) int64 {
	t.Helper()
	st, err := f.gc.VideoStats(context.Background(), 0, []int64{video})
	if err != nil {
		t.Fatal(err)
	}
	return st[video].Count
}

// TestGroupCommitHotVideo has many writers like and unlike one video (and now and
// then another, in the other lane: two batches at once sharing the users' count
// rows) at once: the count must equal the facts, and the answers must add up to
// it, each like answered "changed" adding one and each unlike taking one.
func TestGroupCommitHotVideo(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			f := newGCFixture(t, open(t), false, favoritesvc.GroupCommitOptions{MaxBatch: 32, Lanes: 2})
			ctx := context.Background()
			const (
				hot, other, author = 1000, 1001, 7
				users              = 300
				writers            = 64
				ops                = 40
			)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				net  = map[int64]int64{}
				errc = make(chan error, writers)
			)
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 3))
					for range ops {
						user, video := int64(1+rng.IntN(users)), int64(hot)
						if rng.IntN(8) == 0 {
							video = other
						}
						var (
							changed bool
							err     error
							delta   int64 = 1
						)
						if rng.IntN(3) == 0 {
							changed, err = f.gc.Unlike(ctx, user, video)
							delta = -1
						} else {
							changed, err = f.gc.Like(ctx, favoritesvc.Like{UserID: user, VideoID: video, AuthorID: author, CreatedAt: 1})
						}
						if err != nil {
							errc <- err
							return
						}
						if changed {
							mu.Lock()
							net[video] += delta
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			f.audit(t)
			for _, v := range []int64{hot, other} {
				if got := f.videoCount(t, v); got != net[v] {
					t.Errorf("video %d: count %d, the answers add up to %d", v, got, net[v])
				}
			}
			if net[hot] == 0 {
				t.Error("no like of the hot video stayed; the test proves little")
			}
			t.Logf("%d writes in %d batches", writers*ops, f.gc.Batches())
		})
	}
}

// refuseVideo makes the database refuse any like of video, as a write failing in
// the middle of a batch.
func refuseVideo(t *testing.T, d *db.DB, video int64) {
	t.Helper()
	q := fmt.Sprintf(`CREATE TRIGGER refuse_video BEFORE INSERT ON favorite_likes
		WHEN NEW.video_id = %d BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`, video)
	if d.Dialect == db.MySQL {
		q = fmt.Sprintf(`CREATE TRIGGER refuse_video BEFORE INSERT ON favorite_likes FOR EACH ROW
			IF NEW.video_id = %d THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF`, video)
	}
	if _, err := d.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitBadWriteInBatch puts a write the database refuses into a batch
// with good ones: only it fails, and the others are made and answered as alone.
func TestGroupCommitBadWriteInBatch(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			f := newGCFixture(t, d, true, favoritesvc.GroupCommitOptions{})
			const good, bad, author = 500, 666, 9
			refuseVideo(t, d, bad)
			ctx := context.Background()

			first := f.start(ctx, like(1, good, author))
			if n := f.nextBatch(t); n != 1 {
				t.Fatalf("first batch of %d", n)
			}
			// Behind the held batch: new likes, a repeat of the first, an
			// unlike of nothing, and the bad like.
			type want struct {
				w       favoritesvc.Write
				changed bool
				fails   bool
			}
			wants := []want{{like(1, good, author), false, false}, {unlike(20, good), false, false}, {like(2, bad, author), false, true}}
			for u := int64(2); u <= 9; u++ {
				wants = append(wants, want{like(u, good, author), true, false})
			}
			answers := make([]<-chan result, len(wants))
			for i, w := range wants {
				answers[i] = f.start(ctx, w.w)
			}
			f.waitQueued(t, len(wants))
			f.open()
			if r := wait(t, first); r.err != nil || !r.changed {
				t.Fatalf("first like: %+v", r)
			}
			if n := f.nextBatch(t); n != len(wants) {
				t.Fatalf("second batch of %d writes, want %d", n, len(wants))
			}
			for i, w := range wants {
				r := wait(t, answers[i])
				if (r.err != nil) != w.fails || (r.err == nil && r.changed != w.changed) {
					t.Errorf("write %+v: changed %v err %v; want changed %v, fails %v", w.w, r.changed, r.err, w.changed, w.fails)
				}
			}
			if got := f.videoCount(t, good); got != 9 {
				t.Errorf("good video: %d likes, want 9", got)
			}
			if got := f.videoCount(t, bad); got != 0 {
				t.Errorf("refused video: %d likes, want 0", got)
			}
			f.audit(t)
		})
	}
}

// TestGroupCommitOrderInBatch queues writes of the same facts in a known order
// into one batch: each is answered as if made alone in that order, and repeats
// change nothing.
func TestGroupCommitOrderInBatch(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			f := newGCFixture(t, open(t), true, favoritesvc.GroupCommitOptions{})
			const video, author = 700, 3
			ctx := context.Background()
			first := f.start(ctx, like(1, video+1, author))
			f.nextBatch(t)
			steps := []struct {
				w       favoritesvc.Write
				changed bool
			}{
				{like(1, video, author), true},
				{like(1, video, author), false},
				{like(1, video, author), false},
				{unlike(2, video), false}, // never liked
				{like(2, video, author), true},
				{unlike(2, video), true},
				{unlike(2, video), false},
				{like(2, video, author), true},
				{like(author, video, author), true}, // self-like
				{unlike(author, video), true},
			}
			answers := make([]<-chan result, len(steps))
			for i, s := range steps {
				answers[i] = f.start(ctx, s.w)
				f.waitQueued(t, i+1) // queued in this order
			}
			f.open()
			wait(t, first)
			if n := f.nextBatch(t); n != len(steps) {
				t.Fatalf("batch of %d writes, want %d", n, len(steps))
			}
			for i, s := range steps {
				if r := wait(t, answers[i]); r.err != nil || r.changed != s.changed {
					t.Errorf("step %d %+v: changed %v err %v, want changed %v", i, s.w, r.changed, r.err, s.changed)
				}
			}
			if got := f.videoCount(t, video); got != 2 {
				t.Errorf("count %d, want 2", got)
			}
			f.audit(t)
		})
	}
}

// TestGroupCommitQueueFull fills the queue behind a held batch: the next write is
// refused at once as busy, and the queued ones are all made once the batch ends.
func TestGroupCommitQueueFull(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			const limit, video, author = 4, 800, 5
			f := newGCFixture(t, open(t), true, favoritesvc.GroupCommitOptions{MaxQueue: limit})
			ctx := context.Background()
			answers := []<-chan result{f.start(ctx, like(1, video, author))}
			f.nextBatch(t)
			for u := int64(2); u < 2+limit; u++ {
				answers = append(answers, f.start(ctx, like(u, video, author)))
			}
			f.waitQueued(t, limit)
			// Answered while the batch ahead is still held: at once.
			r := wait(t, f.start(ctx, like(99, video, author)))
			svctest.WantCode(t, r.err, base.ErrCode_Unavailable)
			f.open()
			for i, c := range answers {
				if r := wait(t, c); r.err != nil || !r.changed {
					t.Errorf("write %d: %+v", i, r)
				}
			}
			if got := f.videoCount(t, video); got != 1+limit {
				t.Errorf("count %d, want %d", got, 1+limit)
			}
			f.audit(t)
		})
	}
}

// TestGroupCommitCancel ends writers' contexts at both stages: one whose write is
// in a batch already still gets the batch's outcome, and the write is made; one
// still queued is told busy at once, and its write is never made.
func TestGroupCommitCancel(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			const video, author = 900, 4
			f := newGCFixture(t, open(t), true, favoritesvc.GroupCommitOptions{})
			inBatch, cancelInBatch := context.WithCancel(context.Background())
			defer cancelInBatch()
			a := f.start(inBatch, like(1, video, author))
			f.nextBatch(t)
			queued, cancelQueued := context.WithCancel(context.Background())
			b := f.start(queued, like(2, video, author))
			f.waitQueued(t, 1)

			cancelQueued()
			r := wait(t, b) // answered while the batch ahead is still held
			if errs.CodeOf(r.err) != base.ErrCode_Unavailable {
				t.Fatalf("queued writer after its context ended: %+v, want Unavailable", r)
			}
			cancelInBatch()
			f.open()
			if r := wait(t, a); r.err != nil || !r.changed {
				t.Fatalf("writer in a batch after its context ended: %+v, want its write made", r)
			}
			// The abandoned write never runs: the queue empties with no batch
			// holding it.
			f.waitQueued(t, 0)
			select {
			case n := <-f.gate.batches:
				t.Fatalf("a batch of %d began after the abandoned write", n)
			default:
			}
			st, err := f.gc.VideoStats(context.Background(), 2, []int64{video})
			if err != nil {
				t.Fatal(err)
			}
			if st[video].Count != 1 || st[video].Liked {
				t.Fatalf("video: %+v, want only the first like", st[video])
			}
			f.audit(t)
		})
	}
}
