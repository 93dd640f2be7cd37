package gateway

// Video routes: publish, publish list and feed, served by the video role; and the
// Video objects every video list shares.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	hjson "github.com/cloudwego/hertz/pkg/common/json"
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Video is the app's Video object (api.md A.2).
type Video struct {
	ID            int64  `json:"id"`
	Author        *User  `json:"author"`
	PlayURL       string `json:"play_url"`
	CoverURL      string `json:"cover_url"`
	FavoriteCount int64  `json:"favorite_count"`
	CommentCount  int64  `json:"comment_count"`
	IsFavorite    bool   `json:"is_favorite"`
	Title         string `json:"title"`
}

// feedCount is the app's feed page (api.md A.3: at most 30).
const feedCount = 30

// feedBody is the feed's answer.
type feedBody struct {
	status
	NextTime  int64    `json:"next_time"`
	VideoList []*Video `json:"video_list"`
}

func (g *Gateway) feed(ctx context.Context, c *app.RequestContext) {
	fail := map[string]any{"video_list": []*Video{}, "next_time": 0}
	// Logging in is optional here: an invalid or expired token reads as anonymous.
	viewer := g.currentUser(c)
	latest, err := parseTime("latest_time", param(c, "latest_time"))
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	typ := param(c, "type")
	if viewer == 0 && guestType(typ) {
		served, err := g.guestFeed(ctx, c, latest)
		if err != nil {
			g.fail(ctx, c, err, fail)
			return
		}
		if served {
			return
		}
	}
	r, err := g.svc.Video.Feed(ctx, &video.FeedRequest{ViewerId: viewer, LatestTime: latest, Type: typ, Count: feedCount})
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	list, _, err := g.videoObjects(ctx, c, viewer, r.GetVideos())
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	okTyped(c, &feedBody{NextTime: r.GetNextTime(), VideoList: list})
}

// guestType reports whether a feed of this type is, for an anonymous viewer, the
// global timeline: every type the video role accepts ("", "global" and
// "following") is; others are refused by the role.
func guestType(t string) bool {
	return t == "" || t == "global" || t == "following"
}

// guestFeed answers an anonymous request for the feed's first page from the kept
// encoded page (readcache.go) and reports whether it did. latest (ms, 0 for now)
// may be any time after the page's newest video: the timeline before it is the
// same page. A latest within a minute of now reads as a first page worth
// assembling; older ones (paging) only use a page kept already.
func (g *Gateway) guestFeed(ctx context.Context, c *app.RequestContext, latest int64) (bool, error) {
	pages := &g.cache.guest
	root := g.baseURL(c)
	usable := func(pg guestPage) bool {
		return latest == 0 || (pg.newest != 0 && latest > pg.newest)
	}
	if latest != 0 && latest < pages.now().Add(-time.Minute).UnixMilli() {
		pg, ok := pages.get(root, pages.now())
		if ok && usable(pg) {
			okEncoded(c, pg.body)
		}
		return ok && usable(pg), nil
	}
	pg, err := pages.load(context.WithoutCancel(ctx), root, func(ctx context.Context) (guestPage, bool, error) {
		r, err := g.svc.Video.Feed(ctx, &video.FeedRequest{Count: feedCount})
		if err != nil {
			return guestPage{}, false, err
		}
		var degraded atomic.Bool
		list, _, err := g.assembleVideos(ctx, c, 0, r.GetVideos(), nil, &degraded)
		if err != nil {
			return guestPage{}, false, err
		}
		body, err := hjson.Marshal(&feedBody{NextTime: r.GetNextTime(), VideoList: list})
		if err != nil {
			return guestPage{}, false, err
		}
		pg := guestPage{body: body}
		if vs := r.GetVideos(); len(vs) > 0 {
			pg.newest = vs[0].GetCreateTime()
		}
		return pg, !degraded.Load(), nil
	})
	if err != nil || !usable(pg) {
		return false, err
	}
	okEncoded(c, pg.body)
	return true, nil
}

// parseTime reads an epoch time parameter the way the app sends it: absent or 0
// for "now", values below 10^11 as seconds, larger ones as milliseconds. It
// answers milliseconds, 0 for "now".
func parseTime(name, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some clients send an exactly integral float, as for ids.
		f, ferr := strconv.ParseFloat(s, 64)
		if len(s) > 32 || ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) >= 1<<62 {
			return 0, errs.InvalidArgument("%s must be an epoch time in seconds or milliseconds", name)
		}
		n = int64(f)
	}
	switch {
	case n < 0:
		return 0, errs.InvalidArgument("%s must not be negative", name)
	case n < 1e11:
		return n * 1000, nil
	}
	return n, nil
}

func (g *Gateway) publishList(ctx context.Context, c *app.RequestContext) {
	fail := map[string]any{"video_list": []*Video{}}
	viewer, err := g.requireUser(ctx, c)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	id, err := parseOptionalID("user_id", param(c, "user_id"))
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	if id == 0 {
		id = viewer
	}
	page, err := pageParams(c, 100, 100)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	r, err := g.svc.Video.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: id, Page: page})
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	// The list's owner joins the authors' lookup, so an unknown user is told
	// apart from one without videos in the same call.
	list, users, err := g.videoObjects(ctx, c, viewer, r.GetVideos(), id)
	if err != nil {
		g.fail(ctx, c, err, fail)
		return
	}
	if users[id] == nil {
		g.fail(ctx, c, errs.New(base.ErrCode_UserNotFound, "user not found"), fail)
		return
	}
	ok(c, pageBody(map[string]any{"video_list": list}, r.GetPage()))
}

// videos assembles the app's Video objects for ids as seen by viewer (0:
// anonymous), in the order of ids, leaving out ids that name no video. It makes
// one call per service whatever the number of videos.
func (g *Gateway) videos(ctx context.Context, c *app.RequestContext, viewer int64, ids []int64) ([]*Video, error) {
	if len(ids) == 0 {
		return []*Video{}, nil
	}
	r, err := g.svc.Video.GetVideos(ctx, &video.GetVideosRequest{VideoIds: ids})
	if err != nil {
		return nil, err
	}
	found := r.GetVideos()
	vs := make([]*video.Video, 0, len(ids))
	for _, id := range ids {
		if v := found[id]; v != nil {
			vs = append(vs, v)
		}
	}
	list, _, err := g.videoObjects(ctx, c, viewer, vs)
	return list, err
}

// videoObjects is videos for video records already fetched (the feed, publish
// lists). It also looks up the users in alsoUsers, in the same call as the
// authors, and returns every user it found. A video whose author has no account
// is left out: the app cannot show a video without its author.
func (g *Gateway) videoObjects(ctx context.Context, c *app.RequestContext, viewer int64, vs []*video.Video, alsoUsers ...int64) ([]*Video, map[int64]*User, error) {
	return g.assembleVideos(ctx, c, viewer, vs, alsoUsers, nil)
}

// assembleVideos is videoObjects; it sets *degraded (when not nil) if a role
// that decorates the videos did not answer and its part is missing.
func (g *Gateway) assembleVideos(ctx context.Context, c *app.RequestContext, viewer int64, vs []*video.Video, alsoUsers []int64, degraded *atomic.Bool) ([]*Video, map[int64]*User, error) {
	out := make([]*Video, 0, len(vs))
	if len(vs) == 0 && len(alsoUsers) == 0 {
		return out, map[int64]*User{}, nil
	}
	ids := make([]int64, 0, len(vs))
	userIDs := append(make([]int64, 0, len(alsoUsers)+len(vs)), alsoUsers...)
	seen := make(map[int64]bool, len(vs)+len(alsoUsers))
	for _, id := range alsoUsers {
		seen[id] = true
	}
	for _, v := range vs {
		ids = append(ids, v.GetId())
		if a := v.GetAuthorId(); !seen[a] {
			seen[a] = true
			userIDs = append(userIDs, a)
		}
	}
	var (
		users    map[int64]*User
		favs     map[int64]*favorite.VideoStats
		comments map[int64]int64
	)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		users, err = g.assembleUsers(ectx, c, viewer, userIDs, false, degraded)
		return err
	})
	if len(ids) > 0 {
		eg.Go(func() error {
			r, err := g.svc.Favorite.VideoStats(ectx, &favorite.VideoStatsRequest{ViewerId: viewer, VideoIds: ids})
			if err == nil {
				favs = r.GetStats()
			}
			return g.decorating(ectx, depFavorite, err, degraded) // down: no counts, not liked
		})
		eg.Go(func() error {
			r, err := g.svc.Comment.VideoCounts(ectx, &comment.VideoCountsRequest{VideoIds: ids})
			if err == nil {
				comments = r.GetCounts()
			}
			return g.decorating(ectx, depComment, err, degraded)
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	root := g.baseURL(c)
	for _, v := range vs {
		author := users[v.GetAuthorId()]
		if author == nil {
			continue
		}
		o := &Video{
			ID:           v.GetId(),
			Author:       author,
			PlayURL:      g.mediaURL(root, v.GetPlayKey(), ""),
			CoverURL:     g.mediaURL(root, v.GetCoverKey(), ""),
			CommentCount: comments[v.GetId()],
			Title:        v.GetTitle(),
		}
		if f := favs[v.GetId()]; f != nil {
			o.FavoriteCount, o.IsFavorite = f.GetFavoriteCount(), f.GetIsFavorite()
		}
		out = append(out, o)
	}
	return out, users, nil
}

// Publishing.

// uploadPrefix is where uploads are staged in blob storage for the video role,
// which reads only keys under it (videosvc.UploadPrefix).
const uploadPrefix = "uploads/"

// Bounds on the multipart form of a publish, beside the file's own limit.
const (
	maxFormField = 4 << 10 // a text field (title, token)
	maxFormParts = 16
)

var (
	errNoVideoFile  = errs.InvalidArgument("the video file is missing: send it as the multipart field data")
	errNotMultipart = errs.InvalidArgument("publish must be sent as multipart/form-data")
	errEmptyUpload  = errs.New(base.ErrCode_VideoFileInvalid, "the file is empty")
)

// upload is what publishAction reads from the multipart stream.
type upload struct {
	fields map[string]string
	file   string // temporary file holding data, "" when absent
	size   int64
}

// publishAction streams the uploaded file to a temporary file (never whole in
// memory), bounded by the upload limit, stages it in blob storage for the video
// role and asks the role to publish it. The temporary file and the staged object
// are removed whatever happens; the answer comes after the video is committed.
func (g *Gateway) publishAction(ctx context.Context, c *app.RequestContext) {
	limit := g.cfg.HTTP.MaxUploadBytes
	if cl := int64(c.Request.Header.ContentLength()); cl > limit {
		g.refuseBody(ctx, c, limit)
		return
	}
	// The body may take longer than other requests' read timeout: a large file
	// on a slow link. Its own bound starts now that the headers are in.
	if conn := c.GetConn(); conn != nil {
		conn.SetReadDeadline(time.Now().Add(g.cfg.HTTP.UploadTimeout))
	}
	// A token in the query string is checked before the body is read; one in
	// the form is checked as soon as the form reaches the file.
	var viewer int64
	if t, ok := c.GetQuery("token"); ok {
		id, err := g.tokens.Verify(t)
		if err != nil {
			g.failUpload(ctx, c, err)
			return
		}
		viewer = id
	}
	up, err := g.readUpload(ctx, c, limit, &viewer)
	if up != nil && up.file != "" {
		defer os.Remove(up.file)
	}
	if err != nil {
		g.failUpload(ctx, c, err)
		return
	}
	formParam := func(k string) string {
		if v, ok := c.GetQuery(k); ok {
			return v
		}
		return up.fields[k]
	}
	if viewer == 0 {
		id, err := g.requireToken(formParam("token"))
		if err != nil {
			g.fail(ctx, c, err, nil)
			return
		}
		viewer = id
	}
	title := formParam("title")
	switch {
	case up.file == "":
		g.fail(ctx, c, errNoVideoFile, nil)
		return
	case strings.TrimSpace(title) == "":
		g.fail(ctx, c, errs.New(base.ErrCode_VideoTitleInvalid, "title is required"), nil)
		return
	case up.size == 0:
		g.fail(ctx, c, errEmptyUpload, nil)
		return
	}

	if g.media == nil {
		g.fail(ctx, c, errors.New("gateway: no blob store to stage uploads in"), nil)
		return
	}
	key := uploadPrefix + randomHex(16)
	// Removed even when the request is cancelled; the video role removes it too
	// once it has read it.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := g.media.Delete(dctx, key); err != nil {
			g.log.WarnContext(dctx, "cannot delete staged upload", "key", key, "err", err)
		}
	}()
	if _, err := g.media.PutFile(ctx, key, up.file, "application/octet-stream"); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	if err := g.checkAccount(ctx, viewer); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	if _, err := g.svc.Video.Publish(ctx, &video.PublishRequest{UserId: viewer, Title: title, UploadKey: key}); err != nil {
		g.fail(ctx, c, err, nil)
		return
	}
	// The publisher may look for the video in the guest feed next.
	g.cache.guest.drop()
	ok(c, map[string]any{})
}

// requireToken verifies a token read from somewhere other than param.
func (g *Gateway) requireToken(t string) (int64, error) {
	if t == "" {
		return 0, errs.New(base.ErrCode_Unauthenticated, "please log in first (token is missing)")
	}
	return g.tokens.Verify(t)
}

// failUpload answers a publish refused before its body was read to the end;
// the connection cannot carry another request and closes (closeUnread).
func (g *Gateway) failUpload(ctx context.Context, c *app.RequestContext, err error) {
	g.fail(ctx, c, err, nil)
	closeUnread(c, g.cfg.HTTP.MaxUploadBytes)
}

// errUploadTooLarge is what the body reader returns past the upload limit.
var errUploadTooLarge = errors.New("gateway: upload over the limit")

// readUpload reads the multipart body: small text fields into memory, the file
// part data into a temporary file. A form token that comes before the file is
// verified before the file is read (when *viewer is still 0); one that comes
// after it is verified by the caller. On error the returned upload still names
// any temporary file to remove.
func (g *Gateway) readUpload(ctx context.Context, c *app.RequestContext, limit int64, viewer *int64) (*upload, error) {
	up := &upload{fields: map[string]string{}}
	mt, params, err := mime.ParseMediaType(string(c.Request.Header.ContentType()))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return up, errNotMultipart
	}
	if c.Request.HasMultipartForm() {
		// The server parsed the form before the handler (its pre-parsing of
		// multipart bodies is on): take it as parsed rather than have it
		// re-encoded into memory.
		return up, g.readParsedUpload(c, up, limit)
	}
	var body io.Reader = c.Request.BodyStream()
	if !c.Request.IsBodyStream() {
		body = bytes.NewReader(c.Request.BodyBytes())
	}
	mr := multipart.NewReader(&cappedReader{r: body, left: limit}, params["boundary"])
	tooLarge := errs.Newf(base.ErrCode_TooLarge, "the video is larger than %d bytes", limit)
	bad := func(err error) error {
		if errors.Is(err, errUploadTooLarge) {
			return tooLarge
		}
		return errs.InvalidArgument("the multipart body could not be read")
	}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return up, nil
		}
		if err != nil {
			return up, bad(err)
		}
		if parts >= maxFormParts {
			return up, errs.InvalidArgument("the form has too many fields")
		}
		name := part.FormName()
		switch {
		case name == "data":
			if up.file != "" {
				return up, errs.InvalidArgument("send one video file per request")
			}
			if t := up.fields["token"]; *viewer == 0 && t != "" {
				id, err := g.tokens.Verify(t)
				if err != nil {
					return up, err
				}
				*viewer = id
			}
			if err := g.saveUpload(up, part); err != nil {
				if errors.Is(err, errUploadTooLarge) {
					return up, tooLarge
				}
				var perr *os.PathError
				if errors.As(err, &perr) {
					return up, err // our disk, not the client's body
				}
				return up, bad(err)
			}
		case name == "title" || name == "token":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return up, bad(err)
			}
			if len(b) > maxFormField {
				return up, errs.InvalidArgument("the form field %s is too long", name)
			}
			up.fields[name] = string(b)
		default:
			// Other fields are read past, counted against the body limit.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return up, bad(err)
			}
		}
		part.Close()
	}
}

// readParsedUpload takes the upload from a form the server parsed already. The
// server bounds it only by its declared length, so the limit is checked again.
func (g *Gateway) readParsedUpload(c *app.RequestContext, up *upload, limit int64) error {
	form, err := c.Request.MultipartForm()
	if err != nil {
		return errs.InvalidArgument("the multipart body could not be read")
	}
	for _, k := range []string{"title", "token"} {
		if v := form.Value[k]; len(v) > 0 {
			if len(v[0]) > maxFormField {
				return errs.InvalidArgument("the form field %s is too long", k)
			}
			up.fields[k] = v[0]
		}
	}
	files := form.File["data"]
	switch {
	case len(files) == 0:
		return nil
	case len(files) > 1:
		return errs.InvalidArgument("send one video file per request")
	case files[0].Size > limit:
		return errs.Newf(base.ErrCode_TooLarge, "the video is larger than %d bytes", limit)
	}
	f, err := files[0].Open()
	if err != nil {
		return err
	}
	defer f.Close()
	return g.saveUpload(up, f)
}

// saveUpload copies the file part to a temporary file beside the blob store's
// data, so that staging it is a rename rather than a copy.
func (g *Gateway) saveUpload(up *upload, part io.Reader) error {
	dir := filepath.Join(g.cfg.DataDir, "tmp", "uploads")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return err
	}
	up.file = f.Name()
	n, err := io.CopyBuffer(f, part, make([]byte, 256<<10))
	up.size = n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// cappedReader reads at most left bytes, then fails with errUploadTooLarge rather
// than ending, so an oversized body is refused instead of read as truncated.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n > 0 {
			return 0, errUploadTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b)
}
