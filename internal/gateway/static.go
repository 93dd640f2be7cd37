package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
)

// backgroundCount is how many generated profile backgrounds users are spread over.
const backgroundCount = 8

// staticImages renders the default avatars and backgrounds that users who never set
// their own are shown: real images served by us, not links to third-party hosts.
// An avatar is a symmetric 5×5 identicon derived from the user id, so users are told
// apart at a glance. Rendered images are kept, bounded, since they never change.
type staticImages struct {
	mu    sync.Mutex
	cache map[string][]byte
}

const maxCachedImages = 4096

func newStaticImages() *staticImages { return &staticImages{cache: map[string][]byte{}} }

func (s *staticImages) get(key string, render func() []byte) []byte {
	s.mu.Lock()
	b, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return b
	}
	b = render()
	s.mu.Lock()
	if len(s.cache) >= maxCachedImages {
		clear(s.cache)
	}
	s.cache[key] = b
	s.mu.Unlock()
	return b
}

func (g *Gateway) avatar(ctx context.Context, c *app.RequestContext) {
	id, ok := pngNumber(c.Param("file"))
	if !ok || id <= 0 || id >= maxID {
		c.AbortWithStatus(consts.StatusNotFound)
		return
	}
	servePNG(c, g.static.get("a"+strconv.FormatInt(id, 10), func() []byte { return identicon(id) }))
}

func (g *Gateway) background(ctx context.Context, c *app.RequestContext) {
	n, ok := pngNumber(c.Param("file"))
	if !ok || n < 0 || n >= backgroundCount {
		c.AbortWithStatus(consts.StatusNotFound)
		return
	}
	servePNG(c, g.static.get("b"+strconv.FormatInt(n, 10), func() []byte { return gradient(int(n)) }))
}

// pngNumber parses names like "123.png".
func pngNumber(file string) (int64, bool) {
	num, found := strings.CutSuffix(file, ".png")
	if !found || num == "" || len(num) > 16 {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}

func servePNG(c *app.RequestContext, b []byte) {
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "public, max-age=604800, immutable")
	if string(c.GetHeader("If-None-Match")) == etag {
		c.Status(consts.StatusNotModified)
		return
	}
	c.Data(consts.StatusOK, "image/png", b)
}

// identicon draws a 5×5 mirrored pattern in a colour taken from the id's hash.
func identicon(id int64) []byte {
	sum := sha256.Sum256([]byte("avatar:" + strconv.FormatInt(id, 10)))
	fg := color.RGBA{sum[0]/2 + 64, sum[1]/2 + 64, sum[2]/2 + 64, 255}
	bg := color.RGBA{240, 240, 240, 255}
	const cell, size = 24, 5*24 + 2*12
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.SetRGBA(x, y, bg)
		}
	}
	for row := 0; row < 5; row++ {
		for col := 0; col < 3; col++ {
			if sum[3+row*3+col]&1 == 0 {
				continue
			}
			for _, cc := range []int{col, 4 - col} {
				for y := 0; y < cell; y++ {
					for x := 0; x < cell; x++ {
						img.SetRGBA(12+cc*cell+x, 12+row*cell+y, fg)
					}
				}
			}
		}
	}
	return encodePNG(img)
}

// gradient draws a soft diagonal gradient; n picks its colours.
func gradient(n int) []byte {
	palette := [backgroundCount][2]color.RGBA{
		{{255, 94, 98, 255}, {255, 153, 102, 255}},
		{{54, 209, 220, 255}, {91, 134, 229, 255}},
		{{142, 45, 226, 255}, {74, 0, 224, 255}},
		{{17, 153, 142, 255}, {56, 239, 125, 255}},
		{{252, 70, 107, 255}, {63, 94, 251, 255}},
		{{255, 216, 155, 255}, {25, 84, 123, 255}},
		{{238, 156, 167, 255}, {255, 221, 225, 255}},
		{{32, 0, 44, 255}, {203, 180, 212, 255}},
	}
	from, to := palette[n][0], palette[n][1]
	const w, h = 720, 360
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := float64(x+y) / float64(w+h)
			mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t) }
			img.SetRGBA(x, y, color.RGBA{mix(from.R, to.R), mix(from.G, to.G), mix(from.B, to.B), 255})
		}
	}
	return encodePNG(img)
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory RGBA image cannot fail
	}
	return buf.Bytes()
}
