package messagesvc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mdouyin/mdouyin/internal/messagesvc"
)

// TestStoreOrder checks what the store guarantees whatever the clocks say:
// create_time strictly increases within a conversation in the order messages are
// stored, even when the proposed times repeat or go backwards (sends accepted by
// nodes whose clocks differ), and the readers page through that order.
func TestStoreOrder(t *testing.T) {
	for dbName, open := range databases {
		t.Run(dbName, func(t *testing.T) {
			ctx := context.Background()
			s, err := messagesvc.NewSQLStore(ctx, open(t))
			if err != nil {
				t.Fatal(err)
			}
			const a, b, other = 1000, 2000, 3000
			// Proposed times: a repeat, a clock that stepped back, then one ahead.
			// Ids are not in time order either.
			sends := []struct {
				id, from, to, proposed, want int64
			}{
				{30, b, a, 500, 500},
				{40, a, b, 500, 501},
				{50, b, a, 500, 502},
				{10, b, a, 400, 503},
				{20, a, b, 900, 900},
				{60, b, a, 900, 901},
			}
			for _, m := range sends {
				msg := &messagesvc.Message{ID: m.id, FromUserID: m.from, ToUserID: m.to, Content: fmt.Sprint("m", m.id), CreateTime: m.proposed}
				if err := s.Insert(ctx, msg); err != nil {
					t.Fatal(err)
				}
				if msg.CreateTime != m.want {
					t.Fatalf("message %d proposed at %d stored at %d, want %d", m.id, m.proposed, msg.CreateTime, m.want)
				}
			}
			// Another conversation keeps its own times.
			solo := &messagesvc.Message{ID: 70, FromUserID: a, ToUserID: other, Content: "elsewhere", CreateTime: 450}
			if err := s.Insert(ctx, solo); err != nil || solo.CreateTime != 450 {
				t.Fatalf("other conversation stored at %d, %v; want 450", solo.CreateTime, err)
			}

			ids := func(ms []*messagesvc.Message) string {
				out := ""
				for _, m := range ms {
					out += fmt.Sprint(m.ID, " ")
				}
				return out
			}
			// History pages of two, newest first, from each page's last position.
			var got []*messagesvc.Message
			pos := messagesvc.Newest
			for range 5 {
				page, err := s.History(ctx, a, b, pos, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				pos = messagesvc.Position{CreateTime: page[len(page)-1].CreateTime, ID: page[len(page)-1].ID}
			}
			if g := ids(got); g != "60 20 10 50 40 30 " {
				t.Fatalf("history order %s", g)
			}
			// Incoming from b, two at a time, from the start.
			got = nil
			pos = messagesvc.Position{}
			for range 5 {
				page, err := s.Incoming(ctx, a, b, pos, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				pos = messagesvc.Position{CreateTime: page[len(page)-1].CreateTime, ID: page[len(page)-1].ID}
			}
			if g := ids(got); g != "30 50 10 60 " {
				t.Fatalf("incoming order %s", g)
			}
			// Strictly after a millisecond, whatever the id.
			page, err := s.Incoming(ctx, a, b, messagesvc.Position{CreateTime: 502, ID: 1 << 62}, 10)
			if err != nil || ids(page) != "10 60 " {
				t.Fatalf("incoming after 502 ms = %s, %v", ids(page), err)
			}
			page, err = s.Incoming(ctx, b, a, messagesvc.Position{}, 10)
			if err != nil || ids(page) != "40 20 " {
				t.Fatalf("incoming to b = %s, %v", ids(page), err)
			}

			// Latest is the last stored message, from either side.
			latest, err := s.Latest(ctx, a, []int64{b, other, 4000})
			if err != nil {
				t.Fatal(err)
			}
			if len(latest) != 2 || latest[b].ID != 60 || latest[b].Content != "m60" || latest[b].CreateTime != 901 || latest[other].ID != 70 {
				t.Fatalf("latest = %v", latest)
			}
			latest, err = s.Latest(ctx, b, []int64{a})
			if err != nil || latest[a] == nil || latest[a].ID != 60 {
				t.Fatalf("latest from b = %v, %v", latest, err)
			}
		})
	}
}
