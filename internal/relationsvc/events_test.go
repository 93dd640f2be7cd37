package relationsvc_test

import (
	"context"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// TestEventsReachTheStream runs the outbox relay into an embedded NATS server and
// checks, as a consumer of the relation stream sees it, that each state change is
// announced exactly once, in order, and repeats are not announced at all.
func TestEventsReachTheStream(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			nats, err := mq.StartEmbedded(ctx, mq.EmbeddedOptions{StoreDir: t.TempDir(), Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer nats.Shutdown()
			bus, err := nats.Connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			// Twice: every role that publishes or consumes ensures the stream.
			for range 2 {
				if err := relationsvc.EnsureStream(ctx, bus); err != nil {
					t.Fatal(err)
				}
			}

			d := open(t)
			ob := svctest.Outbox(t, d, relationsvc.OutboxService, bus, quiet)
			relayed := make(chan error, 1)
			go func() { relayed <- ob.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-relayed; err != nil {
					t.Errorf("relay: %v", err)
				}
			}()

			f := newFixture(t, d, placements["direct"], false)
			// The fixture's own outbox has no bus; use one that relays.
			store, err := relationsvc.NewSQLStore(ctx, d, ob)
			if err != nil {
				t.Fatal(err)
			}
			svc := relationsvc.New(store, f.users, f.ids)

			got := make(chan mq.Msg, 100)
			sub, err := bus.Consume(ctx, mq.ConsumerSpec{Stream: relationsvc.Stream, Durable: "relation-test", MaxAckPending: 1},
				func(ctx context.Context, m mq.Msg) error { got <- m; return nil })
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Stop()

			a, b, c := f.newUser(t), f.newUser(t), f.newUser(t)
			start := time.Now().UnixMilli()
			steps := []struct {
				from, to int64
				follow   bool
			}{
				{a, b, true}, {a, b, true}, // the repeat is silent
				{a, b, false}, {a, b, false}, {b, a, false}, // so are these
				{a, b, true},
				{c, b, true}, // the last event: once it arrives, everything before it has
			}
			for _, s := range steps {
				if _, err := svc.Follow(ctx, &relation.FollowRequest{UserId: s.from, ToUserId: s.to, Follow: s.follow}); err != nil {
					t.Fatal(err)
				}
			}
			want := []struct {
				follow   bool
				from, to int64
			}{{true, a, b}, {false, a, b}, {true, a, b}, {true, c, b}}
			seen := map[string]bool{}
			for i, w := range want {
				var m mq.Msg
				select {
				case m = <-got:
				case <-time.After(20 * time.Second):
					t.Fatalf("event %d never arrived", i)
				}
				ev, follow, err := relationsvc.DecodeEvent(m.Subject, m.Data)
				if err != nil {
					t.Fatal(err)
				}
				if follow != w.follow || ev.FollowerID != w.from || ev.FolloweeID != w.to {
					t.Fatalf("event %d: %s %+v, want follow=%v %d → %d", i, m.Subject, ev, w.follow, w.from, w.to)
				}
				if ev.TimeMs < start || ev.TimeMs > time.Now().UnixMilli() {
					t.Fatalf("event %d at %d, outside the test's run from %d", i, ev.TimeMs, start)
				}
				if m.ID == "" || seen[m.ID] {
					t.Fatalf("event %d has message id %q, empty or repeated", i, m.ID)
				}
				seen[m.ID] = true
			}
			select {
			case m := <-got:
				t.Fatalf("an extra event: %s %s", m.Subject, m.Data)
			default:
			}
			// The relay deletes a row after the stream acknowledged it, which can be
			// just after the consumer saw it.
			for deadline := time.Now().Add(20 * time.Second); ; {
				n, err := ob.Pending(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d events still wait in the outbox", n)
				}
				time.Sleep(10 * time.Millisecond) // polling with a deadline
			}
		})
	}
}

func TestDecodeEventRefusesOtherSubjects(t *testing.T) {
	if _, _, err := relationsvc.DecodeEvent("video.published", []byte(`{}`)); err == nil {
		t.Fatal("a video event decoded as a relation event")
	}
	if _, _, err := relationsvc.DecodeEvent(relationsvc.SubjectFollow, []byte(`not json`)); err == nil {
		t.Fatal("a malformed payload decoded")
	}
	ev, follow, err := relationsvc.DecodeEvent(relationsvc.SubjectUnfollow, []byte(`{"follower_id":1,"followee_id":2,"time_ms":3}`))
	if err != nil || follow || ev != (relationsvc.FollowEvent{FollowerID: 1, FolloweeID: 2, TimeMs: 3}) {
		t.Fatalf("DecodeEvent = %+v, %v, %v", ev, follow, err)
	}
}
