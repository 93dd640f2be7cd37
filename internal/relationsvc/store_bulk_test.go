package relationsvc_test

import (
	"context"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/svctest"

	"github.com/mdouyin/mdouyin/internal/relationsvc"
)

// bulkTestDBs opens an empty database on each engine under test; MySQL is opened
// inside the subtest, so SQLite runs without it.
var bulkTestDBs = svctest.Databases("relationsvc_bulk")

func TestBulkFollow(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := relationsvc.NewSQLStore(ctx, open(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := s.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			// A live follow first: the bulk counts add to it.
			if _, err := s.Follow(ctx, relationsvc.Change{FollowerID: 1, FolloweeID: 100, At: 1, EventID: 1}); err != nil {
				t.Fatal(err)
			}
			// Followers 1..40 each follow 101..130: 1,200 edges, more than one statement.
			var edges []relationsvc.Change
			for f := int64(1); f <= 40; f++ {
				for e := int64(101); e <= 130; e++ {
					edges = append(edges, relationsvc.Change{FollowerID: f, FolloweeID: e, At: f*1000 + e})
				}
			}
			if err := s.BulkFollow(ctx, edges); err != nil {
				t.Fatal(err)
			}
			if err := s.BulkFollow(ctx, nil); err != nil {
				t.Fatal(err)
			}
			want := map[int64]relationsvc.Counts{1: {Follow: 31}, 2: {Follow: 30}, 40: {Follow: 30},
				100: {Follower: 1}, 101: {Follower: 40}, 130: {Follower: 40}}
			check := func() {
				t.Helper()
				got, err := s.Counts(ctx, []int64{1, 2, 40, 100, 101, 130, 200})
				if err != nil {
					t.Fatal(err)
				}
				for id, w := range want {
					if got[id] != w {
						t.Errorf("user %d: counts %+v, want %+v", id, got[id], w)
					}
				}
				if got[200] != (relationsvc.Counts{}) {
					t.Errorf("user 200: counts %+v, want none", got[200])
				}
			}
			check()
			page, err := s.Followers(ctx, 101, nil, 100)
			if err != nil || len(page) != 40 {
				t.Fatalf("followers of 101: %d, %v", len(page), err)
			}
			// An existing edge fails the whole call: neither the new edge nor any count moves.
			err = s.BulkFollow(ctx, []relationsvc.Change{{FollowerID: 2, FolloweeID: 200, At: 5}, {FollowerID: 1, FolloweeID: 101, At: 5}})
			if err == nil {
				t.Fatal("an existing edge was accepted")
			}
			check()
			if f, err := s.Follows(ctx, 2, []int64{200}); err != nil || f[200] {
				t.Fatalf("a failed bulk call kept an edge: %v, %v", f, err)
			}
			// The live path still works on top.
			if changed, err := s.Unfollow(ctx, relationsvc.Change{FollowerID: 2, FolloweeID: 101, EventID: 2}); err != nil || !changed {
				t.Fatalf("unfollow: %v, %v", changed, err)
			}
			want[2], want[101] = relationsvc.Counts{Follow: 29}, relationsvc.Counts{Follower: 39}
			check()
		})
	}
}
