//go:build failover

package failover

import (
	"strings"
	"testing"
)

// TestCheckFindsDisagreements feeds check a small world whose facts agree with
// the ledger, then breaks one thing at a time: each break must be reported, so
// a clean verification of the cluster means something.
func TestCheckFindsDisagreements(t *testing.T) {
	const alice, bob, vid, c1, c2 = 1, 2, 100, 1000, 1001
	build := func() (*facts, *world, []*vuser) {
		w := &world{users: []account{{id: alice}, {id: bob}}, videos: []video{{id: vid, author: bob}}, probe: account{id: 3}}
		a := &vuser{me: w.users[0], likes: map[int64]state{vid: on}, follows: map[int64]state{bob: on},
			comments: []*commentRec{{id: c1, video: vid, floor: 1, state: on}, {id: c2, video: vid, root: c1, floor: 1, state: on}},
			messages: []messageRec{{to: bob, content: "hi"}}}
		b := &vuser{me: w.users[1], likes: map[int64]state{vid: off}, follows: map[int64]state{}}
		user := func(favs, follows, followers, works, received int64) map[string]any {
			return map[string]any{"favorite_count": float64(favs), "follow_count": float64(follows), "follower_count": float64(followers),
				"work_count": float64(works), "total_favorited": float64(received)}
		}
		f := &facts{
			favs:      map[int64]map[int64]bool{alice: {vid: true}, bob: {}, 3: {}},
			following: map[int64]map[int64]bool{alice: {bob: true}, bob: {}, 3: {}},
			followers: map[int64]map[int64]bool{alice: {}, bob: {alice: true}, 3: {}},
			info:      map[int64]map[string]any{alice: user(1, 1, 0, 0, 0), bob: user(0, 0, 1, 1, 1), 3: user(0, 0, 0, 0, 0)},
			works: map[int64][]map[string]any{bob: {{"id": float64(vid), "favorite_count": float64(1), "comment_count": float64(2)}},
				alice: {}, 3: {}},
			top:     map[int64][]map[string]any{vid: {{"id": float64(c1), "reply_count": float64(1)}}},
			replies: map[int64][]map[string]any{c1: {{"id": float64(c2)}}},
			chats:   map[[2]int64]map[string]bool{pair(alice, bob): {"hi": true}},
		}
		return f, w, []*vuser{a, b}
	}
	if f, w, vus := build(); len(check(f, w, vus)) != 0 {
		t.Fatalf("agreeing facts reported: %v", check(f, w, vus))
	}
	for _, tc := range []struct {
		name   string
		mutate func(f *facts, vus []*vuser)
		want   string
	}{
		{"lost like", func(f *facts, _ []*vuser) { delete(f.favs[alice], vid); f.works[bob][0]["favorite_count"] = float64(0) }, "acknowledged like"},
		{"unlike ignored", func(f *facts, _ []*vuser) { f.favs[bob][vid] = true }, "acknowledged unlike"},
		{"lost follow", func(f *facts, _ []*vuser) { delete(f.followers[bob], alice) }, "acknowledged follow"},
		{"lost comment", func(f *facts, _ []*vuser) { f.top[vid] = nil }, "acknowledged comment"},
		{"lost reply", func(f *facts, _ []*vuser) { f.replies[c1] = nil }, "acknowledged comment"},
		{"deleted comment listed", func(_ *facts, vus []*vuser) { vus[0].comments[1].state = off }, "was deleted"},
		{"thread deleted, reply listed", func(_ *facts, vus []*vuser) { vus[0].comments[0].state = off }, "was deleted"},
		{"lost message", func(f *facts, _ []*vuser) { f.chats[pair(alice, bob)] = map[string]bool{} }, "acknowledged message"},
		{"favorite_count", func(f *facts, _ []*vuser) { f.works[bob][0]["favorite_count"] = float64(2) }, "favorite_count 2"},
		{"comment_count", func(f *facts, _ []*vuser) { f.works[bob][0]["comment_count"] = float64(1) }, "comment_count 1"},
		{"reply_count", func(f *facts, _ []*vuser) { f.top[vid][0]["reply_count"] = float64(0) }, "reply_count 0"},
		{"follower_count", func(f *facts, _ []*vuser) { f.info[bob]["follower_count"] = float64(0) }, "follower_count 0"},
		{"total_favorited", func(f *facts, _ []*vuser) { f.info[bob]["total_favorited"] = float64(5) }, "total_favorited 5"},
		{"phantom follow", func(f *facts, _ []*vuser) { f.following[bob][alice] = true; f.followers[alice][bob] = true }, "never asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, w, vus := build()
			tc.mutate(f, vus)
			problems := check(f, w, vus)
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("want a problem mentioning %q, got %q", tc.want, problems)
			}
		})
	}
}
