package seed_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"

	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/seed"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// model is the seeded dataset read back with plain queries, from which the
// inboxes and timelines are computed the naive way: every candidate sorted,
// then cut.
type model struct {
	follows   map[int64][]int64 // follower -> followees
	followers map[int64]int     // user -> followers
	byAuthor  map[int64][]*videosvc.Video
	users     []int64
}

func readModel(t *testing.T, e *env) *model {
	t.Helper()
	ctx := context.Background()
	m := &model{follows: map[int64][]int64{}, followers: map[int64]int{}, byAuthor: map[int64][]*videosvc.Video{}}
	rows, err := e.dbs["relation"].QueryContext(ctx, "SELECT follower_id, followee_id FROM relation_follows")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		m.follows[a] = append(m.follows[a], b)
		m.followers[b]++
	}
	rows.Close()
	rows, err = e.dbs["video"].QueryContext(ctx, "SELECT id, author_id, create_time FROM videos")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		v := &videosvc.Video{}
		if err := rows.Scan(&v.ID, &v.AuthorID, &v.CreateTime); err != nil {
			t.Fatal(err)
		}
		m.byAuthor[v.AuthorID] = append(m.byAuthor[v.AuthorID], v)
	}
	rows.Close()
	rows, err = e.dbs["user"].QueryContext(ctx, "SELECT id FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		m.users = append(m.users, id)
	}
	rows.Close()
	return m
}

// newestFirst sorts videos as the feed does and returns their ids.
func newestFirst(vs []*videosvc.Video) []int64 {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b *videosvc.Video) int {
		if c := cmp.Compare(b.CreateTime, a.CreateTime); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return ids
}

// inbox is what the user's inbox should hold: the newest InboxSize videos of the
// followees with at most PullThreshold followers. cut reports whether the bound
// dropped some.
func (m *model) inbox(o seed.Options, user int64) (ids []int64, cut bool) {
	var cands []*videosvc.Video
	for _, a := range m.follows[user] {
		if m.followers[a] <= o.PullThreshold {
			cands = append(cands, m.byAuthor[a]...)
		}
	}
	ids = newestFirst(cands)
	if len(ids) > o.InboxSize {
		return ids[:o.InboxSize], true
	}
	return ids, false
}

// checkInboxes compares every user's inbox, read through the store as the feed
// reads it, with the naive computation, and the size counters with the rows.
func checkInboxes(t *testing.T, e *env, o seed.Options, res seed.Result) {
	ctx := context.Background()
	m := readModel(t, e)
	var total, users, cutUsers int64
	pullFollowed := false
	for _, u := range m.users {
		want, cut := m.inbox(o, u)
		got, err := e.stores.Videos.Inbox(ctx, u, videosvc.Position{Time: math.MaxInt64}, 0, 10*o.InboxSize)
		if err != nil {
			t.Fatal(err)
		}
		gotIDs := make([]int64, len(got))
		for i, v := range got {
			gotIDs[i] = v.ID
		}
		if !slices.Equal(gotIDs, want) {
			t.Errorf("user %d: inbox %v, want %v", u, gotIDs, want)
		}
		total += int64(len(want))
		if len(want) > 0 {
			users++
		}
		if cut {
			cutUsers++
		}
		for _, a := range m.follows[u] {
			if m.followers[a] > o.PullThreshold && len(m.byAuthor[a]) > 0 {
				pullFollowed = true
			}
		}
	}
	// The dataset exercises what the check is about: inboxes the bound cut, and
	// followed pull-mode authors whose videos must stay out.
	if cutUsers == 0 || !pullFollowed || total == 0 {
		t.Errorf("the dataset does not exercise the inboxes: %d cut, pull-mode author followed %v, %d entries", cutUsers, pullFollowed, total)
	}
	if res.InboxEntries != total || res.InboxUsers != users {
		t.Errorf("result: %d entries of %d users, want %d of %d", res.InboxEntries, res.InboxUsers, total, users)
	}
	if n := count(t, e.dbs["video"], "SELECT COUNT(*) FROM video_inbox"); n != total {
		t.Errorf("video_inbox holds %d rows, want %d", n, total)
	}
	if n := count(t, e.dbs["video"], `SELECT COUNT(*) FROM video_inbox_sizes s
		WHERE s.size <> (SELECT COUNT(*) FROM video_inbox i WHERE i.user_id = s.user_id)`); n != 0 {
		t.Errorf("%d inbox sizes disagree with their inboxes", n)
	}
	if n := count(t, e.dbs["video"], `SELECT COUNT(DISTINCT user_id) FROM video_inbox i
		WHERE NOT EXISTS (SELECT 1 FROM video_inbox_sizes s WHERE s.user_id = i.user_id)`); n != 0 {
		t.Errorf("%d inboxes have no size row", n)
	}
}

// checkFollowingFeed pages through every user's following timeline as the video
// role serves it (over the seeded stores, with the relation role reading the
// seeded graph) and compares it with the naive one: the user's own videos, the
// pull-mode followees' videos and the expected inbox, newest first.
func checkFollowingFeed(t *testing.T, e *env, o seed.Options) {
	ctx := context.Background()
	m := readModel(t, e)
	rel := relationsvc.New(e.stores.Relations, nil, nil)
	svc := videosvc.New(e.stores.Videos, e.blobs, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), videosvc.Options{
		Relation: rel, Inbox: e.stores.Videos,
		Feed: videosvc.FeedOptions{PullThreshold: o.PullThreshold, InboxSize: o.InboxSize},
	})
	for _, u := range m.users {
		inbox, _ := m.inbox(o, u)
		wantSet := map[int64]bool{}
		for _, id := range inbox {
			wantSet[id] = true
		}
		var all []*videosvc.Video
		for _, a := range append(slices.Clone(m.follows[u]), u) {
			all = append(all, m.byAuthor[a]...)
		}
		var want []*videosvc.Video
		for _, v := range all {
			if wantSet[v.ID] || v.AuthorID == u || m.followers[v.AuthorID] > o.PullThreshold {
				want = append(want, v)
			}
		}
		var got []int64
		req := &video.FeedRequest{ViewerId: u, Type: videosvc.FeedFollowing, Count: 7}
		for page := 0; ; page++ {
			if page > len(all)+1 {
				t.Fatalf("user %d: the following timeline does not end", u)
			}
			resp, err := svc.Feed(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetVideos()) == 0 {
				break
			}
			for _, v := range resp.GetVideos() {
				got = append(got, v.GetId())
			}
			req = &video.FeedRequest{ViewerId: u, Type: videosvc.FeedFollowing, Count: 7,
				LatestTime: resp.GetNextTime(), Cursor: resp.GetNextCursor()}
		}
		if w := newestFirst(want); !slices.Equal(got, w) {
			t.Errorf("user %d: following timeline %v, want %v", u, got, w)
		}
	}
}
