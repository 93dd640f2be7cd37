package gateway

// Comment pages: the first page of a hot video's comment list, kept a moment.
//
// The comment role keeps the comments of a hot video's first page (its hot-key
// cache), but the answer also needs their authors, each joined from four roles,
// and that join costs more than ten times the serving. So the gateway keeps, per
// video, order, page size and base URL, for at most commentPageTTL, what every
// reader of that first page sees alike: the encoded answer of an anonymous
// reader, and the authors with their counts. An anonymous reader gets the bytes;
// a logged-in reader gets the comment role's answer for them (is_liked, and their
// own held or very new comments), the shared authors, and their own is_follow,
// asked in one batched call, with the follow counts that come with it.
//
// Only videos that this gateway's hot-key detector (package hotkey, as in the
// comment role) finds hot are kept: a page read a few times is not worth it. A
// write this gateway answers that a kept page shows drops it at once (a comment
// published, deleted, liked or pinned, a review in the console), so a client
// reads its own writes; writes answered elsewhere show within commentPageTTL, as
// do likes of videos and follows on the anonymous page. A page assembled while a
// role was down is not kept. Concurrent misses of one page assemble it once.

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

const (
	commentPageTTL = time.Second
	// commentPageEntries bounds the pages kept: videos × orders × sizes × Hosts.
	commentPageEntries = 256
	// commentShownMax is the most comment ids remembered for the kept pages
	// before expired ones are pruned.
	commentShownMax = 64 << 10
)

// commentPages are one Gateway's kept comment pages.
type commentPages struct {
	hot     *hotkey.Detector
	pages   *hotkey.Cache[*keptCommentPage] // tagged by video id
	flights singleflight.Group
	now     func() time.Time

	// allGen and hotGen are part of every key (hotGen of hot-order keys only):
	// raising one makes those pages unreachable at once, pages being assembled
	// included, without knowing their videos.
	allGen, hotGen atomic.Uint64

	// shown maps the comments (and previewed replies) on kept pages to their
	// video and the end of their page's lifetime: a like or a review names only
	// the comment.
	mu    sync.Mutex
	shown map[int64]shownComment
}

type shownComment struct {
	video int64
	until time.Time
}

// keptCommentPage is a kept first page.
type keptCommentPage struct {
	body []byte // the anonymous reader's answer, encoded
	// authors are the page's comment and reply authors as everyone sees them:
	// counts, and is_follow false. An id without an account maps to nil.
	authors   map[int64]*User
	authorIDs []int64
	shown     []int64 // the ids of the page's comments and previewed replies
	// reader places a logged-in reader's fields in body (commentpatch.go);
	// nil when they could not be placed.
	reader *readerTemplate
}

// commentPageKey names a kept page.
type commentPageKey struct {
	video int64
	hot   bool  // sort=hot; otherwise time order
	count int32 // page size
	root  string
}

func newCommentPages(o hotkey.DetectorOptions, now func() time.Time) *commentPages {
	if now == nil {
		now = time.Now
	}
	if o.Now == nil {
		o.Now = now
	}
	if o.MaxKeysPerBucket == 0 {
		o.MaxKeysPerBucket = 10_000 // as the comment role's detector
	}
	return &commentPages{
		hot:   hotkey.NewDetector(o),
		pages: hotkey.NewCache[*keptCommentPage](commentPageEntries, commentPageTTL, now),
		now:   now,
		shown: map[int64]shownComment{},
	}
}

// collectors export the detector and the kept pages' hits and misses, as
// name="gateway_comment_pages".
func (p *commentPages) collectors() []prometheus.Collector {
	return append(p.hot.Collectors("gateway_comment_pages"), p.pages.Collectors("gateway_comment_pages")...)
}

// hotVideo counts a read of video's first page and reports whether the video is
// hot.
func (p *commentPages) hotVideo(video int64) bool {
	tag := strconv.FormatInt(video, 10)
	p.hot.Touch(tag)
	return p.hot.IsHot(tag)
}

// key is k's cache key under the current generations.
func (p *commentPages) key(k commentPageKey) string {
	b := make([]byte, 0, 64+len(k.root))
	b = strconv.AppendInt(b, k.video, 10)
	b = append(b, ':')
	if k.hot {
		b = append(b, 'h')
		b = strconv.AppendUint(b, p.hotGen.Load(), 10)
	} else {
		b = append(b, 't')
	}
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(k.count), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, p.allGen.Load(), 10)
	b = append(b, ':')
	b = append(b, k.root...)
	return string(b)
}

// load returns the page k: the kept one, or one assembled by build, at most one
// build per page and generation at a time. build reports whether its page may be
// kept.
func (p *commentPages) load(ctx context.Context, k commentPageKey, build func(context.Context) (*keptCommentPage, bool, error)) (*keptCommentPage, error) {
	key := p.key(k)
	if pg, ok := p.pages.Get(key); ok {
		return pg, nil
	}
	tag := strconv.FormatInt(k.video, 10)
	gen := p.pages.Gen(tag)
	// A reader who comes after a drop never joins an assembly begun before it.
	v, err, _ := p.flights.Do(key+"@"+strconv.FormatUint(gen, 10), func() (any, error) {
		if pg, ok := p.pages.Get(key); ok {
			return pg, nil
		}
		pg, keep, err := build(ctx)
		if err != nil {
			return nil, err
		}
		if keep && p.pages.SetIfGen(tag, key, gen, pg) {
			p.remember(k.video, pg.shown)
		}
		return pg, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*keptCommentPage), nil
}

// remember notes that ids are shown on a kept page of video.
func (p *commentPages) remember(video int64, ids []int64) {
	now := p.now()
	until := now.Add(commentPageTTL)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.shown)+len(ids) > commentShownMax {
		for id, s := range p.shown {
			if !now.Before(s.until) {
				delete(p.shown, id)
			}
		}
		if len(p.shown)+len(ids) > commentShownMax {
			// Forgetting only makes later drops coarser (dropComment).
			clear(p.shown)
		}
	}
	for _, id := range ids {
		p.shown[id] = shownComment{video: video, until: until}
	}
}

// shownOn returns the video of a kept page that shows comment id, or 0.
func (p *commentPages) shownOn(id int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.shown[id]; ok && p.now().Before(s.until) {
		return s.video
	}
	return 0
}

// dropVideo drops video's kept pages, including pages being assembled now.
func (p *commentPages) dropVideo(video int64) {
	p.pages.InvalidateTag(strconv.FormatInt(video, 10))
}

// dropAll drops every kept page.
func (p *commentPages) dropAll() {
	p.allGen.Add(1)
}

// dropComment drops the pages that a change of comment id (a delete or a
// review) may show: its video's when that is known (video, when not 0, is the
// one the client named), every page otherwise, since a reply on no page still
// counts in its thread's reply_count.
func (p *commentPages) dropComment(id, video int64) {
	shownOn := p.shownOn(id)
	if shownOn != 0 {
		p.dropVideo(shownOn)
	}
	if video != 0 && video != shownOn {
		p.dropVideo(video)
	}
	if video == 0 && shownOn == 0 {
		p.dropAll()
	}
}

// dropLiked drops the pages that a like (or its withdrawal) of comment id
// changes: its video's when a kept page shows it; otherwise its like count is on
// no kept page, but its heat may lift it onto a first page in hot order, so
// every hot-order page goes.
func (p *commentPages) dropLiked(id int64) {
	if video := p.shownOn(id); video != 0 {
		p.dropVideo(video)
		return
	}
	p.hotGen.Add(1)
}

// viewerAuthors returns the authors of cs (comments and their previewed
// replies) as viewer sees them: the page's shared authors with the counts and
// is_follow of stats (nil: the relation role did not answer; the kept counts
// stand and nobody is followed). An author without an account maps to nil. known
// is false when an author is not on the kept page.
func (pg *keptCommentPage) viewerAuthors(cs []*comment.Comment, viewer int64, stats map[int64]*relation.UserStats) (users map[int64]*User, known bool) {
	users = make(map[int64]*User, len(pg.authors))
	// One block holds the viewer's copies; each author is added once and only
	// if on the page, so it never grows past its capacity and the pointers
	// into it stay put.
	block := make([]User, 0, len(pg.authors))
	add := func(id int64) bool {
		if _, done := users[id]; done {
			return true
		}
		shared, ok := pg.authors[id]
		if !ok {
			return false
		}
		if shared == nil {
			users[id] = nil // no account: a minimal author, as everyone sees it
			return true
		}
		block = append(block, *shared)
		u := &block[len(block)-1]
		switch st := stats[id]; {
		case stats == nil:
		case st == nil:
			u.FollowCount, u.FollowerCount = 0, 0
		default:
			u.FollowCount, u.FollowerCount, u.IsFollow = st.FollowCount, st.FollowerCount, st.IsFollow && viewer != id
		}
		users[id] = u
		return true
	}
	for _, x := range cs {
		if !add(x.GetUserId()) {
			return nil, false
		}
		for _, rep := range x.GetReplies() {
			if !add(rep.GetUserId()) {
				return nil, false
			}
		}
	}
	return users, true
}
