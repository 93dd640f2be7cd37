package gateway

// Media served from blob storage (local disk in one process): videos and covers
// under /media/<key>, with the HTTP caching and Range support players rely on.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"

	"github.com/mdouyin/mdouyin/internal/platform/blob"
)

// mediaServer serves blobs over HTTP.
type mediaServer struct {
	store blob.Store
	log   *slog.Logger
}

// newMediaServer serves the objects of store; a nil store serves nothing (404).
func newMediaServer(store blob.Store, log *slog.Logger) *mediaServer {
	return &mediaServer{store: store, log: log}
}

// mediaRoutes registers GET and HEAD /media/*key.
func (g *Gateway) mediaRoutes() {
	m := newMediaServer(g.media, g.log)
	g.h.GET("/media/*key", m.serve)
	g.h.HEAD("/media/*key", m.serve)
}

// mediaCacheControl lets clients and caches keep media for a year without
// asking again: keys are content addresses, so the bytes behind a key never
// change.
const mediaCacheControl = "public, max-age=31536000, immutable"

// serve answers one media request: 404 for an unknown or unacceptable key, 304
// when the client's copy is current, 206 for a satisfiable byte range, 416 for
// an unsatisfiable or malformed one, else 200 with the whole object.
func (m *mediaServer) serve(ctx context.Context, c *app.RequestContext) {
	key := strings.TrimPrefix(c.Param("key"), "/")
	if m.store == nil || key == "" {
		notFound(c)
		return
	}
	obj, err := m.store.Open(ctx, key)
	if err != nil {
		if !errors.Is(err, blob.ErrNotFound) && !errors.Is(err, blob.ErrInvalidKey) {
			m.log.WarnContext(ctx, "cannot open media", "key", key, "err", err)
			c.AbortWithStatus(consts.StatusInternalServerError)
			return
		}
		notFound(c)
		return
	}
	closeObj := true
	defer func() {
		if closeObj {
			obj.Close()
		}
	}()
	info := obj.Info()
	etag := `"` + info.ETag + `"`
	modTime := info.ModTime.UTC().Truncate(time.Second)
	h := &c.Response.Header
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", etag)
	h.Set("Last-Modified", modTime.Format(http.TimeFormat))
	h.Set("Cache-Control", mediaCacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.SetContentType(info.ContentType)

	if notModified(c, etag, modTime) {
		c.Status(consts.StatusNotModified)
		c.Response.SkipBody = true
		return
	}

	start, length, status := int64(0), info.Size, consts.StatusOK
	if rng := string(c.Request.Header.Peek("Range")); rng != "" && rangeApplies(c, etag, modTime) {
		s, n, ok := parseRange(rng, info.Size)
		switch {
		case !ok:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
			c.Response.Header.SetContentType("text/plain; charset=utf-8")
			c.String(consts.StatusRequestedRangeNotSatisfiable, "requested range not satisfiable")
			return
		case n >= 0: // one range; several are answered with the whole object
			start, length, status = s, n, consts.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(s, 10)+"-"+strconv.FormatInt(s+n-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
		}
	}
	c.Status(status)
	if string(c.Request.Header.Method()) == consts.MethodHead {
		c.Response.Header.SetContentLength(int(length))
		c.Response.SkipBody = true
		return
	}
	if _, err := obj.Seek(start, io.SeekStart); err != nil {
		m.log.WarnContext(ctx, "cannot seek media", "key", key, "err", err)
		c.AbortWithStatus(consts.StatusInternalServerError)
		return
	}
	// Hertz streams the body and closes it when done.
	closeObj = false
	c.Response.SetBodyStream(readCloser{Reader: io.LimitReader(obj, length), Closer: obj}, int(length))
}

type readCloser struct {
	io.Reader
	io.Closer
}

func notFound(c *app.RequestContext) {
	c.Response.Header.Set("Cache-Control", "no-store")
	c.String(consts.StatusNotFound, "not found")
}

// notModified evaluates If-None-Match, or If-Modified-Since without it (RFC 9110
// 13.2.2).
func notModified(c *app.RequestContext, etag string, modTime time.Time) bool {
	if inm := string(c.Request.Header.Peek("If-None-Match")); inm != "" {
		return etagListMatches(inm, etag, true)
	}
	if ims := string(c.Request.Header.Peek("If-Modified-Since")); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !modTime.After(t)
	}
	return false
}

// rangeApplies evaluates If-Range: without it a Range applies; with it only when
// the representation is still the one the client has (strong ETag, or the exact
// Last-Modified date).
func rangeApplies(c *app.RequestContext, etag string, modTime time.Time) bool {
	ir := strings.TrimSpace(string(c.Request.Header.Peek("If-Range")))
	switch {
	case ir == "":
		return true
	case strings.HasPrefix(ir, `"`):
		return ir == etag
	case strings.HasPrefix(ir, "W/"):
		return false // weak validators never match for If-Range
	}
	t, err := http.ParseTime(ir)
	return err == nil && t.Equal(modTime)
}

// etagListMatches reports whether a list of entity tags (or "*") matches etag;
// weak comparison ignores W/ prefixes.
func etagListMatches(list, etag string, weak bool) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if weak {
			t = strings.TrimPrefix(t, "W/")
		}
		if t == etag {
			return true
		}
	}
	return false
}

// parseRange reads a Range header against an object of size bytes. It answers
// ok=false when the header is malformed or no range is satisfiable, n=-1 when it
// holds several satisfiable ranges (served as the whole object, which RFC 9110
// 14.2 allows; players ask for one range), else the one range's start and length.
// The forms are bytes=a-b, bytes=a- and bytes=-n.
func parseRange(h string, size int64) (start, n int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	count := 0
	for _, r := range strings.Split(spec, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		first, last, found := strings.Cut(r, "-")
		if !found {
			return 0, 0, false
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var s, e int64
		if first == "" {
			// Suffix: the last n bytes.
			k, err := strconv.ParseInt(last, 10, 64)
			if err != nil || k < 0 || !digits(last) {
				return 0, 0, false
			}
			if k == 0 || size == 0 {
				continue // unsatisfiable
			}
			s, e = max(0, size-k), size-1
		} else {
			a, err := strconv.ParseInt(first, 10, 64)
			if err != nil || !digits(first) {
				return 0, 0, false
			}
			e = size - 1
			if last != "" {
				b, err := strconv.ParseInt(last, 10, 64)
				if err != nil || !digits(last) || b < a {
					return 0, 0, false
				}
				e = min(b, size-1)
			}
			if a >= size {
				continue // unsatisfiable
			}
			s = a
		}
		count++
		start, n = s, e-s+1
	}
	switch count {
	case 0:
		return 0, 0, false
	case 1:
		return start, n, true
	}
	return 0, -1, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
