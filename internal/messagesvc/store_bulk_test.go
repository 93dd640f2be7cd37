package messagesvc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/svctest"

	"github.com/mdouyin/mdouyin/internal/messagesvc"
)

// bulkTestDBs opens an empty database on each engine under test; MySQL is opened
// inside the subtest, so SQLite runs without it.
var bulkTestDBs = svctest.Databases("messagesvc_bulk")

func TestBulkInsert(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := messagesvc.NewSQLStore(ctx, open(t))
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := s.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			// A live message between 1 and 2 at 5,000 ms.
			if err := s.Insert(ctx, &messagesvc.Message{ID: 1, FromUserID: 1, ToUserID: 2, Content: "live", CreateTime: 5000}); err != nil {
				t.Fatal(err)
			}
			// 1,200 messages: 1<->2 at 1,000..1,599 ms (older than the live one) and
			// 1<->3 at 10,000..10,599 ms (u + u/2 maps 2 to 3), alternating directions.
			var batch []*messagesvc.Message
			for k := int64(0); k < 600; k++ {
				from, to := int64(1), int64(2)
				if k%2 == 1 {
					from, to = to, from
				}
				batch = append(batch, &messagesvc.Message{ID: 100 + k, FromUserID: from, ToUserID: to, Content: fmt.Sprint("a", k), CreateTime: 1000 + k})
				batch = append(batch, &messagesvc.Message{ID: 1000 + k, FromUserID: from + from/2, ToUserID: to + to/2, Content: fmt.Sprint("b", k), CreateTime: 10000 + k})
			}
			if err := s.BulkInsert(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := s.BulkInsert(ctx, nil); err != nil {
				t.Fatal(err)
			}
			latest, err := s.Latest(ctx, 1, []int64{2, 3})
			if err != nil {
				t.Fatal(err)
			}
			// Older history does not move the pointer back; newer does.
			if m := latest[2]; m == nil || m.ID != 1 || m.Content != "live" {
				t.Errorf("latest with 2: %+v", m)
			}
			if m := latest[3]; m == nil || m.ID != 1599 || m.CreateTime != 10599 {
				t.Errorf("latest with 3: %+v", m)
			}
			history, err := s.History(ctx, 2, 1, messagesvc.Position{CreateTime: 1 << 40}, 1000)
			if err != nil || len(history) != 601 {
				t.Fatalf("history with 2: %d, %v", len(history), err)
			}
			// Two messages of one conversation at one time fail the call; so does a
			// repeated id. Neither writes anything.
			same := []*messagesvc.Message{
				{ID: 7000, FromUserID: 4, ToUserID: 5, Content: "x", CreateTime: 1},
				{ID: 7001, FromUserID: 5, ToUserID: 4, Content: "y", CreateTime: 1},
			}
			if err := s.BulkInsert(ctx, same); err == nil {
				t.Fatal("two messages at one time were accepted")
			}
			if err := s.BulkInsert(ctx, []*messagesvc.Message{{ID: 7002, FromUserID: 4, ToUserID: 5, Content: "z", CreateTime: 2}, {ID: 100, FromUserID: 4, ToUserID: 5, Content: "dup", CreateTime: 3}}); err == nil {
				t.Fatal("a repeated id was accepted")
			}
			if latest, err := s.Latest(ctx, 4, []int64{5}); err != nil || latest[5] != nil {
				t.Fatalf("a failed bulk call left a conversation: %+v, %v", latest, err)
			}
		})
	}
}
