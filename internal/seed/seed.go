// Package seed writes a realistic dataset straight through the services' stores,
// for measuring: users who share one password, a power-law follow graph with a few
// authors followed by (nearly) everyone, friends who chat, videos spread over past
// months that share one real media file, and likes and comments (two-level
// threads, comment likes, a few deleted and held) skewed toward popular videos.
//
// Every row carries a historical time, and rows with ids take them from that past
// second (idgen.NextAt), so ids and times agree as if the data had been written
// live. Counts are exact: each bulk write moves its count rows in the same
// transaction. Feed inboxes are filled as the live fan-out keeps them (see
// seedInboxes), so a seeded user's following timeline is complete. The dataset is
// a function of the options alone (seed, sizes, feed settings and end time): the
// same flags give the same users, graph, videos, likes, messages, inboxes and
// comments.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/progress"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/usersvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// Options size and shape a dataset.
type Options struct {
	Users    int // accounts, named seed_000001, seed_000002, ...
	Follows  int // follow edges in all, the big authors' included
	Videos   int
	Likes    int
	Messages int // chat messages, between friends only
	Comments int // comments, top-level and replies, on videos by popularity
	// CommentLikes are likes of comments, by distinct users per comment.
	CommentLikes int

	// BigAuthors users are each followed by BigFollowers users (at most every other
	// user): the authors whose feed fan-out is pulled, not pushed.
	BigAuthors   int
	BigFollowers int
	// AuthorFollowers adds one author per entry followed by exactly that many
	// users (at most every other user), for measuring an author of a known size:
	// one far above the pull threshold, one just at it, one with a handful.
	// Unlike the big authors they are drawn from the least popular users, so
	// they publish few videos.
	AuthorFollowers []int
	// Readers are the first users (seed_000001, ...) made heavy readers of the
	// feed: each follows ReaderFollows users, every big author among them (on
	// top of the big authors' BigFollowers), the rest by popularity. Their
	// follows count toward Follows. Issue 7 measures the logged-in feed of such
	// a user: following 200 authors including the ones with 1M followers.
	Readers       int
	ReaderFollows int

	// PullThreshold and InboxSize are the feed settings of the server that will
	// serve the data (feed.pull_threshold and feed.inbox_size): authors with at
	// most PullThreshold followers are in push mode, and each user's inbox
	// holds the InboxSize newest videos of the push-mode authors they follow.
	PullThreshold int
	InboxSize     int

	// Months is how far back follows, videos, likes and messages go (30-day
	// months); the accounts were registered in the 30 days before that.
	Months int
	// End is the time every row is before; zero means now. It must lie before the
	// id generator was created (idgen.NextAt).
	End time.Time

	Seed     uint64
	Batch    int    // rows per transaction
	Password string // every seeded user's password
}

// DefaultOptions is a small dataset that loads in seconds.
func DefaultOptions() Options {
	return Options{
		Users: 1000, Follows: 10_000, Videos: 2000, Likes: 20_000, Messages: 2000, Comments: 20_000, CommentLikes: 20_000,
		BigAuthors: 2, BigFollowers: 1_000_000, ReaderFollows: 200, Months: 6,
		PullThreshold: 10_000, InboxSize: 1000,
		Seed: 1, Batch: 10_000, Password: "seed-password",
	}
}

// registrationSpan is how long before the activity window the accounts registered,
// so that everything a user does comes after the user exists.
const registrationSpan = 30 * 24 * time.Hour

// month is the length of one of Options.Months.
const month = 30 * 24 * time.Hour

// maxRingWidth bounds how many neighbours on each side a user befriends.
const maxRingWidth = 5

// ErrNotEmpty is returned when a store already holds data: seeded rows would mix
// with real ones (and their names could collide), so the seeder only fills empty
// databases.
var ErrNotEmpty = errors.New("seed: the database is not empty; seed into a new data directory or database")

// Stores are the stores the seeder writes through.
type Stores struct {
	Users     *usersvc.SQLStore
	Relations *relationsvc.SQLStore
	Videos    *videosvc.SQLStore
	Favorites *favoritesvc.SQLStore
	Messages  *messagesvc.SQLStore
	Comments  *commentsvc.SQLStore
	Blobs     blob.Store
}

// Deps are the seeder's other collaborators.
type Deps struct {
	// Hasher computes the one password hash every seeded user shares; use the
	// server's parameters so logins do not rehash.
	Hasher *password.Hasher
	// IDs issues the historical ids. Give it a node number no server uses:
	// NextAt ids of two generators with one node can collide.
	IDs *idgen.Generator
	// FFmpeg is the ffmpeg binary that renders the shared media; TempDir is where
	// it works (empty: the system's).
	FFmpeg  string
	TempDir string
	// Progress shows each phase; nil shows nothing.
	Progress *progress.Progress
}

// Author is a seeded user with a follower count the options fixed.
type Author struct {
	ID        int64
	Name      string
	Followers int
}

// Result says what a run wrote.
type Result struct {
	Users, Follows, Videos, Likes, Messages int64
	// Friendships is the number of mutually following pairs made for chats.
	Friendships int64
	// InboxEntries is the number of feed inbox rows written, and InboxUsers the
	// number of users with a non-empty inbox; InboxElapsed is how long that
	// phase took.
	InboxEntries, InboxUsers int64
	InboxElapsed             time.Duration
	// Comments and CommentLikes are the comments (Replies of them replies)
	// and comment likes written; CommentsElapsed is how long that phase took,
	// and MostCommented is the video with the most comments.
	Comments, Replies, CommentLikes int64
	CommentsElapsed                 time.Duration
	MostCommented                   VideoComments
	// BigAuthors are the ids of the authors with BigFollowers followers.
	BigAuthors []int64
	// Authors are the authors of Options.AuthorFollowers, in its order.
	Authors []Author
	// Media is the shared video and cover (zero without videos).
	Media    Media
	Password string
	// Start and End bound the activity window; Elapsed is the run's duration.
	Start, End time.Time
	Elapsed    time.Duration
}

// VideoComments is a video with its number of comments.
type VideoComments struct {
	VideoID  int64
	Comments int64
}

// Rows is the number of fact rows written (accounts, follows, videos, likes,
// messages, comments and comment likes; not count rows).
func (r Result) Rows() int64 {
	return r.Users + r.Follows + r.Videos + r.Likes + r.Messages + r.Comments + r.CommentLikes
}

// Seeder writes datasets.
type Seeder struct {
	stores Stores
	deps   Deps
}

// New returns a Seeder writing to stores.
func New(stores Stores, deps Deps) *Seeder {
	return &Seeder{stores: stores, deps: deps}
}

// run is one seeding's state: the options and what earlier phases produced that
// later phases build on.
type run struct {
	*Seeder
	o              Options
	startMs, endMs int64
	ring           int // friends on each side in the ring of user indexes

	users      []int64 // id of each user index, ascending
	perm       []int32 // user indexes by popularity: big authors first
	big        []int32 // user indexes of the authors with fixed follower counts: the big ones, then AuthorFollowers'
	bigF       []int   // followers of each of big
	videos     []int64 // id of each video index, ascending
	videoOwner []int32 // author's user index of each video
	videoTime  []int64 // create_time of each video, ms

	// The follow graph planGraph drew: the followees of user i are
	// followees[followStart[i]:followStart[i+1]], ascending, followed at the
	// times at the same places of followAt; followers[u] is u's follower count.
	followStart []int64
	followees   []int32
	followAt    []int64
	followers   []int32

	res Result
}

// Validate reports the first option that makes no sense.
func (o Options) Validate() error {
	switch {
	case o.Users < 0 || o.Follows < 0 || o.Videos < 0 || o.Likes < 0 || o.Messages < 0 || o.BigAuthors < 0 || o.BigFollowers < 0 ||
		o.Comments < 0 || o.CommentLikes < 0 || o.Readers < 0 || o.ReaderFollows < 0 ||
		slices.ContainsFunc(o.AuthorFollowers, func(f int) bool { return f < 0 }):
		return errors.New("seed: sizes must not be negative")
	case o.Users == 0 && o.Follows+o.Videos+o.Likes+o.Messages > 0:
		return errors.New("seed: follows, videos, likes and messages need users")
	case o.Users < 2 && o.Follows+o.Messages > 0:
		return errors.New("seed: follows and messages need at least 2 users")
	case o.BigAuthors+len(o.AuthorFollowers) > o.Users:
		return fmt.Errorf("seed: --big-authors %d and %d --author-followers are more than --users %d", o.BigAuthors, len(o.AuthorFollowers), o.Users)
	case slices.ContainsFunc(o.AuthorFollowers, func(f int) bool { return f > o.Users-1 }):
		return fmt.Errorf("seed: --author-followers %v: an author can have at most %d followers among --users %d", o.AuthorFollowers, max(o.Users-1, 0), o.Users)
	case o.Readers > o.Users:
		return fmt.Errorf("seed: --readers %d is more than --users %d", o.Readers, o.Users)
	case o.Readers > 0 && o.ReaderFollows > o.Users-1:
		return fmt.Errorf("seed: --reader-follows %d: a user can follow at most %d of --users %d", o.ReaderFollows, max(o.Users-1, 0), o.Users)
	case o.Readers > 0 && o.ReaderFollows < o.BigAuthors:
		return fmt.Errorf("seed: --reader-follows %d is less than --big-authors %d, whom every reader follows", o.ReaderFollows, o.BigAuthors)
	case int64(o.Follows) > int64(o.Users)*int64(o.Users-1):
		return fmt.Errorf("seed: --follows %d is more than %d users can make", o.Follows, int64(o.Users)*int64(o.Users-1))
	case o.Likes > 0 && o.Videos == 0:
		return errors.New("seed: likes need videos")
	case int64(o.Likes) > int64(o.Users)*int64(o.Videos):
		return fmt.Errorf("seed: --likes %d is more than %d users can give %d videos", o.Likes, o.Users, o.Videos)
	case o.Comments > 0 && o.Videos == 0:
		return errors.New("seed: comments need videos")
	case o.CommentLikes > 0 && o.Comments == 0:
		return errors.New("seed: comment likes need comments")
	case int64(o.CommentLikes) > int64(o.Users)*int64(o.Comments)/2:
		// A comment holds one like per user, and held ones none: half of
		// every possible like leaves room to spare (should a video's share
		// still not fit, the run fails rather than write fewer).
		return fmt.Errorf("seed: --comment-likes %d is more than half of what %d users can give %d comments", o.CommentLikes, o.Users, o.Comments)
	case o.Months < 1:
		return errors.New("seed: --months must be at least 1")
	case o.Batch < 1:
		return errors.New("seed: the batch size must be at least 1")
	case o.Password == "":
		return errors.New("seed: the password must not be empty")
	case o.PullThreshold < 0:
		return errors.New("seed: the feed's pull threshold must not be negative")
	case o.InboxSize < 1:
		return errors.New("seed: the feed's inbox size must be at least 1")
	}
	big := int64(o.BigAuthors) * int64(min(o.BigFollowers, max(o.Users-1, 0)))
	if big > int64(o.Follows) {
		return fmt.Errorf("seed: --follows %d is less than --big-authors × --big-followers (%d)", o.Follows, big)
	}
	for _, f := range o.AuthorFollowers {
		big += int64(f)
	}
	if big > int64(o.Follows) {
		return fmt.Errorf("seed: --follows %d is less than the big authors' and --author-followers' followers (%d)", o.Follows, big)
	}
	return nil
}

// Run writes the dataset o describes. It refuses (ErrNotEmpty) when any store holds
// data. A failure leaves what earlier batches committed; seed again into an empty
// database.
func (s *Seeder) Run(ctx context.Context, o Options) (Result, error) {
	began := time.Now()
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	end := o.End
	if end.IsZero() {
		end = time.Now().Add(-time.Second)
	}
	end = end.Truncate(time.Second)
	start := end.Add(-time.Duration(o.Months) * month)
	if earliest := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); start.Add(-registrationSpan).Before(earliest) {
		return Result{}, fmt.Errorf("seed: %d months before %s reaches before %s, where ids begin",
			o.Months, end.Format(time.DateOnly), earliest.Format(time.DateOnly))
	}
	if err := s.checkEmpty(ctx); err != nil {
		return Result{}, err
	}
	r := &run{Seeder: s, o: o, startMs: start.UnixMilli(), endMs: end.UnixMilli()}
	r.res = Result{Password: o.Password, Start: start, End: end}
	if err := r.planFollows(); err != nil {
		return Result{}, err
	}
	if err := r.seedUsers(ctx); err != nil {
		return r.res, err
	}
	// The rest runs in lanes, each writing other stores: with SQLite those are
	// other files, which take writes side by side, and the CPU-bound SQLite of one
	// lane uses the core another leaves. Messages wait for the videos only so
	// that the two phases that take ids never draw from one second at once: the
	// ids stay a function of the options. The inboxes, the largest phase, need
	// the whole graph and every video: the graph is drawn in memory first, so
	// they start once the videos are in and run beside the follows, likes and
	// messages. The comments take ids too: they follow the likes, once the
	// messages are in.
	graphDone, videosDone, messagesDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	wait := func(ctx context.Context, done chan struct{}) error {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := r.planGraph(gctx); err != nil {
			return err
		}
		close(graphDone)
		if err := r.seedFollows(gctx); err != nil {
			return err
		}
		if err := wait(gctx, videosDone); err != nil {
			return err
		}
		if err := r.seedMessages(gctx); err != nil {
			return err
		}
		close(messagesDone)
		return nil
	})
	g.Go(func() error {
		if err := r.seedVideos(gctx); err != nil {
			return err
		}
		close(videosDone)
		if err := r.seedLikes(gctx); err != nil {
			return err
		}
		if err := wait(gctx, messagesDone); err != nil {
			return err
		}
		return r.seedComments(gctx)
	})
	g.Go(func() error {
		if err := wait(gctx, graphDone); err != nil {
			return err
		}
		if err := wait(gctx, videosDone); err != nil {
			return err
		}
		return r.seedInboxes(gctx)
	})
	if err := g.Wait(); err != nil {
		return r.res, err
	}
	r.res.Elapsed = time.Since(began)
	return r.res, nil
}

// checkEmpty returns ErrNotEmpty when any store holds data.
func (s *Seeder) checkEmpty(ctx context.Context) error {
	checks := []func(context.Context) (bool, error){
		s.stores.Users.Empty, s.stores.Relations.Empty, s.stores.Videos.Empty,
		s.stores.Favorites.Empty, s.stores.Messages.Empty, s.stores.Comments.Empty,
	}
	for _, empty := range checks {
		ok, err := empty(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotEmpty
		}
	}
	return nil
}

// planFollows fixes the graph's skeleton: the popularity order of users, the big
// authors (the most popular users) and the authors of AuthorFollowers (the least
// popular), and the width of the friend ring. Friends are the users next to each
// other in index order (up to ring on each side), so both ends of a chat know
// they are friends without a lookup; the ring takes up to 40% of the follows left
// after the big authors', and at least one neighbour when there are messages.
func (r *run) planFollows() error {
	n, o := r.o.Users, r.o
	rng := newRand(o.Seed, streamPermutation)
	r.perm = make([]int32, n)
	for i, p := range rng.Perm(n) {
		r.perm[i] = int32(p)
	}
	r.big = append(slices.Clone(r.perm[:o.BigAuthors]), r.perm[n-len(o.AuthorFollowers):]...)
	left := int64(o.Follows)
	for j := range r.big {
		f := min(o.BigFollowers, max(n-1, 0))
		if j >= o.BigAuthors {
			f = o.AuthorFollowers[j-o.BigAuthors]
		}
		r.bigF = append(r.bigF, f)
		left -= int64(f)
	}
	if n >= 3 {
		r.ring = int(min(int64(maxRingWidth), int64((n-1)/2), left*4/10/(2*int64(n))))
		if r.ring == 0 && o.Messages > 0 {
			if left < 2*int64(n) {
				return fmt.Errorf("seed: messages are between friends: raise --follows by %d so that every user has one", 2*int64(n)-left)
			}
			r.ring = 1
		}
	} else if o.Messages > 0 {
		return errors.New("seed: messages are between friends, which needs at least 3 users")
	}
	// An author's followers include its ring neighbours, who follow it anyway:
	// with fewer followers than those, it would get more than asked.
	for _, f := range r.bigF {
		if f < 2*r.ring && f < n-1 {
			return fmt.Errorf("seed: an author cannot have only %d followers: every user has %d friends who follow them", f, 2*r.ring)
		}
	}
	return nil
}

// seedUsers writes the accounts, registered at evenly spread moments of the 30 days
// before the window, so ids ascend with the user index. All share one hash.
func (r *run) seedUsers(ctx context.Context) error {
	n := r.o.Users
	ph := r.deps.Progress.Start("password", 1)
	hash, err := r.deps.Hasher.Hash(ctx, r.o.Password)
	ph.Add(1)
	ph.Finish()
	if err != nil {
		return err
	}
	p := r.deps.Progress.Start("users", int64(n))
	defer p.Finish()
	rng := newRand(r.o.Seed, streamUsers)
	regStart, span := r.startMs-registrationSpan.Milliseconds(), registrationSpan.Milliseconds()
	r.users = make([]int64, n)
	batch := newBatcher(r.o.Batch, "users", p, &r.res.Users, r.stores.Users.BulkCreate)
	for i := range n {
		at := regStart + stratified(rng, i, n, span)
		id, err := r.deps.IDs.NextAt(time.UnixMilli(at))
		if err != nil {
			return err
		}
		r.users[i] = id
		name := userName(i)
		if err := batch.add(ctx, &usersvc.Account{ID: id, Name: name, NameKey: usersvc.NameKey(name), PasswordHash: hash, CreatedAt: at}); err != nil {
			return err
		}
	}
	if err := batch.flush(ctx); err != nil {
		return err
	}
	for j, b := range r.big {
		if j < r.o.BigAuthors {
			r.res.BigAuthors = append(r.res.BigAuthors, r.users[b])
		} else {
			r.res.Authors = append(r.res.Authors, Author{ID: r.users[b], Name: userName(int(b)), Followers: r.bigF[j]})
		}
	}
	return nil
}

// userName is the account name of user index i.
func userName(i int) string { return fmt.Sprintf("seed_%06d", i+1) }

// stratified returns the i-th of n offsets spread over span: inside the i-th n-th
// of it, at a random place, so the offsets ascend but are not evenly spaced.
func stratified(rng *rand.Rand, i, n int, span int64) int64 {
	lo := span * int64(i) / int64(n)
	hi := span * int64(i+1) / int64(n)
	if hi <= lo {
		return lo
	}
	return lo + rng.Int64N(hi-lo)
}

// followsBig reports whether user i follows big author j (r.big[j]): each big
// author's followers are the bigF[j] users around it in index order (wrapping
// around), from `shift` before it on, so that they include its ring neighbours on
// both sides: the ring then adds no follower beyond bigF[j], which planFollows
// made at least twice the ring width, and a big author has exactly the followers
// asked for.
func (r *run) followsBig(i int32, j int) bool {
	n, b, f := int64(r.o.Users), int64(r.big[j]), int64(r.bigF[j])
	shift := min(int64(r.ring), f/2)
	return i != int32(b) && (int64(i)-b+shift+n)%n <= f
}

// planGraph draws the follow graph into memory, follower by follower, each
// follower's edges in followee order, so that seedFollows inserts them along the
// primary key and seedInboxes can start before they are written. A follower
// follows the big authors whose window covers it, its ring neighbours, and a
// share of the rest drawn by popularity (Zipf over the non-big users). Shares the
// graph cannot hold (a follower who would have to follow more users than exist)
// move to the next follower, so the total is as asked whenever the graph can hold
// it.
func (r *run) planGraph(ctx context.Context) error {
	n, o := r.o.Users, r.o
	r.followStart = make([]int64, n+1)
	r.followers = make([]int32, n)
	if o.Follows == 0 {
		return nil
	}
	p := r.deps.Progress.Start("graph", int64(o.Follows))
	defer p.Finish()
	isBig := make(map[int32]bool, len(r.big))
	for _, b := range r.big {
		isBig[b] = true
	}
	var bigTotal int64
	for _, f := range r.bigF {
		bigTotal += int64(f)
	}
	ringTotal := 2 * int64(r.ring) * int64(n)
	set := make(map[int32]bool)
	// must puts into set the users follower i follows whatever its share: the
	// big authors whose window covers it and its ring neighbours (counted as
	// bigTotal and ringTotal count them), and for a reader every big author.
	// It returns how many of them those totals count.
	must := func(i int32) int64 {
		clear(set)
		var counted int64
		for j, b := range r.big {
			if r.followsBig(i, j) {
				set[b] = true
				counted++
			}
		}
		for d := 1; d <= r.ring; d++ {
			set[(i+int32(d))%int32(n)] = true
			set[(i-int32(d)+int32(n))%int32(n)] = true
			counted += 2
		}
		if int(i) < o.Readers {
			for _, b := range r.big[:o.BigAuthors] {
				if b != i {
					set[b] = true
				}
			}
		}
		return counted
	}
	// A reader follows exactly ReaderFollows users (or its must set, if
	// larger) and takes no share: what that adds to the totals above is set
	// aside before the shares are drawn.
	readerFollows := func() int64 { return max(int64(o.ReaderFollows), int64(len(set))) }
	var readerTotal int64
	for i := range int32(min(o.Readers, n)) {
		counted := must(i)
		readerTotal += readerFollows() - counted
	}
	sh := newShares(o.Seed, streamFollowShares, n, max(int64(o.Follows)-bigTotal-ringTotal-readerTotal, 0))
	rng := newRand(o.Seed, streamFollows)
	pick := newPicker(rng, r.perm[o.BigAuthors:], n)
	span := r.endMs - r.startMs
	r.followees = make([]int32, 0, o.Follows)
	r.followAt = make([]int64, 0, o.Follows)

	var carry int64
	for i := range int32(n) {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		share := carry + sh.next()
		want := share + must(i)
		if int(i) < o.Readers {
			want = readerFollows()
		}
		want = min(want, int64(o.Follows)-int64(len(r.followees)))
		pick.fill(set, int(min(want, int64(n-1))), func(u int32) bool { return u != i && !isBig[u] })
		carry = max(want-int64(len(set)), 0)
		if int(i) < o.Readers {
			carry += share // a reader's share moves on whole
		}
		from := len(r.followees)
		for u := range set {
			r.followees = append(r.followees, u)
		}
		slices.Sort(r.followees[from:])
		for _, u := range r.followees[from:] {
			r.followAt = append(r.followAt, r.startMs+rng.Int64N(span))
			r.followers[u]++
		}
		r.followStart[i+1] = int64(len(r.followees))
		p.Add(int64(len(set)))
	}
	r.res.Friendships = int64(r.ring) * int64(n)
	return nil
}

// seedFollows writes the graph planGraph drew.
func (r *run) seedFollows(ctx context.Context) error {
	if len(r.followees) == 0 {
		return nil
	}
	p := r.deps.Progress.Start("follows", int64(len(r.followees)))
	defer p.Finish()
	batch := newBatcher(r.o.Batch, "follows", p, &r.res.Follows, r.stores.Relations.BulkFollow)
	for i := range r.o.Users {
		for e := r.followStart[i]; e < r.followStart[i+1]; e++ {
			if err := batch.add(ctx, relationsvc.Change{FollowerID: r.users[i], FolloweeID: r.users[r.followees[e]], At: r.followAt[e]}); err != nil {
				return err
			}
		}
	}
	return batch.flush(ctx)
}

// videoTitles are mixed into seeded titles, so titles are not all alike.
var videoTitles = [...]string{"Morning run", "Street food tour", "Cat vs. laser", "Guitar cover", "Sunset timelapse",
	"Dance challenge", "Cooking noodles", "City at night", "Puppy's first snow", "Skateboard trick"}

// seedVideos writes the videos in time order, spread evenly over the window, so ids
// ascend. Authors are drawn by popularity (the big authors most often); each big
// author also publishes one of the newest videos, so their pulled feeds are never
// empty or stale.
func (r *run) seedVideos(ctx context.Context) error {
	v, o := r.o.Videos, r.o
	if v == 0 {
		return nil
	}
	ph := r.deps.Progress.Start("media", 1)
	media, err := MakeMedia(ctx, r.deps.FFmpeg, r.deps.TempDir, r.stores.Blobs)
	ph.Add(1)
	ph.Finish()
	if err != nil {
		return err
	}
	r.res.Media = media
	p := r.deps.Progress.Start("videos", int64(v))
	defer p.Finish()
	rng := newRand(o.Seed, streamVideos)
	var zipf *rand.Zipf
	if len(r.perm) > 1 {
		zipf = rand.NewZipf(rng, zipfS, 1, uint64(len(r.perm)-1))
	}
	r.videos, r.videoOwner, r.videoTime = make([]int64, v), make([]int32, v), make([]int64, v)
	batch := newBatcher(o.Batch, "videos", p, &r.res.Videos, r.stores.Videos.BulkCreate)
	for k := range v {
		at := r.startMs + stratified(rng, k, v, r.endMs-r.startMs)
		var owner int32
		switch {
		case k >= v-len(r.big):
			owner = r.big[v-1-k]
		case zipf != nil:
			owner = r.perm[zipf.Uint64()]
		default:
			owner = r.perm[0]
		}
		id, err := r.deps.IDs.NextAt(time.UnixMilli(at))
		if err != nil {
			return err
		}
		r.videos[k], r.videoOwner[k], r.videoTime[k] = id, owner, at
		if err := batch.add(ctx, &videosvc.Video{
			ID: id, AuthorID: r.users[owner], PlayKey: media.PlayKey, CoverKey: media.CoverKey, CreateTime: at,
			Title: fmt.Sprintf("%s #%d", videoTitles[rng.IntN(len(videoTitles))], k+1),
		}); err != nil {
			return err
		}
	}
	if err := batch.flush(ctx); err != nil {
		return err
	}
	return nil
}

// seedLikes writes the likes liker by liker, each liker's in video order, so inserts
// run along the primary key. Videos are drawn by popularity (Zipf over a random
// order of the videos), so a few videos collect most likes; a like comes after its
// video was published.
func (r *run) seedLikes(ctx context.Context) error {
	n, o := r.o.Users, r.o
	if o.Likes == 0 {
		return nil
	}
	p := r.deps.Progress.Start("likes", int64(o.Likes))
	defer p.Finish()
	popularity := make([]int32, len(r.videos))
	for i, k := range newRand(o.Seed, streamVideoPopularity).Perm(len(r.videos)) {
		popularity[i] = int32(k)
	}
	sh := newShares(o.Seed, streamLikeShares, n, int64(o.Likes))
	rng := newRand(o.Seed, streamLikes)
	pick := newPicker(rng, popularity, len(r.videos))
	anyVideo := func(int32) bool { return true }

	batch := newBatcher(o.Batch, "likes", p, &r.res.Likes, r.stores.Favorites.BulkLike)
	set := make(map[int32]bool)
	var carry int64
	for i := range n {
		clear(set)
		want := carry + sh.next()
		pick.fill(set, int(min(want, int64(len(r.videos)))), anyVideo)
		carry = want - int64(len(set))
		liked := make([]int32, 0, len(set))
		for k := range set {
			liked = append(liked, k)
		}
		slices.Sort(liked)
		for _, k := range liked {
			at := r.videoTime[k] + rng.Int64N(max(r.endMs-r.videoTime[k], 1))
			if err := batch.add(ctx, favoritesvc.Like{UserID: r.users[i], VideoID: r.videos[k], AuthorID: r.users[r.videoOwner[k]], CreatedAt: at}); err != nil {
				return err
			}
		}
	}
	if err := batch.flush(ctx); err != nil {
		return err
	}
	return nil
}

// seedInboxes fills the feed inboxes as the live fan-out would have left them:
// each user's inbox holds the InboxSize newest videos of the push-mode authors
// they follow (at most PullThreshold followers, the same test as FanOut), and
// nothing of pull-mode authors, whose videos the feed reads at read time. Fan-out
// replayed video by video would cost a read, an insert and a trim per entry;
// computing each inbox whole from the graph in memory writes every row once, in
// primary key order. The result differs from a live history in one way: a live
// inbox lacks what an author published before the follow, beyond the backfill;
// the seeded follows are not ordered against the videos, so every followee's
// newest videos count.
func (r *run) seedInboxes(ctx context.Context) error {
	n, keep := r.o.Users, r.o.InboxSize
	if len(r.videos) == 0 || len(r.followees) == 0 {
		return nil
	}
	began := time.Now()
	// byAuthor lists each author's videos: videoIdx[videoStart[a]:videoStart[a+1]]
	// ascending, which is (create_time, id) order too.
	videoStart := make([]int32, n+1)
	for _, a := range r.videoOwner {
		videoStart[a+1]++
	}
	for a := range n {
		videoStart[a+1] += videoStart[a]
	}
	videoIdx := make([]int32, len(r.videos))
	next := slices.Clone(videoStart[:n])
	for k, a := range r.videoOwner {
		videoIdx[next[a]] = int32(k)
		next[a]++
	}
	push := func(a int32) bool { return int64(r.followers[a]) <= int64(r.o.PullThreshold) }
	// One pass for the total, so the progress bar knows its end.
	var total int64
	for i := range n {
		var m int64
		for _, a := range r.followees[r.followStart[i]:r.followStart[i+1]] {
			if push(a) {
				m += int64(videoStart[a+1] - videoStart[a])
			}
		}
		total += min(m, int64(keep))
	}
	p := r.deps.Progress.Start("inboxes", total)
	defer p.Finish()
	batch := newBatcher(r.o.Batch, "inboxes", p, &r.res.InboxEntries, r.stores.Videos.BulkFillInboxes)
	var m newest
	for i := range n {
		m.reset()
		for _, a := range r.followees[r.followStart[i]:r.followStart[i+1]] {
			if push(a) && videoStart[a+1] > videoStart[a] {
				m.add(videoIdx[videoStart[a]:videoStart[a+1]])
			}
		}
		picked := m.take(keep)
		if len(picked) > 0 {
			r.res.InboxUsers++
		}
		for _, k := range picked {
			if err := batch.add(ctx, videosvc.InboxEntry{UserID: r.users[i], VideoID: r.videos[k], CreateTime: r.videoTime[k]}); err != nil {
				return err
			}
		}
	}
	if err := batch.flush(ctx); err != nil {
		return err
	}
	r.res.InboxElapsed = time.Since(began)
	return nil
}

// newest picks the largest values of the union of ascending lists (the newest
// videos of a user's followees), merging from their ends with a max-heap of the
// lists' last unpicked values: picking k of them costs O(k log lists), however
// long the lists. It keeps its buffers from one user to the next.
type newest struct {
	heap [][]int32 // each a list's unpicked prefix, ordered by its last value
	out  []int32
}

func (m *newest) reset() { m.heap, m.out = m.heap[:0], m.out[:0] }

// add adds a non-empty ascending list.
func (m *newest) add(list []int32) {
	m.heap = append(m.heap, list)
	for c := len(m.heap) - 1; c > 0; {
		parent := (c - 1) / 2
		if m.last(parent) >= m.last(c) {
			break
		}
		m.heap[parent], m.heap[c] = m.heap[c], m.heap[parent]
		c = parent
	}
}

func (m *newest) last(h int) int32 { l := m.heap[h]; return l[len(l)-1] }

// take returns the k largest values of the lists added since reset, ascending.
// The lists must be disjoint (a video has one author).
func (m *newest) take(k int) []int32 {
	for len(m.out) < k && len(m.heap) > 0 {
		top := m.heap[0]
		m.out = append(m.out, top[len(top)-1])
		if top = top[:len(top)-1]; len(top) > 0 {
			m.heap[0] = top
		} else {
			end := len(m.heap) - 1
			m.heap[0] = m.heap[end]
			m.heap = m.heap[:end]
		}
		// Sift the root down.
		for c := 0; ; {
			big, l, r := c, 2*c+1, 2*c+2
			if l < len(m.heap) && m.last(l) > m.last(big) {
				big = l
			}
			if r < len(m.heap) && m.last(r) > m.last(big) {
				big = r
			}
			if big == c {
				break
			}
			m.heap[c], m.heap[big] = m.heap[big], m.heap[c]
			c = big
		}
	}
	slices.Reverse(m.out)
	return m.out
}

// chatLines are the seeded messages' texts.
var chatLines = [...]string{"hi!", "did you see my new video?", "haha 😂", "where are you?", "see you tomorrow",
	"that dance was amazing", "ok", "好的", "send me the link", "good night 🌙"}

// seedMessages writes chats between ring friends (user i and i+d, d up to the ring
// width), conversation by conversation: a skewed share of the messages each, at
// random times of the window, strictly increasing within the conversation as the
// message store requires, sent by either side.
func (r *run) seedMessages(ctx context.Context) error {
	n, o := r.o.Users, r.o
	if o.Messages == 0 {
		return nil
	}
	p := r.deps.Progress.Start("messages", int64(o.Messages))
	defer p.Finish()
	pairs := n * r.ring
	sh := newShares(o.Seed, streamMessageShares, pairs, int64(o.Messages))
	rng := newRand(o.Seed, streamMessages)
	batch := newBatcher(o.Batch, "messages", p, &r.res.Messages, r.stores.Messages.BulkInsert)
	var times []int64
	for pair := range pairs {
		c := sh.next()
		if c == 0 {
			continue
		}
		a, b := pair/r.ring, (pair/r.ring+pair%r.ring+1)%n
		// c distinct milliseconds: sorted draws, each pushed past its predecessor;
		// drawing below end-c keeps the last one inside the window.
		span := max(r.endMs-r.startMs-c, 1)
		times = times[:0]
		for range c {
			times = append(times, r.startMs+rng.Int64N(span))
		}
		slices.Sort(times)
		for k := 1; k < len(times); k++ {
			times[k] = max(times[k], times[k-1]+1)
		}
		for _, at := range times {
			from, to := a, b
			if rng.IntN(2) == 0 {
				from, to = b, a
			}
			id, err := r.deps.IDs.NextAt(time.UnixMilli(at))
			if err != nil {
				return err
			}
			if err := batch.add(ctx, &messagesvc.Message{ID: id, FromUserID: r.users[from], ToUserID: r.users[to],
				Content: chatLines[rng.IntN(len(chatLines))], CreateTime: at}); err != nil {
				return err
			}
		}
	}
	if err := batch.flush(ctx); err != nil {
		return err
	}
	return nil
}

// batcher collects rows and writes them through a store's bulk method in batches
// of a fixed size, counting what it wrote into a phase's progress and a result.
type batcher[T any] struct {
	rows    []T
	what    string
	p       *progress.Phase
	written *int64
	write   func(context.Context, []T) error
}

func newBatcher[T any](size int, what string, p *progress.Phase, written *int64, write func(context.Context, []T) error) *batcher[T] {
	return &batcher[T]{rows: make([]T, 0, size), what: what, p: p, written: written, write: write}
}

// add queues row, writing the batch once it is full.
func (b *batcher[T]) add(ctx context.Context, row T) error {
	b.rows = append(b.rows, row)
	if len(b.rows) == cap(b.rows) {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the queued rows, if any, in one call.
func (b *batcher[T]) flush(ctx context.Context) error {
	if len(b.rows) == 0 {
		return nil
	}
	if err := b.write(ctx, b.rows); err != nil {
		return fmt.Errorf("seed: %s: %w", b.what, err)
	}
	b.p.Add(int64(len(b.rows)))
	*b.written += int64(len(b.rows))
	b.rows = b.rows[:0]
	return nil
}
