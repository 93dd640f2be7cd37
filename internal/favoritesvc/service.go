// Package favoritesvc is the favorite role: video likes and the counts derived from
// them (likes per video, likes given and likes received per user).
//
// A like and its three counts are written in one local transaction (see SQLStore),
// so the counts are exact under concurrency and across crashes, and every write is
// idempotent by (user, video), so repeats and Kitex retries change nothing.
package favoritesvc

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cursor"
	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Limits of one request.
const (
	// DefaultPageSize is the favorite list's page without a count: 100 videos, the
	// default page of every video list (api.md A.1).
	DefaultPageSize = 100
	// MaxPageSize bounds one page; larger counts are clamped to it.
	MaxPageSize = 100
	// MaxBatch bounds the ids of one VideoStats or UserStats call, so one request
	// cannot build an unbounded IN list.
	MaxBatch = 1000
)

var errVideoNotFound = errs.New(base.ErrCode_FavoriteVideoNotFound, "video not found")

// Service implements the favorite role.
type Service struct {
	store  Store
	videos video.VideoService
	now    func() time.Time
	log    *slog.Logger
	// authors remembers, for authorTTL, the author of each video the video
	// role has named: a video's author never changes, so likes of a hot video
	// ask the video role once per authorTTL instead of once each. Unknown
	// videos are not remembered.
	authors *hotkey.Cache[int64]
}

// Bounds of Service.authors. An entry is 8 bytes of answer and about 100 of
// key and bookkeeping: 10 MB at most. A video that ceased to exist (nothing
// removes videos today) could still be liked for authorTTL.
const (
	authorsMax = 100_000
	authorTTL  = time.Minute
)

var _ favorite.FavoriteService = (*Service)(nil)

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the service read the time of a like from now instead of
// time.Now, so tests can give many likes the same millisecond.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// New returns the favorite service over its store and the video role, which it
// asks whether a video exists and who published it.
func New(store Store, videos video.VideoService, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, videos: videos, now: time.Now, log: log}
	for _, o := range opts {
		o(s)
	}
	s.authors = hotkey.NewCache[int64](authorsMax, authorTTL, s.now)
	return s
}

// Like records or takes back a user's like of a video. Both directions are
// idempotent: liking a liked video or unliking one that is not liked succeeds and
// changes nothing.
//
// A like asks the video role for the video first (unless it named the video's
// author within authorTTL): an unknown video is refused, and
// the author it names is stored with the fact (a video's author never changes), so
// that counts of likes received need no later call. An unlike tries the fact first,
// so a like can be taken back even after its video is gone; only when there was
// nothing to take back does it ask whether the video exists, to refuse unknown ids.
func (s *Service) Like(ctx context.Context, req *favorite.LikeRequest) (*favorite.LikeResponse, error) {
	userID, videoID := req.GetUserId(), req.GetVideoId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	if !idgen.Valid(videoID) {
		return nil, errs.InvalidArgument("invalid video id %d", videoID)
	}
	if !req.GetLike() {
		changed, err := s.store.Unlike(ctx, userID, videoID)
		if err != nil {
			return nil, err
		}
		if !changed {
			if _, err := s.author(ctx, videoID); err != nil {
				return nil, err
			}
		}
		return &favorite.LikeResponse{}, nil
	}
	author, err := s.author(ctx, videoID)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Like(ctx, Like{UserID: userID, VideoID: videoID, AuthorID: author, CreatedAt: s.now().UnixMilli()}); err != nil {
		return nil, err
	}
	return &favorite.LikeResponse{}, nil
}

// author returns the author of the video with id, asking the video role unless
// it named the video's author within authorTTL; errVideoNotFound if there is
// no such video.
func (s *Service) author(ctx context.Context, id int64) (int64, error) {
	key := strconv.FormatInt(id, 10)
	if a, ok := s.authors.Get(key); ok {
		return a, nil
	}
	v, err := videosvc.Find(ctx, s.videos, id)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, errVideoNotFound
	}
	a := v.GetAuthorId()
	if !idgen.Valid(a) {
		// The video role broke its own invariant; storing the like would credit
		// nobody, so refuse it and leave a trace here, where it was noticed.
		s.log.ErrorContext(ctx, "video role returned a video without a valid author", "video_id", id, "author_id", a)
		return 0, fmt.Errorf("favoritesvc: video %d has invalid author id %d", id, a)
	}
	s.authors.Set("", key, a)
	return a, nil
}

// ListLiked returns one page of the videos a user likes, most recently liked first.
// The cursor is the position of the last like on the previous page, so likes given
// or taken back between pages neither repeat nor skip the others.
func (s *Service) ListLiked(ctx context.Context, req *favorite.ListLikedRequest) (*favorite.ListLikedResponse, error) {
	userID := req.GetUserId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	page := req.GetPage()
	if page == nil {
		page = &base.Page{}
	}
	n, err := cursor.Size(page, DefaultPageSize, MaxPageSize)
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor(page.GetCursor())
	if err != nil {
		return nil, err
	}
	// One more than the page tells whether another page follows.
	likes, err := s.store.Liked(ctx, userID, after, n+1)
	if err != nil {
		return nil, err
	}
	info := &base.PageInfo{}
	if len(likes) > n {
		likes = likes[:n]
		last := likes[n-1]
		info.HasMore, info.NextCursor = true, encodeCursor(Position{CreatedAt: last.CreatedAt, VideoID: last.VideoID})
	}
	ids := make([]int64, len(likes))
	for i, l := range likes {
		ids[i] = l.VideoID
	}
	return &favorite.ListLikedResponse{VideoIds: ids, Page: info}, nil
}

// VideoStats returns, for every video asked about, its like count and whether the
// viewer (0: anonymous) likes it; videos never liked, or unknown, count zero.
func (s *Service) VideoStats(ctx context.Context, req *favorite.VideoStatsRequest) (*favorite.VideoStatsResponse, error) {
	viewer := req.GetViewerId()
	if viewer != 0 && !idgen.Valid(viewer) {
		return nil, errs.InvalidArgument("invalid viewer id %d", viewer)
	}
	ids, err := checkBatch("video", req.GetVideoIds())
	if err != nil {
		return nil, err
	}
	stats, err := s.store.VideoStats(ctx, viewer, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*favorite.VideoStats, len(ids))
	for _, id := range ids {
		st := stats[id]
		out[id] = &favorite.VideoStats{FavoriteCount: st.Count, IsFavorite: st.Liked && viewer != 0}
	}
	return &favorite.VideoStatsResponse{Stats: out}, nil
}

// UserStats returns, for every user asked about, the likes given and the likes
// received on the user's videos; users without any count zero.
func (s *Service) UserStats(ctx context.Context, req *favorite.UserStatsRequest) (*favorite.UserStatsResponse, error) {
	ids, err := checkBatch("user", req.GetUserIds())
	if err != nil {
		return nil, err
	}
	stats, err := s.store.UserStats(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*favorite.UserStats, len(ids))
	for _, id := range ids {
		st := stats[id]
		out[id] = &favorite.UserStats{FavoriteCount: st.Given, TotalFavorited: st.Received}
	}
	return &favorite.UserStatsResponse{Stats: out}, nil
}

// checkBatch validates the ids of a stats call and returns them without repeats.
func checkBatch(kind string, ids []int64) ([]int64, error) {
	if len(ids) > MaxBatch {
		return nil, errs.InvalidArgument("at most %d %ss per request", MaxBatch, kind)
	}
	seen := make(map[int64]struct{}, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid %s id %d", kind, id)
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}

// Cursors are opaque to clients: the (created_at, id) position of the last like
// on the previous page (package cursor).
func encodeCursor(p Position) string { return cursor.Encode(p.CreatedAt, p.VideoID) }

var errBadCursor = errs.InvalidArgument("cursor is not valid")

// decodeCursor parses a cursor from encodeCursor; "" is the first page.
func decodeCursor(c string) (*Position, error) {
	if c == "" {
		return nil, nil
	}
	at, id, ok := cursor.Decode(c)
	if !ok {
		return nil, errBadCursor
	}
	return &Position{CreatedAt: at, VideoID: id}, nil
}
