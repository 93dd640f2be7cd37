package obs

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/prometheus/client_golang/prometheus"
)

// benchChain measures GET /douyin/feed/ through an engine whose handler writes
// a fixed answer, with the gateway's observability middleware (RequestID,
// HTTPTracing with tracing off, AccessLog at warn, HTTPMetrics) or without it:
// the difference is what the chain costs every request.
func benchChain(b *testing.B, chain bool) {
	e := newEngine()
	if chain {
		quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
		e.Use(RequestID(), HTTPTracing(), AccessLog(quiet), NewHTTPMetrics(prometheus.NewRegistry()).Middleware())
	}
	body := []byte(`{"status_code":0}`)
	e.GET("/douyin/feed/", func(ctx context.Context, c *app.RequestContext) {
		SetOutcome(c, 0)
		c.Data(consts.StatusOK, "application/json; charset=utf-8", body)
	})
	b.ReportAllocs()
	for b.Loop() {
		if w := ut.PerformRequest(e, "GET", "/douyin/feed/", nil); w.Code != consts.StatusOK {
			b.Fatalf("HTTP %d", w.Code)
		}
	}
}

func BenchmarkBareRoute(b *testing.B) { benchChain(b, false) }
func BenchmarkWithChain(b *testing.B) { benchChain(b, true) }
