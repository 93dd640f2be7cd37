package seed_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/seed"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

type seededComment struct {
	id, video, user, root, parent, floor int64
	state                                comment.CommentState
	likes, replies, replyFloor           int64
	hot                                  float64
	at                                   int64
}

func everVisible(s comment.CommentState) bool {
	return s == comment.CommentState_Visible || s == comment.CommentState_Deleted
}

// checkComments checks the seeded comments against the rules the comment role
// keeps live: every count `mdouyin check` audits, floors 1..n per video and
// per thread in time order, replies answering visible comments of their
// thread, hot scores, likes after their comments; and the shape asked for.
func checkComments(t *testing.T, e *env, o seed.Options, res seed.Result) {
	ctx := context.Background()
	d := e.dbs["comment"]
	for _, c := range e.stores.Comments.Counters() {
		n, err := d.CheckCounter(ctx, c, false, nil, func(diff db.CounterDiff) {
			t.Errorf("%s key %d: stored %d, facts %d", diff.Counter, diff.Key, diff.Stored, diff.Actual)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: no keys", c.Name())
		}
	}

	videos := map[int64][2]int64{} // id: create_time, author
	rows, err := e.dbs["video"].QueryContext(ctx, "SELECT id, create_time, author_id FROM videos")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, at, author int64
		if err := rows.Scan(&id, &at, &author); err != nil {
			t.Fatal(err)
		}
		videos[id] = [2]int64{at, author}
	}
	rows.Close()
	users := map[int64]bool{}
	rows, err = e.dbs["user"].QueryContext(ctx, "SELECT id FROM users")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		users[id] = true
	}
	rows.Close()

	byID := map[int64]*seededComment{}
	var all []*seededComment
	rows, err = d.QueryContext(ctx, `SELECT id, video_id, user_id, root_id, parent_id, floor, state, like_count, reply_count,
		reply_floor, hot, created_at FROM comment_index ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		c := &seededComment{}
		if err := rows.Scan(&c.id, &c.video, &c.user, &c.root, &c.parent, &c.floor, &c.state, &c.likes, &c.replies,
			&c.replyFloor, &c.hot, &c.at); err != nil {
			t.Fatal(err)
		}
		byID[c.id] = c
		all = append(all, c)
	}
	rows.Close()

	end := res.End.UnixMilli()
	rootFloors := map[int64][]*seededComment{}   // by video
	threadFloors := map[int64][]*seededComment{} // by root
	states := map[comment.CommentState]int{}
	nested := 0
	for _, c := range all {
		states[c.state]++
		v, ok := videos[c.video]
		switch {
		case !ok:
			t.Fatalf("comment %d on unknown video %d", c.id, c.video)
		case !users[c.user]:
			t.Errorf("comment %d by unknown user %d", c.id, c.user)
		case c.at < v[0] || c.at >= end:
			t.Errorf("comment %d at %d: its video is of %d, the end %d", c.id, c.at, v[0], end)
		case idgen.Time(c.id).Unix() != c.at/1000:
			t.Errorf("comment %d is of second %d, its time %d", c.id, idgen.Time(c.id).Unix(), c.at)
		case c.hot != commentsvc.HotScore(c.likes, c.replies, c.at):
			t.Errorf("comment %d: hot %v, HotScore %v", c.id, c.hot, commentsvc.HotScore(c.likes, c.replies, c.at))
		}
		if c.root == 0 {
			if c.parent != 0 {
				t.Errorf("top-level comment %d has parent %d", c.id, c.parent)
			}
			rootFloors[c.video] = append(rootFloors[c.video], c)
			continue
		}
		threadFloors[c.root] = append(threadFloors[c.root], c)
		p, root := byID[c.parent], byID[c.root]
		switch {
		case p == nil || root == nil:
			t.Errorf("reply %d: parent %d or root %d missing", c.id, c.parent, c.root)
		case p.video != c.video || root.root != 0 || (p.id != root.id && p.root != root.id):
			t.Errorf("reply %d: parent %+v and root %+v are not of its thread", c.id, p, root)
		case !everVisible(p.state):
			t.Errorf("reply %d answers comment %d, never visible (%v)", c.id, p.id, p.state)
		case c.at < p.at:
			t.Errorf("reply %d at %d before its parent at %d", c.id, c.at, p.at)
		case c.replies != 0 || c.replyFloor != 0:
			t.Errorf("reply %d has reply counts %d/%d", c.id, c.replies, c.replyFloor)
		}
		if c.parent != c.root {
			nested++
		}
	}
	// Floors are 1..n in time order, per video and per thread.
	inOrder := func(what string, key int64, cs []*seededComment) {
		slices.SortFunc(cs, func(a, b *seededComment) int { return cmp.Compare(a.floor, b.floor) })
		for i, c := range cs {
			if c.floor != int64(i+1) {
				t.Errorf("%s %d: floor %d at place %d", what, key, c.floor, i+1)
				return
			}
			if i > 0 && c.at < cs[i-1].at {
				t.Errorf("%s %d: floor %d at %d is older than floor %d", what, key, c.floor, c.at, i)
			}
		}
	}
	subjects := 0
	rows, err = d.QueryContext(ctx, "SELECT video_id, owner_id, top_floor, pinned_id FROM comment_subject")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var video, owner, top, pinned int64
		if err := rows.Scan(&video, &owner, &top, &pinned); err != nil {
			t.Fatal(err)
		}
		subjects++
		if owner != videos[video][1] || top != int64(len(rootFloors[video])) || pinned != 0 {
			t.Errorf("subject of video %d: owner %d top floor %d pinned %d; the video's author is %d, %d top-level comments",
				video, owner, top, pinned, videos[video][1], len(rootFloors[video]))
		}
		inOrder("video", video, rootFloors[video])
	}
	rows.Close()
	if subjects != len(rootFloors) {
		t.Errorf("%d subjects for %d videos with comments", subjects, len(rootFloors))
	}
	for _, c := range all {
		if c.root == 0 {
			if c.replyFloor != int64(len(threadFloors[c.id])) {
				t.Errorf("comment %d: reply floor %d, %d replies", c.id, c.replyFloor, len(threadFloors[c.id]))
			}
			inOrder("thread", c.id, threadFloors[c.id])
		}
	}

	var likes int64
	likesOf := map[int64]int64{}
	rows, err = d.QueryContext(ctx, "SELECT user_id, comment_id, created_at FROM comment_likes")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var user, id, at int64
		if err := rows.Scan(&user, &id, &at); err != nil {
			t.Fatal(err)
		}
		likes++
		likesOf[id]++
		c := byID[id]
		switch {
		case c == nil || !everVisible(c.state):
			t.Errorf("like of comment %d (%+v)", id, c)
		case !users[user]:
			t.Errorf("like of %d by unknown user %d", id, user)
		case at < c.at || at >= end:
			t.Errorf("like of %d at %d: the comment is of %d, the end %d", id, at, c.at, end)
		}
	}
	rows.Close()

	// The shape: threads two levels deep, a few comments of every state, and
	// comments and likes concentrated on a few videos and comments.
	replies := len(all) - func() (n int) {
		for _, cs := range rootFloors {
			n += len(cs)
		}
		return n
	}()
	if replies < len(all)/5 || replies > len(all)*2/5 || nested == 0 || int64(replies) != res.Replies {
		t.Errorf("%d replies (%d answering replies, result %d) of %d comments", replies, nested, res.Replies, len(all))
	}
	if states[comment.CommentState_Deleted] == 0 || states[comment.CommentState_Pending]+states[comment.CommentState_Rejected] == 0 ||
		states[comment.CommentState_Visible] < len(all)*9/10 {
		t.Errorf("states %v", states)
	}
	most, mostVideo := 0, int64(0)
	for v := range videos {
		if n := len(rootFloors[v]); n > 0 {
			c := n
			for _, r := range rootFloors[v] {
				c += len(threadFloors[r.id])
			}
			if c > most {
				most, mostVideo = c, v
			}
		}
	}
	if avg := o.Comments / o.Videos; most < 3*avg || res.MostCommented != (seed.VideoComments{VideoID: mostVideo, Comments: int64(most)}) {
		t.Errorf("most commented video %d has %d comments (average %d); result %+v", mostVideo, most, avg, res.MostCommented)
	}
	var top int64
	for _, n := range likesOf {
		top = max(top, n)
	}
	if avg := likes / int64(len(all)); top < 5*max(avg, 1) {
		t.Errorf("most liked comment has %d likes, %d on average: no skew", top, avg)
	}
}

// checkCommentRole starts the comment role's service on the seeded store and
// reads the most commented video as the app does: every visible top-level
// comment once, by time with unique floors and by hot score in HotScore order,
// the video's count equal to what the pages hold, and its busiest thread.
func checkCommentRole(t *testing.T, e *env, res seed.Result) {
	ctx := context.Background()
	bus := svctest.Bus(t)
	if err := commentsvc.EnsureStreams(ctx, bus); err != nil {
		t.Fatal(err)
	}
	videos := svctest.NewVideos()
	rows, err := e.dbs["video"].QueryContext(ctx, "SELECT id, author_id FROM videos")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, author int64
		if err := rows.Scan(&id, &author); err != nil {
			t.Fatal(err)
		}
		videos.Add(id, author)
	}
	rows.Close()
	ids, err := idgen.New(3)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := commentsvc.New(e.stores.Comments, videos, ids, bus, cache.NewLocal(10_000), cache.NewLocalSortedSets(1000),
		slog.New(slog.NewTextHandler(io.Discard, nil)), commentsvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	vid := res.MostCommented.VideoID
	pages := func(root int64, sort string) []*comment.Comment {
		t.Helper()
		var out []*comment.Comment
		cursor := ""
		for {
			r, err := svc.List(ctx, &comment.ListRequest{VideoId: vid, RootId: root, Sort: sort, Page: &base.Page{Count: 7, Cursor: cursor}})
			if err != nil {
				t.Fatalf("list %s of video %d root %d: %v", sort, vid, root, err)
			}
			out = append(out, r.GetComments()...)
			if !r.GetPage().GetHasMore() {
				return out
			}
			cursor = r.GetPage().GetNextCursor()
		}
	}
	byTime := pages(0, "time")
	want := int64(0)
	busiest := byTime[0]
	for i, c := range byTime {
		if c.GetState() != comment.CommentState_Visible || c.GetRootId() != 0 {
			t.Errorf("listed %+v", c)
		}
		if i > 0 && c.GetFloor() >= byTime[i-1].GetFloor() {
			t.Errorf("floor %d after floor %d", c.GetFloor(), byTime[i-1].GetFloor())
		}
		want += 1 + c.GetReplyCount()
		if c.GetReplyCount() > busiest.GetReplyCount() {
			busiest = c
		}
	}
	counts, err := svc.VideoCounts(ctx, &comment.VideoCountsRequest{VideoIds: []int64{vid}})
	if err != nil || counts.GetCounts()[vid] != want {
		t.Errorf("video %d count %d (%v); its pages hold %d comments with their replies", vid, counts.GetCounts()[vid], err, want)
	}
	byHot := pages(0, "hot")
	score := func(c *comment.Comment) float64 {
		return commentsvc.HotScore(c.GetLikeCount(), c.GetReplyCount(), c.GetCreateTime())
	}
	if !slices.IsSortedFunc(byHot, func(a, b *comment.Comment) int {
		return cmp.Or(cmp.Compare(score(b), score(a)), cmp.Compare(b.GetId(), a.GetId()))
	}) {
		t.Error("hot pages are not in HotScore order")
	}
	hotIDs, timeIDs := make([]int64, len(byHot)), make([]int64, len(byTime))
	for i := range byHot {
		hotIDs[i] = byHot[i].GetId()
	}
	for i := range byTime {
		timeIDs[i] = byTime[i].GetId()
	}
	slices.Sort(hotIDs)
	slices.Sort(timeIDs)
	if !slices.Equal(hotIDs, timeIDs) {
		t.Errorf("hot pages hold %d comments, time pages %d, not the same ones", len(hotIDs), len(timeIDs))
	}
	if busiest.GetReplyCount() == 0 {
		t.Fatalf("no thread on the most commented video %d", vid)
	}
	thread := pages(busiest.GetId(), "")
	if int64(len(thread)) != busiest.GetReplyCount() {
		t.Errorf("thread %d lists %d replies, counts %d", busiest.GetId(), len(thread), busiest.GetReplyCount())
	}
	for i, c := range thread {
		if c.GetRootId() != busiest.GetId() || (i > 0 && c.GetFloor() <= thread[i-1].GetFloor()) {
			t.Errorf("thread %d: %+v after floor %d", busiest.GetId(), c, thread[max(i-1, 0)].GetFloor())
		}
	}
}
