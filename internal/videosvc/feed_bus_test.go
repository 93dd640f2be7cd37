package videosvc_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// TestConsumersThroughTheBus runs the feed's consumers on an embedded JetStream
// server: a committed video reaches all of its author's 10,000 followers through
// the outbox relay and the fan-out consumer, and relation events backfill and
// clear an inbox. It logs the publish-to-inbox latency.
func TestConsumersThroughTheBus(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			bus := svctest.Bus(t)
			d := open(t)
			if err := videosvc.EnsureStream(ctx, bus); err != nil {
				t.Fatal(err)
			}
			ob := svctest.Outbox(t, d, "video", bus, log)
			store, err := videosvc.NewSQLStore(ctx, d, ob)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := idgen.New(3)
			if err != nil {
				t.Fatal(err)
			}
			rel := newFakeRelation()
			svc := videosvc.New(store, nil, nil, ids, log, videosvc.Options{
				Relation: rel, Inbox: store,
				Feed: videosvc.FeedOptions{PullThreshold: 20_000, InboxSize: testInboxSize, BackfillCount: testBackfill},
			})
			done := make(chan error, 2)
			go func() { done <- ob.Run(ctx) }()
			go func() { done <- svc.RunConsumers(ctx, bus) }()
			t.Cleanup(func() {
				cancel()
				for range 2 {
					if err := <-done; err != nil && ctx.Err() == nil {
						t.Errorf("worker: %v", err)
					}
				}
			})
			f := &feedFixture{svc: svc, api: svc, store: store, db: d, rel: rel, ids: ids}

			const n = 10_000
			author := f.newID(t)
			for range n {
				rel.set(f.newID(t), author, true)
			}
			start := time.Now()
			v := f.insert(t, author, start.UnixMilli())
			poll(t, func() bool { return f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE video_id = ?`, v.ID) == n })
			t.Logf("%s: publish-to-inbox latency for %d followers: %v", dbName, n, time.Since(start))

			// Relation events: follow backfills, unfollow clears.
			viewer, other := f.newID(t), f.newID(t)
			old := f.insert(t, other, start.UnixMilli()-1000)
			emit := func(subject string, seq int) {
				payload, _ := json.Marshal(relationsvc.FollowEvent{FollowerID: viewer, FolloweeID: other, TimeMs: time.Now().UnixMilli()})
				if err := bus.Publish(ctx, subject, "test:"+strconv.Itoa(seq)+":"+strconv.FormatInt(viewer, 10), payload); err != nil {
					t.Fatal(err)
				}
			}
			inbox := func() int {
				n, err := store.InboxSize(ctx, viewer)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			rel.set(viewer, other, true)
			emit(relationsvc.SubjectFollow, 1)
			poll(t, func() bool { return inbox() == 1 })
			if got := f.count(t, `SELECT COUNT(*) FROM video_inbox WHERE user_id = ? AND video_id = ?`, viewer, old.ID); got != 1 {
				t.Fatalf("backfill missed the followee's video")
			}
			rel.set(viewer, other, false)
			emit(relationsvc.SubjectUnfollow, 2)
			poll(t, func() bool { return inbox() == 0 })
		})
	}
}

// poll waits for cond with a generous deadline.
func poll(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 60s")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}
