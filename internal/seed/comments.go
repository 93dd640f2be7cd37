package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// The shape of the seeded comments.
const (
	// replyShare of the comments are replies, and nestedShare of those answer
	// an earlier reply of their thread rather than its top-level comment.
	replyShare  = 0.3
	nestedShare = 0.4
	// Final states: deletedShare of the comments were deleted by their authors
	// (after their replies and likes came), heldShare are held for review and
	// rejectedShare were held and rejected; the rest are visible. A video's
	// first comment is always visible, so every reply finds a thread.
	deletedShare  = 0.02
	heldShare     = 0.005
	rejectedShare = 0.005
	// commentDelay is the mean delay of a comment after the video or comment it
	// answers, and likeDelay of a like after its comment: most activity comes
	// within days, as on a real feed, and stays near its video in id order.
	commentDelay = 2 * 24 * time.Hour
	likeDelay    = 24 * time.Hour
	// maxCommentsPerSecond bounds a video's comments per second of the time
	// between its publication and the end: the comments of a video published
	// just before the end then spread over enough seconds for NextAt, which has
	// 16,384 ids per second. What a video cannot hold goes to older ones.
	maxCommentsPerSecond = 1000
)

// commentLines and commentTails are mixed into seeded comment texts.
var (
	commentLines = [...]string{"哈哈哈哈", "first!", "这也太好看了吧", "where is this?", "love it ❤️", "笑死我了",
		"what song is this?", "求链接", "again please", "好家伙", "this made my day", "太真实了"}
	commentTails = [...]string{"", "", " 😂", " 👍", "!!", " 🔥", "～", " lol"}
)

// commentPlan is what one video's comments are drawn from.
type commentPlan struct {
	video     int   // video index
	comments  int64 // how many
	likes     int64 // comment likes to place among them
	createdMs int64
}

// commentGen draws comments video by video; it keeps its buffers between videos.
type commentGen struct {
	r          *run
	rng        *rand.Rand
	commenters []int32 // user indexes, the most active first
	likers     map[int32]bool

	cs    []commentsvc.NewComment
	likes []commentsvc.CommentLike
	// Per video, reused: the top-level comments' times (then each thread's
	// replies'), their states, the replies of each, the comments that can be
	// liked (indexes into the video's part of cs) and the likes of each.
	times    []int64
	states   []comment.CommentState
	threads  []int32
	likeable []int
	perLike  []int64
}

// seedComments writes the comments and their likes, video by video in time
// order, each video's whole history in one BulkInsert (which derives floors
// and counts from it). Videos get comments in proportion to the same
// popularity the likes follow (Zipf over the same random order of videos);
// within a video the comments come at exponential delays after it, the
// replies after their thread's comment, skewed toward the early top-level
// comments, and the likes toward the early comments too. Comment likes are
// spread over videos in proportion to their comments.
func (r *run) seedComments(ctx context.Context) error {
	o := r.o
	if o.Comments == 0 {
		return nil
	}
	began := time.Now()
	per, err := r.commentsPerVideo()
	if err != nil {
		return err
	}
	g := &commentGen{r: r, rng: newRand(o.Seed, streamComments), likers: map[int32]bool{}, commenters: make([]int32, o.Users)}
	for i, u := range newRand(o.Seed, streamCommenters).Perm(o.Users) {
		g.commenters[i] = int32(u)
	}
	p := r.deps.Progress.Start("comments", int64(o.Comments+o.CommentLikes))
	defer p.Finish()
	flush := func() error {
		if len(g.cs)+len(g.likes) == 0 {
			return nil
		}
		if err := r.stores.Comments.BulkInsert(ctx, g.cs, g.likes); err != nil {
			return fmt.Errorf("seed: comments: %w", err)
		}
		p.Add(int64(len(g.cs) + len(g.likes)))
		r.res.Comments += int64(len(g.cs))
		for _, c := range g.cs {
			if c.ParentID != 0 {
				r.res.Replies++
			}
		}
		r.res.CommentLikes += int64(len(g.likes))
		g.cs, g.likes = g.cs[:0], g.likes[:0]
		return nil
	}
	var before, carry int64
	total, likes := int64(o.Comments), int64(o.CommentLikes)
	for k, c := range per {
		if c == 0 {
			continue
		}
		if k%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// This video's share of the likes, exactly: the shares of all videos
		// add up to the total.
		budget := likes*(before+c)/total - likes*before/total + carry
		before += c
		placed, err := g.video(commentPlan{video: k, comments: c, likes: budget, createdMs: r.videoTime[k]})
		if err != nil {
			return err
		}
		carry = budget - placed
		if c > r.res.MostCommented.Comments {
			r.res.MostCommented = VideoComments{VideoID: r.videos[k], Comments: c}
		}
		if len(g.cs)+len(g.likes) >= o.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if carry > 0 {
		return fmt.Errorf("seed: %d of --comment-likes %d found no comment without them", carry, o.CommentLikes)
	}
	r.res.CommentsElapsed = time.Since(began)
	return nil
}

// commentsPerVideo draws how many comments each video gets: Zipf over the
// videos' popularity order, capped at maxCommentsPerSecond per second between
// the video's publication and the end; what a video cannot hold moves to the
// next older one.
func (r *run) commentsPerVideo() ([]int64, error) {
	o := r.o
	per := make([]int64, len(r.videos))
	popularity := newRand(o.Seed, streamVideoPopularity).Perm(len(r.videos)) // the likes' order
	rng := newRand(o.Seed, streamCommentVideos)
	var zipf *rand.Zipf
	if len(popularity) > 1 {
		zipf = rand.NewZipf(rng, zipfS, 1, uint64(len(popularity)-1))
	}
	for range o.Comments {
		rank := 0
		if zipf != nil {
			rank = int(zipf.Uint64())
		}
		per[popularity[rank]]++
	}
	var carry int64
	for k := len(per) - 1; k >= 0; k-- {
		c := per[k] + carry
		limit := (r.endMs - r.videoTime[k]) / 1000 * maxCommentsPerSecond
		per[k], carry = min(c, limit), max(c-limit, 0)
	}
	if carry > 0 {
		return nil, fmt.Errorf("seed: %d of --comments %d do not fit in the time after their videos (at most %d per second); seed more --months",
			carry, o.Comments, maxCommentsPerSecond)
	}
	return per, nil
}

// after returns a time in [from, end) at an exponential delay of the given mean
// after from; a delay past end is drawn again, uniformly over [from, end), so
// that a short window fills evenly instead of piling up at its end.
func after(rng *rand.Rand, from, end int64, mean time.Duration) int64 {
	span := end - from
	if span <= 1 {
		return from
	}
	d := int64(rng.ExpFloat64() * float64(mean.Milliseconds()))
	if d >= span {
		d = rng.Int64N(span)
	}
	return from + d
}

// state draws a comment's final state; first comments are always visible.
func (g *commentGen) state(first bool) comment.CommentState {
	if first {
		return comment.CommentState_Visible
	}
	switch x := g.rng.Float64(); {
	case x < deletedShare:
		return comment.CommentState_Deleted
	case x < deletedShare+heldShare:
		return comment.CommentState_Pending
	case x < deletedShare+heldShare+rejectedShare:
		return comment.CommentState_Rejected
	}
	return comment.CommentState_Visible
}

// everVisible reports whether a comment in final state s was visible once, and
// so could be answered and liked (BulkInsert refuses the others).
func everVisible(s comment.CommentState) bool {
	return s == comment.CommentState_Visible || s == comment.CommentState_Deleted
}

// text is a comment's text.
func (g *commentGen) text() string {
	return commentLines[g.rng.IntN(len(commentLines))] + commentTails[g.rng.IntN(len(commentTails))]
}

// commenter draws the user index of a comment's author: the most active users
// write the most, with a density falling as 1/sqrt(rank), a gentler skew than
// the likes' Zipf (the most active of a million users writes about 0.1%).
func (g *commentGen) commenter() int32 {
	u := g.rng.Float64()
	return g.commenters[min(int(u*u*float64(len(g.commenters))), len(g.commenters)-1)]
}

// video appends one video's comments and likes to the batch, in the order
// BulkInsert wants them: the top-level comments in time order, then each
// thread's replies in time order. It returns how many likes it placed.
func (g *commentGen) video(pl commentPlan) (int64, error) {
	r, end := g.r, g.r.endMs
	video, owner := r.videos[pl.video], r.users[r.videoOwner[pl.video]]
	var replies int64
	for i := int64(1); i < pl.comments; i++ {
		if g.rng.Float64() < replyShare {
			replies++
		}
	}
	roots := int(pl.comments - replies)
	first := len(g.cs)

	g.times = g.times[:0]
	for range roots {
		g.times = append(g.times, after(g.rng, pl.createdMs, end, commentDelay))
	}
	slices.Sort(g.times)
	g.states = g.states[:0]
	for i, at := range g.times {
		st := g.state(i == 0)
		id, err := r.deps.IDs.NextAt(time.UnixMilli(at))
		if err != nil {
			return 0, err
		}
		g.states = append(g.states, st)
		g.cs = append(g.cs, commentsvc.NewComment{ID: id, VideoID: video, OwnerID: owner, UserID: r.users[g.commenter()],
			State: st, CreatedAt: at, Content: g.text()})
	}
	// Replies go to the early threads most (Zipf over the top-level comments
	// in floor order); a thread that was never visible gets none, its share
	// going to the first thread.
	g.threads = slices.Grow(g.threads[:0], roots)[:roots]
	clear(g.threads)
	var zipf *rand.Zipf
	if roots > 1 && replies > 0 {
		zipf = rand.NewZipf(g.rng, zipfS, 1, uint64(roots-1))
	}
	for range replies {
		t := 0
		if zipf != nil {
			t = int(zipf.Uint64())
		}
		if !everVisible(g.states[t]) {
			t = 0
		}
		g.threads[t]++
	}
	for t, n := range g.threads {
		if n == 0 {
			continue
		}
		root := g.cs[first+t]
		g.times = g.times[:0]
		for range n {
			g.times = append(g.times, after(g.rng, root.CreatedAt, end, commentDelay))
		}
		slices.Sort(g.times)
		start := len(g.cs)
		for j, at := range g.times {
			parent := root.ID
			if j > 0 && g.rng.Float64() < nestedShare {
				if p := g.cs[start+g.rng.IntN(j)]; everVisible(p.State) {
					parent = p.ID
				}
			}
			id, err := r.deps.IDs.NextAt(time.UnixMilli(at))
			if err != nil {
				return 0, err
			}
			g.cs = append(g.cs, commentsvc.NewComment{ID: id, VideoID: video, OwnerID: owner, UserID: r.users[g.commenter()],
				ParentID: parent, State: g.state(false), CreatedAt: at, Content: g.text()})
		}
	}
	return g.placeLikes(g.cs[first:], pl.likes), nil
}

// placeLikes spreads up to budget likes over the comments that were ever
// visible, skewed toward the early ones (Zipf over them in the order given:
// top-level comments by floor, then the threads), each by distinct users. A
// comment holds at most one like per user; what it cannot hold goes to the
// next one. It returns how many it placed.
func (g *commentGen) placeLikes(cs []commentsvc.NewComment, budget int64) int64 {
	if budget == 0 {
		return 0
	}
	g.likeable = g.likeable[:0]
	for i, c := range cs {
		if everVisible(c.State) {
			g.likeable = append(g.likeable, i)
		}
	}
	n := len(g.likeable)
	g.perLike = slices.Grow(g.perLike[:0], n)[:n]
	clear(g.perLike)
	var zipf *rand.Zipf
	if n > 1 {
		zipf = rand.NewZipf(g.rng, zipfS, 1, uint64(n-1))
	}
	for range budget {
		rank := 0
		if zipf != nil {
			rank = int(zipf.Uint64())
		}
		g.perLike[rank]++
	}
	users := int64(g.r.o.Users)
	var spill, placed int64
	for i := range g.perLike {
		c := g.perLike[i] + spill
		g.perLike[i], spill = min(c, users), max(c-users, 0)
		placed += g.perLike[i]
	}
	for i, k := range g.perLike {
		if k == 0 {
			continue
		}
		c := cs[g.likeable[i]]
		for _, u := range g.distinctUsers(int(k)) {
			g.likes = append(g.likes, commentsvc.CommentLike{UserID: g.r.users[u], CommentID: c.ID,
				CreatedAt: after(g.rng, c.CreatedAt, g.r.endMs, likeDelay)})
		}
	}
	return placed
}

// distinctUsers draws k distinct user indexes, k at most the number of users.
func (g *commentGen) distinctUsers(k int) []int32 {
	n := g.r.o.Users
	out := make([]int32, 0, k)
	if 2*k > n {
		for _, u := range g.rng.Perm(n)[:k] {
			out = append(out, int32(u))
		}
		return out
	}
	clear(g.likers)
	for len(out) < k {
		u := int32(g.rng.IntN(n))
		if !g.likers[u] {
			g.likers[u] = true
			out = append(out, u)
		}
	}
	return out
}
