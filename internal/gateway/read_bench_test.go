package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/token"
)

// The read benchmarks call routes in process (no network) over the fake roles of
// readcache_test.go, so they measure the gateway's own part of a read: routing,
// middleware, assembly and encoding. The roles' part is measured in their
// packages (videosvc's BenchmarkFollowingFeed) and under load with mdouyin bench.

// benchRoute measures GET path, with user 7's token when withToken. The log
// level is warn, as under load, where access lines would cost more than the read.
func benchRoute(b *testing.B, path string, withToken bool, setup func(g *Gateway)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("k", 32))), nil, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.HTTPAddr = ln.Addr().String()
	g, err := New(Deps{Config: cfg, Services: newCacheWorld().services(), Tokens: tokens, Limits: ratelimit.Disabled(),
		Log: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), Metrics: prometheus.NewRegistry(), Listener: ln})
	if err != nil {
		b.Fatal(err)
	}
	if setup != nil {
		setup(g)
	}
	url := "http://gw.test" + path
	if withToken {
		tok, err := tokens.Issue(7)
		if err != nil {
			b.Fatal(err)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url += sep + "token=" + tok
	}
	b.ReportAllocs()
	for b.Loop() {
		w := ut.PerformRequest(g.h.Engine, "GET", url, nil)
		if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(`"status_code":0`)) {
			b.Fatalf("GET %s: HTTP %d %s", path, w.Code, w.Body.Bytes())
		}
	}
}

// BenchmarkGuestFeed is an anonymous feed served from the kept first page.
func BenchmarkGuestFeed(b *testing.B) {
	benchRoute(b, "/douyin/feed/", false, nil)
}

// BenchmarkGuestFeedAssembly is an anonymous feed whose page is assembled and
// encoded on every request, as when writes keep dropping it.
func BenchmarkGuestFeedAssembly(b *testing.B) {
	benchRoute(b, "/douyin/feed/", false, func(g *Gateway) {
		now := time.Now()
		g.cache.guest.now = func() time.Time { // every page outlives its lifetime at once
			now = now.Add(guestPageTTL)
			return now
		}
	})
}

// BenchmarkUserFeed is a logged-in viewer's feed: assembled for them every time.
func BenchmarkUserFeed(b *testing.B) {
	benchRoute(b, "/douyin/feed/", true, nil)
}

// BenchmarkCommentList is a logged-in viewer's first comment page.
func BenchmarkCommentList(b *testing.B) {
	benchRoute(b, "/douyin/comment/list/?video_id=1", true, nil)
}

// BenchmarkUserInfo is a logged-in viewer's look at another user.
func BenchmarkUserInfo(b *testing.B) {
	benchRoute(b, "/douyin/user/?user_id=8", true, nil)
}
