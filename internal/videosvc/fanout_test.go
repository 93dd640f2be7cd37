package videosvc_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// recordingInbox is the SQL inbox store, recording each AddToInboxes call: how
// many entries it was given and how many it inserted.
type recordingInbox struct {
	videosvc.InboxStore
	mu    sync.Mutex
	given []int
	added []int
}

func (r *recordingInbox) AddToInboxes(ctx context.Context, entries []videosvc.InboxEntry, keep int) (int, error) {
	n, err := r.InboxStore.AddToInboxes(ctx, entries, keep)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.given = append(r.given, len(entries))
	r.added = append(r.added, n)
	return n, err
}

// calls returns the recorded calls and forgets them.
func (r *recordingInbox) calls() (given, added []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	given, added = r.given, r.added
	r.given, r.added = nil, nil
	return given, added
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// fanOutKeep is the inbox size of the fan-out tests: small, so that a
// pre-filled inbox is trimmed by the fan-out itself (its slack is 1).
const fanOutKeep = 8

// newFanOutFixture is a feed fixture whose pull threshold keeps an author with
// more than a fan-out batch of followers in push mode, and whose inbox writes
// are recorded.
func newFanOutFixture(t *testing.T, d *db.DB) (*feedFixture, *recordingInbox) {
	t.Helper()
	ctx := context.Background()
	store, err := videosvc.NewSQLStore(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(4)
	if err != nil {
		t.Fatal(err)
	}
	rel := newFakeRelation()
	rec := &recordingInbox{InboxStore: store}
	svc := videosvc.New(store, nil, nil, ids, slog.New(slog.NewTextHandler(io.Discard, nil)), videosvc.Options{
		Relation: rel,
		Inbox:    rec,
		Feed:     videosvc.FeedOptions{PullThreshold: 3 * videosvc.FanoutBatch, InboxSize: fanOutKeep, BackfillCount: testBackfill},
	})
	return &feedFixture{svc: svc, store: store, db: d, rel: rel, ids: ids}, rec
}

// TestFanOutBatches fans a video out to more followers than one batch holds,
// with the last follower page holding a single follower: every follower gets
// it once, in transactions of at most a batch (a page-at-a-time fan-out would
// be one per page), a redelivery restores exactly what went missing on both
// sides of the batch boundary, and the inbox sizes stay exact through the trim
// of inboxes the fan-out overfills.
func TestFanOutBatches(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx := context.Background()
			f, rec := newFanOutFixture(t, open(t))
			author, other := f.newID(t), f.newID(t)
			n := videosvc.FanoutBatch + 1000 + 1
			followers := make([]int64, n)
			for i := range followers {
				followers[i] = f.newID(t)
				f.rel.set(followers[i], author, true)
			}
			// The fake lists followers by id, so these are the first and last of
			// each batch: their inboxes are full to the trim's threshold with
			// older videos of another author.
			full := []int64{followers[0], followers[videosvc.FanoutBatch-1], followers[videosvc.FanoutBatch], followers[n-1]}
			old := time.Now().Add(-time.Hour).UnixMilli()
			var older []videosvc.InboxEntry
			for i := range fanOutKeep + 1 {
				v := f.insert(t, other, old+int64(i))
				for _, u := range full {
					older = append(older, videosvc.InboxEntry{UserID: u, VideoID: v.ID, CreateTime: v.CreateTime})
				}
			}
			if _, err := f.store.AddToInboxes(ctx, older, fanOutKeep); err != nil {
				t.Fatal(err)
			}
			f.checkSizes(t)

			v := f.insert(t, author, time.Now().UnixMilli())
			if err := f.svc.FanOut(ctx, published(v)); err != nil {
				t.Fatal(err)
			}
			given, added := rec.calls()
			if want := []int{videosvc.FanoutBatch, n - videosvc.FanoutBatch}; !slices.Equal(given, want) {
				t.Fatalf("fan-out wrote batches of %v entries, want %v", given, want)
			}
			if sum(added) != n {
				t.Fatalf("fan-out inserted %d entries, want %d", sum(added), n)
			}
			if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, v.ID); got != n {
				t.Fatalf("video in %d inboxes, want %d", got, n)
			}
			f.checkSizes(t)
			for _, u := range full {
				// Trimmed back to the newest fanOutKeep: the new video and the
				// newest fanOutKeep-1 older ones.
				if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE user_id = ?`, u); got != fanOutKeep {
					t.Fatalf("full inbox of %d holds %d entries after the fan-out, want %d", u, got, fanOutKeep)
				}
				if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE user_id = ? AND video_id = ?`, u, v.ID); got != 1 {
					t.Fatalf("full inbox of %d lost the new video to its trim", u)
				}
			}

			// A redelivery after some entries went missing on both sides of the
			// boundary puts back exactly those; a second one adds nothing.
			lost := []int64{followers[1], followers[videosvc.FanoutBatch-2], followers[videosvc.FanoutBatch+1], followers[n-1]}
			for _, u := range lost {
				if _, err := f.store.RemoveAuthorFromInbox(ctx, u, author); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range []int{len(lost), 0} {
				if err := f.svc.FanOut(ctx, published(v)); err != nil {
					t.Fatal(err)
				}
				if _, added := rec.calls(); sum(added) != want {
					t.Fatalf("redelivery inserted %d entries, want %d", sum(added), want)
				}
				if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, v.ID); got != n {
					t.Fatalf("after redelivery video in %d inboxes, want %d", got, n)
				}
				f.checkSizes(t)
			}
		})
	}
}

// TestAddToInboxesExact adds batches that repeat an entry, mix present and
// missing entries and span several statements: the count reported, the rows
// and the size rows all count each entry once.
func TestAddToInboxesExact(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx := context.Background()
			f, _ := newFanOutFixture(t, open(t))
			author := f.newID(t)
			v1, v2 := f.insert(t, author, 1000), f.insert(t, author, 2000)
			u1, u2, u3 := f.newID(t), f.newID(t), f.newID(t)
			e := func(u int64, v *videosvc.Video) videosvc.InboxEntry {
				return videosvc.InboxEntry{UserID: u, VideoID: v.ID, CreateTime: v.CreateTime}
			}
			size := func(u int64) int {
				return f.count(t, `SELECT COALESCE(SUM(size), 0) FROM video_inbox_sizes WHERE user_id = ?`, u)
			}
			steps := []struct {
				entries []videosvc.InboxEntry
				added   int
			}{
				{[]videosvc.InboxEntry{e(u2, v1), e(u1, v1), e(u2, v1)}, 2}, // a repeated entry counts once
				{[]videosvc.InboxEntry{e(u1, v1), e(u2, v1)}, 0},            // all present
				{[]videosvc.InboxEntry{e(u3, v1), e(u1, v1), e(u1, v2)}, 2}, // present and missing mixed
			}
			for i, s := range steps {
				added, err := f.store.AddToInboxes(ctx, s.entries, fanOutKeep)
				if err != nil {
					t.Fatal(err)
				}
				if added != s.added {
					t.Fatalf("step %d inserted %d entries, want %d", i, added, s.added)
				}
			}
			for u, want := range map[int64]int{u1: 2, u2: 1, u3: 1} {
				if got := size(u); got != want {
					t.Fatalf("size of %d is %d, want %d", u, got, want)
				}
			}
			f.checkSizes(t)

			// More entries than one statement takes, half of them present.
			var many []videosvc.InboxEntry
			users := make([]int64, 1200)
			for i := range users {
				users[i] = f.newID(t)
				many = append(many, e(users[i], v1))
			}
			if _, err := f.store.AddToInboxes(ctx, many[:600], fanOutKeep); err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				many = append(many, e(u, v2))
			}
			added, err := f.store.AddToInboxes(ctx, many, fanOutKeep)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(many) - 600; added != want {
				t.Fatalf("inserted %d entries, want %d", added, want)
			}
			for _, u := range []int64{users[0], users[599], users[600], users[1199]} {
				if got := size(u); got != 2 {
					t.Fatalf("size of %d is %d, want 2", u, got)
				}
			}
			f.checkSizes(t)
		})
	}
}

// TestConcurrentFanOuts fans out several videos to the same followers at once,
// as the consumer does: each fan-out succeeds (on MySQL a deadlock victim is
// run again, not failed), every inbox holds every video once or lost the
// oldest to its trim, and the size rows stay exact.
func TestConcurrentFanOuts(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx := context.Background()
			f, _ := newFanOutFixture(t, open(t))
			const n, videos = 600, 2 * fanOutKeep
			followers := make([]int64, n)
			var authors []int64
			for range videos {
				authors = append(authors, f.newID(t))
			}
			for i := range followers {
				followers[i] = f.newID(t)
				for _, a := range authors {
					f.rel.set(followers[i], a, true)
				}
			}
			start := time.Now().Add(-time.Minute).UnixMilli()
			vs := make([]*videosvc.Video, videos)
			for i, a := range authors {
				vs[i] = f.insert(t, a, start+int64(i))
			}
			// As many at once as the consumer runs (fanoutConcurrency).
			const workers = 4
			next := make(chan *videosvc.Video, videos)
			for _, v := range vs {
				next <- v
			}
			close(next)
			errs := make(chan error, videos)
			for range workers {
				go func() {
					for v := range next {
						errs <- f.svc.FanOut(ctx, published(v))
					}
				}()
			}
			for range videos {
				if err := <-errs; err != nil {
					t.Fatalf("concurrent fan-out: %v", err)
				}
			}
			f.checkSizes(t)
			// Every inbox got all videos and was trimmed to at most keep plus
			// its slack, keeping the newest.
			if lo, hi := f.count(t, `SELECT MIN(size) FROM video_inbox_sizes`), f.count(t, `SELECT MAX(size) FROM video_inbox_sizes`); lo < fanOutKeep || hi > fanOutKeep+1 {
				t.Fatalf("inboxes hold %d to %d entries, want %d to %d", lo, hi, fanOutKeep, fanOutKeep+1)
			}
			newest := vs[len(vs)-1]
			if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, newest.ID); got != n {
				t.Fatalf("newest video in %d inboxes, want %d", got, n)
			}
			if got := f.count(t, `SELECT COUNT(*) FROM video_inbox_sizes`); got != n {
				t.Fatalf("%d size rows, want %d", got, n)
			}
		})
	}
}
