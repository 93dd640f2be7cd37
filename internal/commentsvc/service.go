// Package commentsvc is the comment role: the comment platform of seed 004
// (Bilibili's comment system) with floors, two-level threads, time and hot order,
// likes, pins, author and owner deletion, and moderation states.
//
// The role plays the seed's three parts in one package: the service API (this
// file), the job that applies writes serially per video from a partitioned stream
// and rebuilds caches (writer.go), and the cache-aside read path with index caches,
// singleflight, rebuild flags and per-process hot-key pages (read.go).
package commentsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/text"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/internal/wordfilter"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Limits of one request.
const (
	// MaxContentRunes bounds a comment's text (api.md A.3).
	MaxContentRunes = 1000
	// DefaultPageSize and MaxPageSize bound a page of comments (api.md B.3).
	DefaultPageSize = 30
	MaxPageSize     = 100
	// MaxBatch bounds the videos of one VideoCounts call.
	MaxBatch = 1000
	// DuplicateWindow is how long the same text by the same user on the same
	// video is refused as a duplicate (api.md B.5).
	DuplicateWindow = 10 * time.Second
)

// Defaults of Options.
const (
	DefaultPartitions  = 8
	DefaultPublishWait = 3 * time.Second
)

var (
	errNotFound      = errs.New(base.ErrCode_CommentNotFound, "comment not found")
	errVideoNotFound = errs.New(base.ErrCode_CommentVideoNotFound, "video not found")
	errParent        = errs.New(base.ErrCode_CommentParentInvalid, "the comment you reply to is not available")
	errDuplicate     = errs.New(base.ErrCode_CommentDuplicate, "you just posted the same comment")
	errPinTopLevel   = errs.New(base.ErrCode_CommentNotTopLevel, "only top-level comments can be pinned")
	errNotOwner      = errs.New(base.ErrCode_PermissionDenied, "only the video's author can pin comments")
	errNotYours      = errs.New(base.ErrCode_PermissionDenied, "only the comment's author or the video's author can delete it")
	errUnavailable   = errs.New(base.ErrCode_Unavailable, "comments are unavailable right now, please try again")
)

// errConflict is a state transition the rules do not allow.
func errConflict(from, to comment.CommentState) error {
	return errs.Newf(base.ErrCode_Conflict, "a %s comment cannot become %s", stateName(from), stateName(to))
}

func stateName(s comment.CommentState) string {
	return strings.ToLower(s.String())
}

// Options configure a Service.
type Options struct {
	// Partitions is the number of write partitions (and serial writers); every
	// process of the role must use the same number. Default DefaultPartitions.
	Partitions int
	// PublishWait bounds how long Publish waits for the writer to apply the
	// comment and report its floor; past it Publish answers with floor 0 and
	// the comment is applied later, exactly once. Default DefaultPublishWait.
	PublishWait time.Duration
	// SensitiveWords hold a comment that contains one for review.
	SensitiveWords []string
	// HotKeys tunes the detection of hot videos whose first pages are kept in
	// each process; zero fields take hotkey's defaults.
	HotKeys hotkey.DetectorOptions
	// NoHotPages turns the local cache of hot first pages off (to measure it).
	NoHotPages bool
	// Clock replaces time.Now in tests.
	Clock func() time.Time
}

// Service implements the comment role.
type Service struct {
	store  Store
	videos video.VideoService
	ids    *idgen.Generator
	bus    *mq.Bus
	kv     cache.Cache
	sets   cache.SortedSets
	words  *wordfilter.Filter
	log    *slog.Logger
	o      Options
	now    func() time.Time

	// Read path (read.go).
	flights  singleflight.Group
	detector *hotkey.Detector
	// beforeLoad, when set by a test, runs before a shared page is loaded.
	beforeLoad func()
	// redelete is when dropped cache entries are dropped again (the const of
	// that name); 0, set by a test, drops them once.
	redelete  time.Duration
	hotPages  *hotkey.Cache[*sharedPage]
	stopWatch func()

	// Publishers waiting for the writer's answer, by comment id.
	replyTo string
	waitMu  sync.Mutex
	waiters map[int64]chan applied
	stopAck func()
}

var _ comment.CommentService = (*Service)(nil)

// New returns the comment service. kv caches subjects, comments and flags;
// sets caches the index (both shared by every replica in a cluster). videos
// answers which videos exist and who published them.
func New(store Store, videos video.VideoService, ids *idgen.Generator, bus *mq.Bus, kv cache.Cache, sets cache.SortedSets,
	log *slog.Logger, o Options) (*Service, error) {
	if o.Partitions <= 0 {
		o.Partitions = DefaultPartitions
	}
	if o.PublishWait <= 0 {
		o.PublishWait = DefaultPublishWait
	}
	now := o.Clock
	if now == nil {
		now = time.Now
	}
	if o.HotKeys.MaxKeysPerBucket == 0 {
		// Bounded so that the once-per-interval top-K pass stays well under a
		// millisecond-scale pause even when many videos are read.
		o.HotKeys.MaxKeysPerBucket = 10_000
	}
	s := &Service{
		store: store, videos: videos, ids: ids, bus: bus, kv: kv, sets: sets,
		words: wordfilter.New(o.SensitiveWords), log: log, o: o, now: now,
		detector: hotkey.NewDetector(o.HotKeys), redelete: redelete,
		hotPages: hotkey.NewCache[*sharedPage](1024, hotPageTTL, now),
		replyTo:  appliedSubjectPrefix + strings.ToLower(rand.Text()),
		waiters:  make(map[int64]chan applied),
	}
	var err error
	if s.stopAck, err = bus.Subscribe(s.replyTo, s.onApplied); err != nil {
		return nil, err
	}
	if s.stopWatch, err = bus.Subscribe(changedSubjectPrefix+"*", s.onChanged); err != nil {
		s.stopAck()
		return nil, err
	}
	return s, nil
}

// Close stops listening for broadcasts.
func (s *Service) Close() {
	s.stopAck()
	s.stopWatch()
}

// Publish validates a comment, hands it to the video's serial writer through the
// write stream, and waits (bounded) for the writer to apply it. Once the stream has
// acknowledged the write, the comment will be applied exactly once, whatever
// happens to this process.
func (s *Service) Publish(ctx context.Context, req *comment.PublishRequest) (*comment.PublishResponse, error) {
	userID, videoID, parentID := req.GetUserId(), req.GetVideoId(), req.GetParentId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	if !idgen.Valid(videoID) {
		return nil, errs.InvalidArgument("invalid video id %d", videoID)
	}
	if parentID != 0 && !idgen.Valid(parentID) {
		return nil, errs.InvalidArgument("invalid parent id %d", parentID)
	}
	content := req.GetContent()
	if err := checkContent(content); err != nil {
		return nil, err
	}
	v, err := s.video(ctx, videoID)
	if err != nil {
		return nil, err
	}
	var rootID int64
	if parentID != 0 {
		if rootID, err = s.checkParent(ctx, videoID, parentID); err != nil {
			return nil, err
		}
	}
	state := comment.CommentState_Visible
	if s.words.Contains(content) {
		state = comment.CommentState_Pending
	}

	// The same text by the same user on the same video within the window is a
	// duplicate: a double tap, or a flood.
	sum := sha256.Sum256([]byte(content))
	dupKey := fmt.Sprintf("cdup:%d:%d:%s", userID, videoID, hex.EncodeToString(sum[:12]))
	first, err := s.kv.SetNX(ctx, dupKey, []byte{1}, DuplicateWindow)
	switch {
	case err != nil:
		// The guard against double taps is not worth refusing every comment
		// for while the cache is down: go on without it.
		s.log.WarnContext(ctx, "duplicate check skipped: the cache is unavailable", "err", err)
	case !first:
		return nil, errDuplicate
	}

	id, err := s.ids.Next()
	if err != nil {
		_ = s.kv.Delete(ctx, dupKey)
		return nil, err
	}
	at := s.now().UnixMilli()
	msg := writeMsg{Kind: "comment", ID: id, VideoID: videoID, OwnerID: v.GetAuthorId(), UserID: userID,
		ParentID: parentID, Content: content, State: state, CreatedAt: at, Reply: s.replyTo}
	payload, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	wait := s.expect(id)
	defer s.forget(id)
	// With the event stream down this fails at once (the bus buffers nothing
	// while reconnecting); a slow stream is waited for up to the transport's
	// own timeout, since a publish given up on may still be stored.
	if err := s.bus.Publish(ctx, writeSubject(partition(videoID, s.o.Partitions)), "cw:"+strconv.FormatInt(id, 10), payload); err != nil {
		_ = s.kv.Delete(context.WithoutCancel(ctx), dupKey)
		s.log.ErrorContext(ctx, "could not queue a comment", "video_id", videoID, "err", err)
		return nil, errUnavailable
	}

	c := &comment.Comment{Id: id, VideoId: videoID, UserId: userID, Content: content, CreateTime: at,
		RootId: rootID, ParentId: parentID, State: state, Replies: []*comment.Comment{}}
	timer := time.NewTimer(s.o.PublishWait)
	defer timer.Stop()
	select {
	case res := <-wait:
		if res.Error != "" {
			_ = s.kv.Delete(context.WithoutCancel(ctx), dupKey)
			return nil, errParent
		}
		c.Floor = res.Floor
	case <-timer.C:
		// Past the bound: the answer may only have been lost, so look once.
		if rows, err := s.store.Rows(ctx, []int64{id}); err == nil {
			c.Floor = rows[id].Floor
		}
	case <-ctx.Done():
		// The write is queued and will be applied; the caller has gone.
		return nil, ctx.Err()
	}
	return &comment.PublishResponse{Comment: c}, nil
}

// checkContent enforces api.md's text rules: valid UTF-8, 1–1000 code points,
// not blank (text.Blank: only white space or invisible characters). The text is
// stored as given.
func checkContent(s string) error {
	if !utf8.ValidString(s) {
		return errs.New(base.ErrCode_CommentTextInvalid, "comment text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n == 0 || n > MaxContentRunes {
		return errs.Newf(base.ErrCode_CommentTextInvalid, "comment text must be 1 to %d characters", MaxContentRunes)
	}
	if text.Blank(s) {
		return errs.New(base.ErrCode_CommentTextInvalid, "comment text must not be blank")
	}
	return nil
}

// checkParent returns the thread of a reply to parentID on videoID: the parent and
// its thread must be visible comments of that video.
func (s *Service) checkParent(ctx context.Context, videoID, parentID int64) (rootID int64, err error) {
	rows, err := s.rows(ctx, []int64{parentID})
	if err != nil {
		return 0, err
	}
	p, ok := rows[parentID]
	if !ok || p.VideoID != videoID || p.State != comment.CommentState_Visible {
		return 0, errParent
	}
	if p.RootID == 0 {
		return p.ID, nil
	}
	roots, err := s.rows(ctx, []int64{p.RootID})
	if err != nil {
		return 0, err
	}
	if r, ok := roots[p.RootID]; !ok || r.State != comment.CommentState_Visible {
		return 0, errParent
	}
	return p.RootID, nil
}

// video returns the video with id from the video role, or errVideoNotFound.
func (s *Service) video(ctx context.Context, id int64) (*video.Video, error) {
	v, err := videosvc.Find(ctx, s.videos, id)
	if err == nil && v == nil {
		err = errVideoNotFound
	}
	return v, err
}

// expect registers a waiter for the writer's answer about comment id.
func (s *Service) expect(id int64) <-chan applied {
	ch := make(chan applied, 1)
	s.waitMu.Lock()
	s.waiters[id] = ch
	s.waitMu.Unlock()
	return ch
}

func (s *Service) forget(id int64) {
	s.waitMu.Lock()
	delete(s.waiters, id)
	s.waitMu.Unlock()
}

// onApplied delivers a writer's answer to the waiting Publish, if it still waits.
func (s *Service) onApplied(_ string, data []byte) {
	var a applied
	if json.Unmarshal(data, &a) != nil {
		return
	}
	s.waitMu.Lock()
	ch := s.waiters[a.ID]
	s.waitMu.Unlock()
	if ch != nil {
		select {
		case ch <- a:
		default:
		}
	}
}

// Delete takes a comment out of the listings and the counts. The comment's author
// and the video's author may delete it; deleting a deleted comment succeeds.
func (s *Service) Delete(ctx context.Context, req *comment.DeleteRequest) (*comment.DeleteResponse, error) {
	userID, id := req.GetUserId(), req.GetCommentId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	rows, err := s.store.Rows(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	r, ok := rows[id]
	if !ok {
		return nil, errNotFound
	}
	if r.UserID != userID {
		sub, _, err := s.subject(ctx, r.VideoID)
		if err != nil {
			return nil, err
		}
		if sub.OwnerID != userID {
			return nil, errNotYours
		}
	}
	if _, err := s.SetState(ctx, id, comment.CommentState_Deleted, func(comment.CommentState) bool { return true }); err != nil {
		return nil, err
	}
	return &comment.DeleteResponse{}, nil
}

// SetState moves a comment between moderation states (allowed says from which),
// then brings every cache up to date. The comment-admin role's review actions
// and users' deletes both come here.
func (s *Service) SetState(ctx context.Context, id int64, to comment.CommentState, allowed func(comment.CommentState) bool) (before Row, err error) {
	before, after, err := s.store.SetState(ctx, id, to, allowed)
	if errors.Is(err, errGone) {
		return Row{}, errNotFound
	}
	if err != nil {
		return Row{}, err
	}
	if before.State != after.State {
		s.afterStateChange(ctx, after)
	}
	return before, nil
}

// Like records or takes back a like of a comment; both are idempotent.
func (s *Service) Like(ctx context.Context, req *comment.LikeRequest) (*comment.LikeResponse, error) {
	userID, id := req.GetUserId(), req.GetCommentId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	r, changed, err := s.store.Like(ctx, userID, id, req.GetLike(), s.now().UnixMilli())
	if errors.Is(err, errGone) || errors.Is(err, errNotVisible) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if changed {
		s.viewerWrote(ctx, userID)
		s.afterLike(ctx, r)
	}
	return &comment.LikeResponse{}, nil
}

// Pin pins a top-level comment of the video (replacing any other pin) or unpins
// it. Only the video's author may.
func (s *Service) Pin(ctx context.Context, req *comment.PinRequest) (*comment.PinResponse, error) {
	userID, videoID, id := req.GetUserId(), req.GetVideoId(), req.GetCommentId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	if !idgen.Valid(videoID) {
		return nil, errs.InvalidArgument("invalid video id %d", videoID)
	}
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	sub, ok, err := s.subject(ctx, videoID)
	if err != nil {
		return nil, err
	}
	if !ok {
		// No comment was ever applied to it: tell an unknown video apart.
		if _, err := s.video(ctx, videoID); err != nil {
			return nil, err
		}
		return nil, errNotFound
	}
	if sub.OwnerID != userID {
		return nil, errNotOwner
	}
	target := id
	if !req.GetPin() {
		rows, err := s.store.Rows(ctx, []int64{id})
		if err != nil {
			return nil, err
		}
		if r, ok := rows[id]; !ok || r.VideoID != videoID {
			return nil, errNotFound
		}
		if sub.PinnedID != id {
			return &comment.PinResponse{}, nil // not pinned: nothing to undo
		}
		target = 0
	}
	switch err := s.store.Pin(ctx, videoID, target); {
	case errors.Is(err, errGone), errors.Is(err, errNotVisible):
		return nil, errNotFound
	case errors.Is(err, errNotTopLevel):
		return nil, errPinTopLevel
	case err != nil:
		return nil, err
	}
	s.afterPin(ctx, videoID)
	return &comment.PinResponse{}, nil
}

// VideoCounts returns each video's visible comments, replies included, straight
// from the subjects (exact at all times); videos never commented on count zero.
func (s *Service) VideoCounts(ctx context.Context, req *comment.VideoCountsRequest) (*comment.VideoCountsResponse, error) {
	ids := req.GetVideoIds()
	if len(ids) > MaxBatch {
		return nil, errs.InvalidArgument("at most %d videos per request", MaxBatch)
	}
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid video id %d", id)
		}
	}
	counts, err := s.store.Counts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(ids))
	for _, id := range ids {
		out[id] = counts[id]
	}
	return &comment.VideoCountsResponse{Counts: out}, nil
}
