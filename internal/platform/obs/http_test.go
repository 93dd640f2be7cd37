package obs

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/cloudwego/hertz/pkg/route"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newEngine() *route.Engine {
	return route.NewEngine(config.NewOptions(nil))
}

// metricValue returns the value of the one series of family name whose labels include
// want, and how many series matched (0 or 1 in a healthy test).
func metricValue(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) (float64, int) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var (
		v       float64
		matches int
	)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, w := range want {
				if got[k] != w {
					continue series
				}
			}
			matches++
			v = seriesValue(m)
		}
	}
	return v, matches
}

func seriesValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// seriesCount is the number of series in family name.
func seriesCount(t *testing.T, g prometheus.Gatherer, name string) int {
	t.Helper()
	_, n := metricValue(t, g, name, nil)
	return n
}

func TestHTTPMetricsRoutePattern(t *testing.T) {
	reg := NewRegistry()
	m := NewHTTPMetrics(reg)
	e := newEngine()
	e.Use(m.Middleware())
	e.GET("/douyin/user/:id", func(ctx context.Context, c *app.RequestContext) {
		switch c.Param("id") {
		case "404":
			c.String(404, "{}")
		case "9":
			SetOutcome(c, 6)
			c.String(200, "{}")
		default:
			SetOutcome(c, 0)
			c.String(200, "{}")
		}
	})
	e.POST("/douyin/favorite/action/", func(ctx context.Context, c *app.RequestContext) {
		SetOutcome(c, 6) // a business failure still answers HTTP 200
		c.String(200, "{}")
	})
	e.GET("/metrics", MetricsHandler(reg))

	// One route, three series: a success, a business failure and an HTTP error
	// are counted apart however the requests interleave.
	for _, id := range []string{"1", "9", "22", "404", "333", "9"} {
		ut.PerformRequest(e, "GET", "/douyin/user/"+id, nil)
	}
	ut.PerformRequest(e, "POST", "/douyin/favorite/action/", nil)

	userOK := map[string]string{"route": "/douyin/user/:id", "method": "GET", "code": "200", "outcome": "ok"}
	if v, n := metricValue(t, reg, "mdouyin_http_requests_total", userOK); n != 1 || v != 3 {
		t.Errorf("requests for /douyin/user/:id = %v in %d series, want 3 in 1", v, n)
	}
	userErr := map[string]string{"route": "/douyin/user/:id", "method": "GET", "code": "200", "outcome": "error"}
	if v, n := metricValue(t, reg, "mdouyin_http_requests_total", userErr); n != 1 || v != 2 {
		t.Errorf("failed requests for /douyin/user/:id = %v in %d series, want 2 in 1", v, n)
	}
	user404 := map[string]string{"route": "/douyin/user/:id", "method": "GET", "code": "404", "outcome": "error"}
	if v, n := metricValue(t, reg, "mdouyin_http_requests_total", user404); n != 1 || v != 1 {
		t.Errorf("404 requests for /douyin/user/:id = %v in %d series, want 1 in 1", v, n)
	}
	favErr := map[string]string{"route": "/douyin/favorite/action/", "outcome": "error", "code": "200"}
	if v, n := metricValue(t, reg, "mdouyin_http_requests_total", favErr); n != 1 || v != 1 {
		t.Errorf("failed favorite requests = %v in %d series, want 1 in 1", v, n)
	}
	if v, n := metricValue(t, reg, "mdouyin_http_request_duration_seconds", map[string]string{"route": "/douyin/user/:id"}); n != 1 || v != 6 {
		t.Errorf("duration samples for /douyin/user/:id = %v in %d series, want 6 in 1", v, n)
	}

	// The exposition carries the same series, with no raw path in sight, next to the
	// runtime collectors NewRegistry installs.
	resp := ut.PerformRequest(e, "GET", "/metrics", nil).Result()
	body := string(resp.Body())
	if resp.StatusCode() != 200 || !strings.HasPrefix(string(resp.Header.ContentType()), "text/plain") {
		t.Fatalf("/metrics answered %d %q", resp.StatusCode(), resp.Header.ContentType())
	}
	line := `mdouyin_http_requests_total{code="200",method="GET",outcome="ok",route="/douyin/user/:id"} 3`
	for _, want := range []string{line, "go_goroutines ", "process_start_time_seconds "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/douyin/user/22") {
		t.Error("/metrics exposes a raw path")
	}
}

func TestHTTPMetricsUnmatchedBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTPMetrics(reg)
	e := newEngine()
	e.Use(m.Middleware())
	e.GET("/healthz", func(ctx context.Context, c *app.RequestContext) { c.String(200, "ok") })

	for i := range 50 {
		ut.PerformRequest(e, "GET", fmt.Sprintf("/probe/%d/wp-login.php", i), nil)
		ut.PerformRequest(e, fmt.Sprintf("X%d", i), "/healthz", nil)
	}

	// 100 distinct paths and methods, two series: GET and OTHER, both unmatched 404s.
	if n := seriesCount(t, reg, "mdouyin_http_requests_total"); n != 2 {
		t.Errorf("%d request series, want 2", n)
	}
	for _, method := range []string{"GET", "OTHER"} {
		want := map[string]string{"route": RouteUnmatched, "method": method, "code": "404", "outcome": "error"}
		if v, n := metricValue(t, reg, "mdouyin_http_requests_total", want); n != 1 || v != 50 {
			t.Errorf("unmatched %s requests = %v in %d series, want 50 in 1", method, v, n)
		}
	}
}

func TestHTTPMetricsInFlight(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTPMetrics(reg)
	e := newEngine()
	e.Use(m.Middleware())
	var during float64
	e.GET("/slow", func(ctx context.Context, c *app.RequestContext) {
		during, _ = metricValue(t, reg, "mdouyin_http_requests_in_flight", nil)
	})
	ut.PerformRequest(e, "GET", "/slow", nil)
	after, _ := metricValue(t, reg, "mdouyin_http_requests_in_flight", nil)
	if during != 1 || after != 0 {
		t.Errorf("in flight: %v during the request, %v after; want 1 and 0", during, after)
	}
}

func TestNewHTTPMetricsDuplicatePanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewHTTPMetrics(reg)
	defer func() {
		if recover() == nil {
			t.Error("registering the HTTP metrics twice on one registry did not panic")
		}
	}()
	NewHTTPMetrics(reg)
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

// idEngine echoes the request id the handler sees in its context.
func idEngine() *route.Engine {
	e := newEngine()
	e.Use(RequestID())
	e.GET("/id", func(ctx context.Context, c *app.RequestContext) {
		c.String(200, RequestIDFrom(ctx))
	})
	return e
}

func TestRequestIDGenerated(t *testing.T) {
	e := idEngine()
	first := ut.PerformRequest(e, "GET", "/id", nil).Result()
	second := ut.PerformRequest(e, "GET", "/id", nil).Result()

	id := first.Header.Get(HeaderRequestID)
	if !hex16.MatchString(id) {
		t.Fatalf("generated id %q is not 16 hex digits", id)
	}
	if got := string(first.Body()); got != id {
		t.Errorf("handler saw id %q, response header says %q", got, id)
	}
	if id == second.Header.Get(HeaderRequestID) {
		t.Errorf("two requests got the same id %q", id)
	}
}

func TestRequestIDPropagated(t *testing.T) {
	e := idEngine()
	in := "edge-7f3a.b_2"
	resp := ut.PerformRequest(e, "GET", "/id", nil, ut.Header{Key: HeaderRequestID, Value: in}).Result()
	if got := resp.Header.Get(HeaderRequestID); got != in {
		t.Errorf("response id %q, want the caller's %q", got, in)
	}
	if got := string(resp.Body()); got != in {
		t.Errorf("handler saw id %q, want %q", got, in)
	}
}

func TestRequestIDHostileReplaced(t *testing.T) {
	e := idEngine()
	for _, hostile := range []string{
		strings.Repeat("a", 65),
		"abc def",
		"id\";drop",
		"<script>",
		"ünïcode",
		"a/b",
	} {
		resp := ut.PerformRequest(e, "GET", "/id", nil, ut.Header{Key: HeaderRequestID, Value: hostile}).Result()
		got := resp.Header.Get(HeaderRequestID)
		if !hex16.MatchString(got) || string(resp.Body()) != got {
			t.Errorf("X-Request-Id %q: response id %q, handler saw %q; want one fresh 16-hex id", hostile, got, resp.Body())
		}
	}
	// The longest acceptable id passes untouched.
	edge := strings.Repeat("Z", 64)
	resp := ut.PerformRequest(e, "GET", "/id", nil, ut.Header{Key: HeaderRequestID, Value: edge}).Result()
	if got := resp.Header.Get(HeaderRequestID); got != edge {
		t.Errorf("64-character id replaced by %q", got)
	}
}

func TestRequestIDFromOutsideRequest(t *testing.T) {
	if got := RequestIDFrom(context.Background()); got != "" {
		t.Errorf("RequestIDFrom(background) = %q, want empty", got)
	}
}

func TestAccessLog(t *testing.T) {
	sink, l := newSink(slog.LevelDebug)
	e := newEngine()
	// AccessLog outside RequestID still finds the id, through the request's keys.
	e.Use(AccessLog(l), RequestID())
	e.GET("/douyin/user/:id", func(ctx context.Context, c *app.RequestContext) { c.String(200, "{}") })
	e.GET("/healthz", func(ctx context.Context, c *app.RequestContext) { c.String(200, "ok") })

	resp := ut.PerformRequest(e, "GET", "/douyin/user/42?token=s3cret", nil).Result()
	ut.PerformRequest(e, "GET", "/healthz", nil)
	ut.PerformRequest(e, "GET", "/nowhere", nil)

	recs := sink.records(t)
	if len(recs) != 3 {
		t.Fatalf("got %d access log records, want 3: %v", len(recs), recs)
	}
	r := recs[0]
	want := map[string]any{
		"level": "INFO", "msg": "http request", "method": "GET", "route": "/douyin/user/:id",
		"path": "/douyin/user/42", "status": float64(200), "request_id": resp.Header.Get(HeaderRequestID),
	}
	for k, w := range want {
		if r[k] != w {
			t.Errorf("access log %s = %v, want %v", k, r[k], w)
		}
	}
	for _, k := range []string{"duration", "client_ip"} {
		if _, ok := r[k]; !ok {
			t.Errorf("access log lacks %s: %v", k, r)
		}
	}
	if line := fmt.Sprint(r); strings.Contains(line, "s3cret") {
		t.Errorf("access log leaks the query string: %s", line)
	}
	if recs[1]["level"] != "DEBUG" || recs[1]["route"] != "/healthz" {
		t.Errorf("probe logged as %v, want DEBUG", recs[1])
	}
	if recs[2]["route"] != RouteUnmatched || recs[2]["status"] != float64(404) || recs[2]["level"] != "INFO" {
		t.Errorf("unmatched request logged as %v", recs[2])
	}
}
