// Package videosvc is the video role: publishing (checks, cover, storage), video
// metadata, publish lists and the feed.
package videosvc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/text"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Limits of requests, in Unicode code points for text.
const (
	MaxTitleLen = 100
	// MaxBatch bounds the ids of one GetVideos or WorkCounts call.
	MaxBatch = 1000
	// DefaultFeedCount and MaxFeedCount size a feed page (api.md: at most 30 for
	// the app; internal callers may ask for up to MaxFeedCount).
	DefaultFeedCount = 30
	MaxFeedCount     = 100
	// DefaultListCount and MaxListCount size a publish list page.
	DefaultListCount = 100
	MaxListCount     = 1000
	// maxTie bounds how many more videos of its last millisecond a feed page
	// takes in (see Feed).
	maxTie = 1000
)

// UploadPrefix is where the gateway stages uploads in blob storage. Publish reads
// only keys under it, so a caller cannot have it take (and delete) other objects.
const UploadPrefix = "uploads/"

// Content-addressed homes of published media.
const (
	videoPrefix = "videos"
	coverPrefix = "covers"
)

// Feed types of FeedRequest.type.
const (
	FeedDefault   = ""
	FeedGlobal    = "global"
	FeedFollowing = "following"
)

// Options tune a Service.
type Options struct {
	// TempDir holds each publish's working files, removed when it ends; empty
	// means the system's temporary directory.
	TempDir string
	// MaxUploadBytes refuses staged uploads larger than this; 0 means no limit
	// here (the gateway enforces its own).
	MaxUploadBytes int64
	// Relation is the relation role, which the following timeline asks for the
	// viewer's follows and their follower counts. With Relation or Inbox nil,
	// every feed is the global timeline.
	Relation relation.RelationService
	// Inbox keeps the following timeline's inboxes (SQLStore is one).
	Inbox InboxStore
	// Feed shapes the following timeline.
	Feed FeedOptions
}

// Service implements the video role.
type Service struct {
	store   Store
	blobs   blob.Store
	media   *Pipeline
	ids     *idgen.Generator
	log     *slog.Logger
	o       Options
	feed    FeedOptions
	modes   *pullModes
	popular *popularAuthors
	now     func() time.Time
}

var _ video.VideoService = (*Service)(nil)

// New returns the video service over its dependencies.
func New(store Store, blobs blob.Store, media *Pipeline, ids *idgen.Generator, log *slog.Logger, o Options) *Service {
	return &Service{store: store, blobs: blobs, media: media, ids: ids, log: log, o: o, feed: o.Feed.withDefaults(),
		modes: newPullModes(), popular: &popularAuthors{}, now: time.Now}
}

// Publish turns a staged upload into a video: it checks the file by magic number
// and by decoding it, takes a cover, makes it playable, moves both into
// content-addressed storage and commits the row. Only then does it answer; a
// refused or failed publish leaves no row, no media and no temporary file. The
// staged upload is consumed either way.
func (s *Service) Publish(ctx context.Context, req *video.PublishRequest) (*video.PublishResponse, error) {
	key := req.GetUploadKey()
	if !strings.HasPrefix(key, UploadPrefix) || len(key) == len(UploadPrefix) {
		return nil, errs.InvalidArgument("upload_key must name a staged upload")
	}
	defer s.deleteBlob(ctx, key)
	if !idgen.Valid(req.GetUserId()) {
		return nil, errs.InvalidArgument("invalid user id %d", req.GetUserId())
	}
	if err := checkTitle(req.GetTitle()); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp(s.o.TempDir, "publish-*")
	if err != nil {
		return nil, fmt.Errorf("videosvc: work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "upload")
	if err := s.fetch(ctx, key, in); err != nil {
		return nil, err
	}
	c, err := sniff(in)
	if err != nil {
		return nil, err
	}
	m, err := s.media.Process(ctx, in, c, dir)
	if err != nil {
		var ie *inputError
		if errors.As(err, &ie) {
			s.log.WarnContext(ctx, "video processing failed", "user_id", req.GetUserId(), "err", err)
		}
		return nil, err
	}

	id, err := s.ids.Next()
	if err != nil {
		return nil, err
	}
	var written []string
	discard := func() { s.discard(ctx, written) }
	playKey, wrote, err := s.putContent(ctx, videoPrefix, ".mp4", m.VideoPath, "video/mp4")
	if err != nil {
		return nil, err
	}
	if wrote {
		written = append(written, playKey)
	}
	coverKey, wrote, err := s.putContent(ctx, coverPrefix, ".jpg", m.CoverPath, "image/jpeg")
	if err != nil {
		discard()
		return nil, err
	}
	if wrote {
		written = append(written, coverKey)
	}
	v := &Video{ID: id, AuthorID: req.GetUserId(), Title: req.GetTitle(), PlayKey: playKey, CoverKey: coverKey, CreateTime: s.now().UnixMilli()}
	if err := s.store.Create(ctx, v); err != nil {
		discard()
		return nil, err
	}
	return &video.PublishResponse{Video: toIDL(v)}, nil
}

// fetch copies the staged upload at key to the local file path, where ffmpeg can
// read it.
func (s *Service) fetch(ctx context.Context, key, path string) error {
	obj, err := s.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrInvalidKey) {
		return errs.InvalidArgument("upload_key must name a staged upload")
	}
	if err != nil {
		return err
	}
	defer obj.Close()
	size := obj.Info().Size
	if size == 0 {
		return errEmptyVideo
	}
	if s.o.MaxUploadBytes > 0 && size > s.o.MaxUploadBytes {
		return errs.Newf(base.ErrCode_TooLarge, "the video is larger than %d bytes", s.o.MaxUploadBytes)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("videosvc: copy staged upload: %w", err)
	}
	return nil
}

// putContent moves the file at path into blob storage under its content address
// and reports whether it wrote the object: when the same bytes are stored already
// the existing object is used and the file is left for the work directory's
// removal.
func (s *Service) putContent(ctx context.Context, prefix, ext, path, contentType string) (key string, wrote bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", false, err
	}
	key = blob.ContentAddressedKey(prefix, h.Sum(nil), ext)
	if info, err := s.blobs.Stat(ctx, key); err == nil && info.Size == size {
		return key, false, nil
	}
	if _, err := s.blobs.PutFile(ctx, key, path, contentType); err != nil {
		return "", false, err
	}
	return key, true, nil
}

// discard deletes media a failed publish wrote, unless a video references the
// same bytes (an identical upload that committed meanwhile). It runs even when the
// request was cancelled, within a bound of its own.
func (s *Service) discard(ctx context.Context, keys []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		used, err := s.store.Referenced(ctx, k)
		if err != nil {
			s.log.ErrorContext(ctx, "cannot tell whether media is in use; keeping it", "key", k, "err", err)
			continue
		}
		if !used {
			s.deleteBlob(ctx, k)
		}
	}
}

func (s *Service) deleteBlob(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "cannot delete media", "key", key, "err", err)
	}
}

// Feed returns a page of a timeline, newest first, strictly before latest_time
// (and, with a cursor, after that video of latest_time's millisecond).
//
// The app sends back only next_time, the creation millisecond of the last video
// shown, never a cursor. A page that ended inside a millisecond would lose the
// rest of it: the next request asks for videos strictly before it. So a full page
// is extended with every remaining video of its last millisecond (up to maxTie
// more; a page may then exceed count). Paging by next_time alone then neither
// repeats nor skips; next_cursor is offered to clients that want exact positions.
//
// Anonymous viewers and type "global" get the global timeline. A logged-in viewer
// gets the following timeline, continued by the global one once it runs out (see
// followingPage); type "following" gets the following timeline alone.
func (s *Service) Feed(ctx context.Context, req *video.FeedRequest) (*video.FeedResponse, error) {
	switch req.GetType() {
	case FeedDefault, FeedGlobal, FeedFollowing:
	default:
		return nil, errs.InvalidArgument("type must be %q or %q", FeedFollowing, FeedGlobal)
	}
	viewer := req.GetViewerId()
	if viewer != 0 && !idgen.Valid(viewer) {
		return nil, errs.InvalidArgument("invalid viewer id %d", viewer)
	}
	latest := req.GetLatestTime()
	switch {
	case latest < 0:
		return nil, errs.InvalidArgument("latest_time must not be negative")
	case latest == 0:
		latest = s.now().UnixMilli()
	}
	count := int(req.GetCount())
	switch {
	case count <= 0:
		count = DefaultFeedCount
	case count > MaxFeedCount:
		count = MaxFeedCount
	}
	pos := Position{Time: latest}
	if cur := req.GetCursor(); cur != "" {
		id, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || !idgen.Valid(id) {
			return nil, errs.InvalidArgument("cursor is not valid")
		}
		// The cursor names the last video shown, of millisecond latest_time, so
		// the page continues within that millisecond.
		pos.ID = id
	}
	var (
		vs  []*Video
		err error
	)
	if viewer == 0 || req.GetType() == FeedGlobal || s.o.Relation == nil || s.o.Inbox == nil {
		vs, err = s.globalPage(ctx, pos, count)
	} else {
		vs, err = s.followingPage(ctx, viewer, pos, count, req.GetType() == FeedDefault)
	}
	if err != nil {
		return nil, err
	}
	resp := &video.FeedResponse{Videos: make([]*video.Video, 0, len(vs)), NextTime: latest}
	for _, v := range vs {
		resp.Videos = append(resp.Videos, toIDL(v))
	}
	if n := len(vs); n > 0 {
		resp.NextTime = vs[n-1].CreateTime
		resp.NextCursor = strconv.FormatInt(vs[n-1].ID, 10)
	}
	return resp, nil
}

// ListByAuthor returns an author's videos, newest first, a page at a time.
func (s *Service) ListByAuthor(ctx context.Context, req *video.ListByAuthorRequest) (*video.VideoListResponse, error) {
	if !idgen.Valid(req.GetAuthorId()) {
		return nil, errs.InvalidArgument("invalid user id %d", req.GetAuthorId())
	}
	page := req.GetPage()
	if page == nil {
		page = &base.Page{}
	}
	count := int(page.GetCount())
	switch {
	case count <= 0:
		count = DefaultListCount
	case count > MaxListCount:
		count = MaxListCount
	}
	pos, err := parseListCursor(page.GetCursor())
	if err != nil {
		return nil, err
	}
	vs, err := s.store.ByAuthor(ctx, req.GetAuthorId(), pos, count+1)
	if err != nil {
		return nil, err
	}
	resp := &video.VideoListResponse{Videos: make([]*video.Video, 0, min(len(vs), count)), Page: &base.PageInfo{}}
	if len(vs) > count {
		vs = vs[:count]
		last := vs[count-1]
		resp.Page = &base.PageInfo{HasMore: true, NextCursor: strconv.FormatInt(last.CreateTime, 10) + "." + strconv.FormatInt(last.ID, 10)}
	}
	for _, v := range vs {
		resp.Videos = append(resp.Videos, toIDL(v))
	}
	return resp, nil
}

// parseListCursor reads a publish list cursor, "<create_time>.<id>" of the last
// video of the previous page; "" starts from the newest.
func parseListCursor(cur string) (Position, error) {
	if cur == "" {
		return latest, nil
	}
	bad := errs.InvalidArgument("cursor is not valid")
	ts, ids, ok := strings.Cut(cur, ".")
	if !ok {
		return Position{}, bad
	}
	t, err1 := strconv.ParseInt(ts, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil || t < 0 || !idgen.Valid(id) {
		return Position{}, bad
	}
	return Position{Time: t, ID: id}, nil
}

// GetVideos returns the videos that exist among the ids.
func (s *Service) GetVideos(ctx context.Context, req *video.GetVideosRequest) (*video.GetVideosResponse, error) {
	ids, err := checkIDs(req.GetVideoIds(), "video")
	if err != nil {
		return nil, err
	}
	vs, err := s.store.Get(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*video.Video, len(vs))
	for id, v := range vs {
		out[id] = toIDL(v)
	}
	return &video.GetVideosResponse{Videos: out}, nil
}

// WorkCounts returns how many videos each user has published: every requested id
// gets an entry, 0 for users without videos.
func (s *Service) WorkCounts(ctx context.Context, req *video.WorkCountsRequest) (*video.WorkCountsResponse, error) {
	ids, err := checkIDs(req.GetUserIds(), "user")
	if err != nil {
		return nil, err
	}
	counts, err := s.store.WorkCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := counts[id]; !ok {
			counts[id] = 0
		}
	}
	return &video.WorkCountsResponse{Counts: counts}, nil
}

// checkIDs validates a batch of ids and drops repeats.
func checkIDs(ids []int64, what string) ([]int64, error) {
	if len(ids) > MaxBatch {
		return nil, errs.InvalidArgument("at most %d %ss per request", MaxBatch, what)
	}
	seen := make(map[int64]struct{}, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid %s id %d", what, id)
		}
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}

// checkTitle enforces api.md's title rule: 1-100 code points of valid UTF-8, not
// blank, no control characters.
func checkTitle(t string) error {
	if !utf8.ValidString(t) {
		return errs.New(base.ErrCode_VideoTitleInvalid, "title must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(t); n < 1 || n > MaxTitleLen {
		return errs.Newf(base.ErrCode_VideoTitleInvalid, "title must be 1-%d characters", MaxTitleLen)
	}
	if text.Blank(t) {
		return errs.New(base.ErrCode_VideoTitleInvalid, "title must not be blank")
	}
	if strings.IndexFunc(t, unicode.IsControl) >= 0 {
		return errs.New(base.ErrCode_VideoTitleInvalid, "title must not contain control characters")
	}
	return nil
}

func toIDL(v *Video) *video.Video {
	return &video.Video{Id: v.ID, AuthorId: v.AuthorID, Title: v.Title, PlayKey: v.PlayKey, CoverKey: v.CoverKey, CreateTime: v.CreateTime}
}
