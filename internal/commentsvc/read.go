package commentsvc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/cursor"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// The read path is seed 004's cache-aside design:
//
//   - comment_subject_cache (cs:<video>) and comment_content_cache (cm:<id>, the
//     index row with its text and reply preview) in the shared byte cache;
//   - comment_index_cache: a sorted set of ids per video and order (ci:<video>:t,
//     ci:<video>:h) and per thread (cr:<root>). A set holds a prefix of its order,
//     read ahead rebuildAhead ids at a time, and ends with a marker (id 0) at the
//     position up to which it is complete; ±Inf marks a set that holds the whole
//     list. Writers only add to a set that exists, atomically, so a set never
//     pretends to hold a list it has not loaded;
//   - a miss answers the requested page from the database and queues a rebuild on
//     the video's write partition, so a rebuild never interleaves with the video's
//     writes. singleflight collapses concurrent misses in a process, and a
//     short-lived flag (crb:<set>) drops repeated rebuild requests;
//   - hot keys: each process counts first-page reads per video in a sliding window
//     and keeps the top videos' first pages in a local cache with a short TTL,
//     which every change to the video drops at once in every process.
//
// The caches hold only what every viewer sees. The viewer's own part — is_liked,
// and their held or very recent comments — is merged afterwards, from the store
// or from what is kept per viewer under a generation their writes renew
// (viewer.go).
const (
	rowTTL       = 5 * time.Minute
	subjectTTL   = 5 * time.Minute
	timeSetTTL   = 10 * time.Minute
	hotSetTTL    = 2 * time.Minute // hot scores drift with likes; rebuild often
	rebuildFlag  = 2 * time.Second
	rebuildAhead = 300 // ten default pages per rebuild
	hotPageTTL   = time.Second
	// ownRecent is how long a viewer's own new comments are merged from the
	// store, in case a cache in another process has not caught up yet.
	ownRecent = 10 * time.Second
	// redelete is when a cached row is dropped a second time after a change,
	// in case a reader put back a copy it read before the change committed.
	redelete = time.Second
)

func subjectKey(videoID int64) string { return "cs:" + strconv.FormatInt(videoID, 10) }
func rowKey(id int64) string          { return "cm:" + strconv.FormatInt(id, 10) }

func setKey(videoID, rootID int64, o Order) string {
	switch o {
	case ByHot:
		return "ci:" + strconv.FormatInt(videoID, 10) + ":h"
	case ByThread:
		return "cr:" + strconv.FormatInt(rootID, 10)
	default:
		return "ci:" + strconv.FormatInt(videoID, 10) + ":t"
	}
}

func setTTL(o Order) time.Duration {
	if o == ByHot {
		return hotSetTTL
	}
	return timeSetTTL
}

// desc reports whether o lists the highest score first.
func (o Order) desc() bool { return o != ByThread }

// subject returns a video's subject through its cache.
func (s *Service) subject(ctx context.Context, videoID int64) (Subject, bool, error) {
	key := subjectKey(videoID)
	if raw, ok, err := s.kv.Get(ctx, key); err == nil && ok {
		var sub Subject
		if json.Unmarshal(raw, &sub) == nil {
			return sub, sub.OwnerID != 0, nil
		}
	}
	// Concurrent misses in this process share one store read.
	v, err, _ := s.flights.Do(key, func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		sub, ok, err := s.store.Subject(ctx, videoID)
		if err != nil || !ok {
			return storedSubject{sub, ok}, err
		}
		if raw, err := json.Marshal(sub); err == nil {
			_ = s.kv.Set(ctx, key, raw, subjectTTL)
		}
		return storedSubject{sub, ok}, nil
	})
	if err != nil {
		return Subject{}, false, err
	}
	st := v.(storedSubject)
	return st.sub, st.ok, nil
}

// storedSubject is a subject as the store answered it, shared by the readers of
// one load.
type storedSubject struct {
	sub Subject
	ok  bool
}

// rows returns comments by id through the row cache; unknown ids are left out.
func (s *Service) rows(ctx context.Context, ids []int64) (map[int64]Row, error) {
	out := make(map[int64]Row, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = rowKey(id)
	}
	cached, err := s.kv.GetMany(ctx, keys)
	if err != nil {
		s.log.WarnContext(ctx, "comment cache unavailable; reading the store", "err", err)
		cached = nil
	}
	var missing []int64
	for i, id := range ids {
		var r Row
		if raw, ok := cached[keys[i]]; ok && json.Unmarshal(raw, &r) == nil {
			out[id] = r
			continue
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := s.store.Rows(ctx, missing)
	if err != nil {
		return nil, err
	}
	fill := make(map[string][]byte, len(loaded))
	for id, r := range loaded {
		out[id] = r
		if raw, err := json.Marshal(r); err == nil {
			fill[rowKey(id)] = raw
		}
	}
	if err := s.kv.SetMany(ctx, fill, rowTTL); err != nil {
		s.log.WarnContext(ctx, "could not fill the comment cache", "err", err)
	}
	return out, nil
}

// sharedPage is one page of a listing as every viewer sees it.
type sharedPage struct {
	Items   []Row         // the pinned comment first, when shown
	Replies map[int64]Row // preview replies by id
	More    bool
	Next    *cache.Member // the position after the last item, when More
	Pinned  int64         // the pinned comment shown first on this page, 0 for none
	Subject Subject       // the video's subject the page was loaded with

	cursor string // Next as a client's cursor
	// objects returns the page's comments (with their previews) as a viewer
	// who likes none of them gets them, built on first use. They are shared by
	// every answer from the page and never changed.
	objects func() []*comment.Comment
}

// List returns a page of a video's top-level comments (by time or heat), or of
// one thread's replies (root_id), with the viewer's own flags.
func (s *Service) List(ctx context.Context, req *comment.ListRequest) (*comment.ListResponse, error) {
	viewer, videoID, rootID := req.GetViewerId(), req.GetVideoId(), req.GetRootId()
	if viewer != 0 && !idgen.Valid(viewer) {
		return nil, errs.InvalidArgument("invalid viewer id %d", viewer)
	}
	if !idgen.Valid(videoID) {
		return nil, errs.InvalidArgument("invalid video id %d", videoID)
	}
	if rootID != 0 && !idgen.Valid(rootID) {
		return nil, errs.InvalidArgument("invalid root id %d", rootID)
	}
	order := ByTime
	switch {
	case rootID != 0:
		order = ByThread
	case req.GetSort() == "hot":
		order = ByHot
	case req.GetSort() == "" || req.GetSort() == "time":
	default:
		return nil, errs.InvalidArgument("sort must be time or hot")
	}
	page := req.GetPage()
	if page == nil {
		page = &base.Page{}
	}
	n, err := cursor.Size(page, DefaultPageSize, MaxPageSize)
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor(page.GetCursor(), order)
	if err != nil {
		return nil, err
	}

	// A hot video's first page is kept with the subject it was loaded with:
	// both change together, and every change drops the page.
	hotKey := s.hotKey(videoID, rootID, order, after, n)
	if hotKey != "" {
		if p, ok := s.hotPages.Get(hotKey); ok {
			return s.personalize(ctx, viewer, p.Subject, 0, order, nil, p)
		}
	}
	// Taken before the subject is read: a change after this keeps no page.
	gen := s.hotPages.Gen(strconv.FormatInt(videoID, 10))
	sub, ok, err := s.subject(ctx, videoID)
	if err != nil {
		return nil, err
	}
	if !ok {
		if _, err := s.video(ctx, videoID); err != nil {
			return nil, err
		}
		if rootID != 0 {
			return nil, errNotFound
		}
		return &comment.ListResponse{Comments: []*comment.Comment{}, Page: &base.PageInfo{}}, nil
	}
	if rootID != 0 {
		roots, err := s.rows(ctx, []int64{rootID})
		if err != nil {
			return nil, err
		}
		r, ok := roots[rootID]
		visible := r.State == comment.CommentState_Visible || (r.State == comment.CommentState_Pending && r.UserID == viewer)
		if !ok || r.VideoID != videoID || r.RootID != 0 || !visible {
			return nil, errNotFound
		}
	}

	shared, err := s.sharedPage(ctx, sub, rootID, order, after, n, hotKey, gen)
	if err != nil {
		return nil, err
	}
	return s.personalize(ctx, viewer, sub, rootID, order, after, shared)
}

// hotKey counts a read of a video's first top-level page and returns the page's
// key in the local hot-page cache when the video is hot; "" otherwise.
func (s *Service) hotKey(videoID, rootID int64, order Order, after *cache.Member, n int) string {
	if after != nil || rootID != 0 || s.o.NoHotPages {
		return ""
	}
	tag := strconv.FormatInt(videoID, 10)
	s.detector.Touch(tag)
	if !s.detector.IsHot(tag) {
		return ""
	}
	return hotPageKey(videoID, order, n)
}

// sharedPage returns the page every viewer sees, from the local hot-page cache
// under hotKey (a hot video's first page), otherwise through the index caches;
// a page loaded is kept only if the video's hot pages are still at generation
// gen. Concurrent identical requests in this process share one load.
func (s *Service) sharedPage(ctx context.Context, sub Subject, rootID int64, order Order, after *cache.Member, n int, hotKey string,
	gen uint64) (*sharedPage, error) {
	tag := strconv.FormatInt(sub.VideoID, 10)
	if hotKey != "" {
		if p, ok := s.hotPages.Get(hotKey); ok {
			return p, nil
		}
	}
	flight := fmt.Sprintf("%d:%d:%d:%d", sub.VideoID, rootID, order, n)
	if after != nil {
		flight += ":" + strconv.FormatFloat(after.Score, 'g', -1, 64) + ":" + strconv.FormatInt(after.ID, 10)
	}
	if s.beforeLoad != nil {
		s.beforeLoad()
	}
	v, err, _ := s.flights.Do(flight, func() (any, error) {
		return s.loadPage(context.WithoutCancel(ctx), sub, rootID, order, after, n)
	})
	if err != nil {
		return nil, err
	}
	p := v.(*sharedPage)
	if hotKey != "" {
		s.hotPages.SetIfGen(tag, hotKey, gen, p)
	}
	return p, nil
}

// hotPageKey names a first page in the local hot-page cache.
func hotPageKey(videoID int64, o Order, n int) string {
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, videoID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(o), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n), 10)
	return string(b)
}

// loadPage assembles a shared page: the pinned comment on a first top-level page,
// then n (or n-1) visible comments after `after`, with reply previews.
func (s *Service) loadPage(ctx context.Context, sub Subject, rootID int64, order Order, after *cache.Member, n int) (*sharedPage, error) {
	p := &sharedPage{Items: []Row{}, Replies: map[int64]Row{}, Subject: sub}
	pinned := int64(0)
	if rootID == 0 {
		pinned = sub.PinnedID
	}
	want := n
	if pinned != 0 && after == nil {
		rows, err := s.rows(ctx, []int64{pinned})
		if err != nil {
			return nil, err
		}
		if r, ok := rows[pinned]; ok && r.State == comment.CommentState_Visible && r.VideoID == sub.VideoID {
			p.Items = append(p.Items, r)
			p.Pinned = pinned
			want--
		}
	}
	// One more than wanted tells whether a page follows; one more again makes
	// up for the pinned comment, which is skipped wherever it falls.
	ids, err := s.pageIDs(ctx, PageQuery{VideoID: sub.VideoID, RootID: rootID, Order: order, After: after, N: want + 2})
	if err != nil {
		return nil, err
	}
	ids = slices.DeleteFunc(ids, func(m cache.Member) bool { return m.ID == pinned })
	if len(ids) > want {
		p.More = true
		ids = ids[:want]
	}
	switch {
	case len(ids) > 0:
		last := ids[len(ids)-1]
		p.Next = &last
	case p.More:
		// The pinned comment filled the first page by itself: the next page
		// starts before every other comment.
		p.Next = &cache.Member{Score: math.MaxFloat64, ID: 1<<53 - 1}
	}
	want64 := make([]int64, len(ids))
	for i, m := range ids {
		want64[i] = m.ID
	}
	rows, err := s.rows(ctx, want64)
	if err != nil {
		return nil, err
	}
	var preview []int64
	for _, id := range want64 {
		r, ok := rows[id]
		// An index cache may still hold a comment deleted a moment ago.
		if !ok || r.State != comment.CommentState_Visible {
			continue
		}
		p.Items = append(p.Items, r)
	}
	for _, r := range p.Items {
		preview = append(preview, r.Preview...)
	}
	replies, err := s.rows(ctx, preview)
	if err != nil {
		return nil, err
	}
	for id, r := range replies {
		if r.State == comment.CommentState_Visible {
			p.Replies[id] = r
		}
	}
	if p.More && p.Next != nil {
		p.cursor = encodeCursor(order, *p.Next)
	}
	p.objects = sync.OnceValue(func() []*comment.Comment { return p.comments(p.Items, rootID, nil) })
	return p, nil
}

// comments turns items of the page into answers' comments with viewer's likes:
// the pinned one marked, and, on a top-level page, their previewed replies.
func (p *sharedPage) comments(items []Row, rootID int64, liked likedSet) []*comment.Comment {
	out := make([]*comment.Comment, 0, len(items))
	for _, r := range items {
		c := toComment(r, liked)
		c.IsPinned = r.ID == p.Pinned && r.ID != 0
		if rootID == 0 {
			for _, id := range r.Preview {
				if rep, ok := p.Replies[id]; ok {
					c.Replies = append(c.Replies, toComment(rep, liked))
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// withLikes returns c as a viewer who likes what liked says sees it: c itself
// (shared, unchanged) when they like neither it nor a reply it previews,
// otherwise a copy.
func withLikes(c *comment.Comment, liked likedSet) *comment.Comment {
	var replies []*comment.Comment
	for i, r := range c.Replies {
		if liked.has(r.Id) {
			if replies == nil {
				replies = slices.Clone(c.Replies)
			}
			cp := *r
			cp.IsLiked = true
			replies[i] = &cp
		}
	}
	self := liked.has(c.Id)
	if !self && replies == nil {
		return c
	}
	cp := *c
	cp.IsLiked = self
	if replies != nil {
		cp.Replies = replies
	}
	return &cp
}

// pageIDs returns the positions of up to q.N visible comments after q.After, from
// the index cache when it covers them, otherwise from the store (queueing a
// rebuild that reads ahead).
func (s *Service) pageIDs(ctx context.Context, q PageQuery) ([]cache.Member, error) {
	key := setKey(q.VideoID, q.RootID, q.Order)
	ms, ok, err := s.sets.Range(ctx, key, cache.RangeQuery{Desc: q.Order.desc(), After: q.After, N: q.N + 1})
	if err != nil {
		s.log.WarnContext(ctx, "comment index cache unavailable; reading the store", "err", err)
	}
	if err == nil && ok {
		for i, m := range ms {
			if m.ID != 0 {
				continue
			}
			if math.IsInf(m.Score, 0) || i >= q.N {
				return ms[:min(i, q.N)], nil // complete, or enough before the edge
			}
			// The set ends before this page does: read the store, and
			// have the set extended past its edge.
			edge := m
			s.queueRebuild(ctx, q, &edge)
			return s.store.Page(ctx, q)
		}
		// No edge on this page: either the set covers it and goes on, or the
		// page starts past the edge, among ids added since the rebuild (a
		// restored comment, a rescored one) that are not the whole story.
		if q.After != nil {
			edge, found, err := s.sets.Score(ctx, key, 0)
			switch {
			case err != nil || !found:
				// A set without its edge is damaged; rebuild it below.
			case before(q.Order, *q.After, cache.Member{Score: edge}):
				if len(ms) > q.N {
					return ms[:q.N], nil
				}
			default:
				s.queueRebuild(ctx, q, &cache.Member{Score: edge})
				return s.store.Page(ctx, q)
			}
		} else if len(ms) > q.N {
			return ms[:q.N], nil
		}
	}
	if err == nil {
		s.queueRebuild(ctx, q, nil)
	}
	return s.store.Page(ctx, q)
}

// queueRebuild asks the video's writer to rebuild (from == nil) or extend the
// index cache of q's list, unless someone asked a moment ago.
func (s *Service) queueRebuild(ctx context.Context, q PageQuery, from *cache.Member) {
	key := setKey(q.VideoID, q.RootID, q.Order)
	if won, err := s.kv.SetNX(ctx, "crb:"+key, []byte{1}, rebuildFlag); err != nil || !won {
		return
	}
	msg := writeMsg{Kind: "rebuild", VideoID: q.VideoID, RootID: q.RootID, Order: q.Order}
	if from != nil {
		msg.From = &cachedFrom{Score: from.Score, ID: from.ID}
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return
	}
	if err := s.bus.Publish(ctx, writeSubject(partition(q.VideoID, s.o.Partitions)), "", payload); err != nil {
		s.log.WarnContext(ctx, "could not queue an index cache rebuild", "key", key, "err", err)
		_ = s.kv.Delete(ctx, "crb:"+key)
	}
}

// personalize turns a shared page into the viewer's answer: their held and
// very recent comments merged in where they belong, and is_liked.
func (s *Service) personalize(ctx context.Context, viewer int64, sub Subject, rootID int64, order Order, after *cache.Member,
	p *sharedPage) (*comment.ListResponse, error) {
	items, merged := p.Items, false
	var st viewerState
	if viewer != 0 {
		st = s.loadViewer(ctx, viewer, sub.VideoID, rootID)
		own, err := s.own(ctx, st, viewer, sub.VideoID, rootID)
		if err != nil {
			return nil, err
		}
		if len(own) > 0 {
			skip := int64(0)
			if rootID == 0 {
				skip = sub.PinnedID // shown on the first page only, by loadPage
			}
			if items, err = s.mergeOwn(ctx, items, own, skip, p, order, after); err != nil {
				return nil, err
			}
			merged = len(items) != len(p.Items)
		}
	}
	ids := make([]int64, 0, len(items)+len(p.Replies))
	for _, r := range items {
		ids = append(ids, r.ID)
		ids = append(ids, r.Preview...)
	}
	var liked likedSet
	if viewer != 0 && len(ids) > 0 {
		var err error
		if liked, err = s.liked(ctx, st, viewer, sub.VideoID, ids); err != nil {
			return nil, err
		}
	}
	var out []*comment.Comment
	if merged {
		out = p.comments(items, rootID, liked)
	} else {
		// The page's own comments, shared; copies of only those the viewer
		// likes. Most of a page is liked by nobody reading it.
		shared := p.objects()
		out = make([]*comment.Comment, len(shared))
		for i, c := range shared {
			out[i] = withLikes(c, liked)
		}
	}
	return &comment.ListResponse{Comments: out, Page: &base.PageInfo{HasMore: p.More, NextCursor: p.cursor}}, nil
}

// mergeOwn adds the viewer's own comments that the shared page lacks — held ones,
// and new ones a cache has not caught up with — where they fall between the
// page's first and last positions (the whole rest of the list on a last page).
func (s *Service) mergeOwn(ctx context.Context, items []Row, own []int64, skip int64, p *sharedPage, order Order, after *cache.Member) ([]Row, error) {
	have := make(map[int64]bool, len(items)+1)
	have[skip] = true
	for _, r := range items {
		have[r.ID] = true
	}
	rows, err := s.rows(ctx, own)
	if err != nil {
		return nil, err
	}
	var extra []Row
	for _, id := range own {
		r, ok := rows[id]
		if !ok || have[id] || (r.State != comment.CommentState_Visible && r.State != comment.CommentState_Pending) {
			continue
		}
		pos := cache.Member{ID: r.ID, Score: r.Score(order)}
		if after != nil && !before(order, *after, pos) {
			continue // belongs to an earlier page
		}
		if p.More && p.Next != nil && before(order, *p.Next, pos) {
			continue // belongs to a later page
		}
		extra = append(extra, r)
	}
	if len(extra) == 0 {
		return items, nil
	}
	head := []Row{}
	if p.Pinned != 0 && len(items) > 0 && items[0].ID == p.Pinned {
		head, items = items[:1], items[1:]
	}
	merged := append(slices.Clone(items), extra...)
	slices.SortStableFunc(merged, func(a, b Row) int {
		pa, pb := cache.Member{ID: a.ID, Score: a.Score(order)}, cache.Member{ID: b.ID, Score: b.Score(order)}
		switch {
		case before(order, pa, pb):
			return -1
		case before(order, pb, pa):
			return 1
		}
		return 0
	})
	return append(slices.Clone(head), merged...), nil
}

// before reports whether position a comes before b in order o.
func before(o Order, a, b cache.Member) bool {
	if a.Score != b.Score {
		if o.desc() {
			return a.Score > b.Score
		}
		return a.Score < b.Score
	}
	if o.desc() {
		return a.ID > b.ID
	}
	return a.ID < b.ID
}

func toComment(r Row, liked likedSet) *comment.Comment {
	return &comment.Comment{
		Id: r.ID, VideoId: r.VideoID, UserId: r.UserID, Content: r.Content, CreateTime: r.CreatedAt,
		RootId: r.RootID, ParentId: r.ParentID, Floor: r.Floor, LikeCount: r.LikeCount, IsLiked: liked.has(r.ID),
		ReplyCount: r.ReplyCount, Replies: []*comment.Comment{}, State: r.State, Version: r.Version,
	}
}

// Cursors are opaque to clients: the order, and the (score, id) position of the
// last comment of the previous page, so that time-ordered pages never repeat or
// skip a comment. A cursor of one order is refused by another.
func encodeCursor(o Order, m cache.Member) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(int(o)) + "." +
		strconv.FormatFloat(m.Score, 'g', -1, 64) + "." + strconv.FormatInt(m.ID, 10)))
}

var errBadCursor = errs.New(base.ErrCode_CommentCursorInvalid, "cursor is not valid")

// decodeCursor parses a cursor of order o; "" is the first page.
func decodeCursor(c string, o Order) (*cache.Member, error) {
	if c == "" {
		return nil, nil
	}
	if len(c) > 96 {
		return nil, errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, errBadCursor
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) < 3 {
		return nil, errBadCursor
	}
	// The score may itself contain a '.'; the order is first and the id last.
	ord, id := parts[0], parts[len(parts)-1]
	score := strings.Join(parts[1:len(parts)-1], ".")
	m := cache.Member{}
	if ord != strconv.Itoa(int(o)) {
		return nil, errBadCursor
	}
	if m.Score, err = strconv.ParseFloat(score, 64); err != nil || math.IsNaN(m.Score) || math.IsInf(m.Score, 0) {
		return nil, errBadCursor
	}
	if m.ID, err = strconv.ParseInt(id, 10, 64); err != nil || !idgen.Valid(m.ID) {
		return nil, errBadCursor
	}
	if encodeCursor(o, m) != c {
		return nil, errBadCursor
	}
	return &m, nil
}

// Collectors export the hot-key detector and the hot-page cache.
func (s *Service) Collectors() []prometheus.Collector {
	return append(s.detector.Collectors("comment_pages"), s.hotPages.Collectors("comment_pages")...)
}
