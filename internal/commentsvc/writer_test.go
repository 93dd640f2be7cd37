package commentsvc

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// countingStore counts the store reads of the read path and can hold inserts
// back, to play a slow database.
type countingStore struct {
	Store
	pages    atomic.Int64 // Page calls of the read path
	rebuilds atomic.Int64 // Page calls of index rebuilds
	rows     atomic.Int64
	gate     chan struct{} // when not nil, Insert waits for it to close
	pageGate chan struct{} // when not nil, read-path Page waits for it to close
}

func (c *countingStore) Page(ctx context.Context, q PageQuery) ([]cache.Member, error) {
	if q.N == rebuildAhead+1 {
		c.rebuilds.Add(1)
	} else {
		c.pages.Add(1)
		if c.pageGate != nil {
			<-c.pageGate
		}
	}
	return c.Store.Page(ctx, q)
}

func (c *countingStore) Rows(ctx context.Context, ids []int64) (map[int64]Row, error) {
	c.rows.Add(1)
	return c.Store.Rows(ctx, ids)
}

func (c *countingStore) Insert(ctx context.Context, n NewComment) (Row, error) {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return Row{}, ctx.Err()
		}
	}
	return c.Store.Insert(ctx, n)
}

type internalFixture struct {
	svc    *Service
	store  *countingStore
	db     *db.DB
	bus    *mq.Bus
	videos *svctest.Videos
	ids    *idgen.Generator
	run    func() // starts the writers
	// peer builds another process's service over the same store, stream and
	// shared caches, with hot pages of its own.
	peer func(t testing.TB, o Options) *Service
}

// newInternal builds a service on SQLite and an embedded JetStream; the writers
// start when the test calls run, so a test can act before anything is applied.
func newInternal(t testing.TB, o Options, gate chan struct{}) *internalFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := svctest.Bus(t)
	d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), "comment.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := EnsureStreams(ctx, bus); err != nil {
		t.Fatal(err)
	}
	ob := svctest.Outbox(t, d, "comment", bus, log)
	sql, err := NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: sql, gate: gate}
	ids, err := idgen.New(4)
	if err != nil {
		t.Fatal(err)
	}
	videos := svctest.NewVideos()
	kv, sets := cache.NewLocal(10_000), cache.NewLocalSortedSets(100)
	svc, err := New(store, videos, ids, bus, kv, sets, log, o)
	if err != nil {
		t.Fatal(err)
	}
	peer := func(t testing.TB, o Options) *Service {
		p, err := New(store, videos, ids, bus, kv, sets, log, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	var wg sync.WaitGroup
	var once sync.Once
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		svc.Close()
	})
	return &internalFixture{svc: svc, store: store, db: d, bus: bus, videos: videos, ids: ids, peer: peer, run: func() {
		once.Do(func() {
			wg.Go(func() { _ = ob.Run(ctx) })
			wg.Go(func() { _ = svc.RunWriters(ctx) })
		})
	}}
}

func (f *internalFixture) id(t testing.TB) int64 {
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *internalFixture) newVideoOf(t *testing.T, author int64) int64 {
	id := f.id(t)
	f.videos.Add(id, author)
	return id
}

func (f *internalFixture) rowCount(t *testing.T, table string) int64 {
	var n int64
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRedeliveryIsIdempotent applies the same write several times, as JetStream
// may deliver it: one comment, one floor, one count.
func TestRedeliveryIsIdempotent(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	vid, author, user := f.id(t), f.id(t), f.id(t)
	f.videos.Add(vid, author)
	ctx := context.Background()
	rootID := f.id(t)
	for _, w := range []writeMsg{
		{Kind: "comment", ID: rootID, VideoID: vid, OwnerID: author, UserID: user, Content: "root", State: comment.CommentState_Visible, CreatedAt: 1},
		{Kind: "comment", ID: f.id(t), VideoID: vid, OwnerID: author, UserID: user, ParentID: rootID, Content: "reply", State: comment.CommentState_Visible, CreatedAt: 2},
	} {
		raw, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		for delivery := range 3 {
			if err := f.svc.handleWrite(ctx, mq.Msg{Data: raw, Delivery: uint64(delivery + 1)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := f.rowCount(t, "comment_index"); n != 2 {
		t.Fatalf("comment_index has %d rows, want 2", n)
	}
	if n := f.rowCount(t, "comment_content"); n != 2 {
		t.Fatalf("comment_content has %d rows, want 2", n)
	}
	sub, _, err := f.store.Subject(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	if sub.CommentCount != 2 || sub.TopFloor != 1 || sub.RootCount != 1 {
		t.Fatalf("subject = %+v; want 2 comments, top floor 1, 1 root", sub)
	}
	rows, err := f.store.Rows(ctx, []int64{rootID})
	if err != nil {
		t.Fatal(err)
	}
	if r := rows[rootID]; r.ReplyCount != 1 {
		t.Fatalf("root reply_count = %d, want 1", r.ReplyCount)
	}
	// Every change announced once: the root's creation, the reply's, and the
	// root's new reply count (the relay is not running here).
	if n := f.rowCount(t, "outbox_comment"); n != 3 {
		t.Fatalf("outbox has %d events, want 3", n)
	}
}

// TestColdStampede has 200 readers ask for the same cold first page at once:
// the read path reads the page from the store once, and the rebuild it queues
// reads it once more on the writer.
func TestColdStampede(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	f.run()
	vid, author := f.id(t), f.id(t)
	f.videos.Add(vid, author)
	ctx := context.Background()
	keys := []string{subjectKey(vid)}
	for i := range 40 {
		r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "comment " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rowKey(r.GetComment().GetId()))
	}
	// Make everything cold: no index set, no cached rows or subject.
	if err := f.svc.sets.Delete(ctx, setKey(vid, 0, ByTime)); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.kv.Delete(ctx, keys...); err != nil {
		t.Fatal(err)
	}
	f.store.pages.Store(0)
	f.store.rebuilds.Store(0)

	// Every reader reaches the page load before the store answers any of them:
	// a barrier at the load, and the store's page read held until all passed it.
	const readers = 200
	var arrived, entered atomic.Int64
	barrier, release := make(chan struct{}), make(chan struct{})
	f.svc.beforeLoad = func() {
		if arrived.Add(1) == readers {
			close(barrier)
		}
		<-barrier
		entered.Add(1) // the reader goes straight on into the shared load
	}
	f.store.pageGate = release
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			r, err := f.svc.List(ctx, &comment.ListRequest{VideoId: vid, Page: &base.Page{Count: 30}})
			if err != nil || len(r.GetComments()) != 30 {
				t.Errorf("list: %d comments, %v", len(r.GetComments()), err)
			}
		})
	}
	<-barrier
	for entered.Load() < readers {
		runtime.Gosched()
	}
	for range 1000 {
		runtime.Gosched() // let the last readers join the load in flight
	}
	close(release)
	wg.Wait()
	// The rebuild counts its store read before it stores the set: wait for the
	// set itself, or a read could race the rebuild's write.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok, err := f.svc.sets.Range(ctx, setKey(vid, 0, ByTime), cache.RangeQuery{Desc: true, N: 1}); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	pages, rebuilds := f.store.pages.Load(), f.store.rebuilds.Load()
	t.Logf("%d concurrent cold readers: %d page read(s) on the read path, %d by the rebuild", readers, pages, rebuilds)
	if pages != 1 || rebuilds != 1 {
		t.Fatalf("%d cold readers caused %d read-path page reads and %d rebuild reads; want 1 and 1", readers, pages, rebuilds)
	}
	// The rebuilt index now serves the page without the store.
	f.svc.beforeLoad = nil
	f.store.pageGate = nil
	if _, err := f.svc.List(ctx, &comment.ListRequest{VideoId: vid, Page: &base.Page{Count: 30}}); err != nil {
		t.Fatal(err)
	}
	if pages := f.store.pages.Load(); pages != 1 {
		t.Fatalf("a read after the rebuild went to the store (%d page reads)", pages)
	}
}

// TestPublishPastTheBound holds the writer back: Publish answers within its bound
// with floor 0, and the comment is still applied exactly once afterwards.
func TestPublishPastTheBound(t *testing.T) {
	gate := make(chan struct{})
	f := newInternal(t, Options{PublishWait: 50 * time.Millisecond}, gate)
	f.run()
	vid, author := f.id(t), f.id(t)
	f.videos.Add(vid, author)
	ctx := context.Background()
	r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "slow store"})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetComment().GetFloor() != 0 || r.GetComment().GetId() == 0 {
		t.Fatalf("answer past the bound = %+v; want an id and floor 0", r.GetComment())
	}
	close(gate)
	deadline := time.Now().Add(20 * time.Second)
	for {
		counts, err := f.store.Counts(ctx, []int64{vid})
		if err != nil {
			t.Fatal(err)
		}
		if counts[vid] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the comment was not applied after the store recovered (count %d)", counts[vid])
		}
		time.Sleep(10 * time.Millisecond)
	}
	rows, err := f.store.Rows(ctx, []int64{r.GetComment().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[r.GetComment().GetId()]; got.Floor != 1 {
		t.Fatalf("applied comment floor = %d, want 1", got.Floor)
	}
	if n := f.rowCount(t, "comment_index"); n != 1 {
		t.Fatalf("%d comments stored, want exactly 1", n)
	}
}
