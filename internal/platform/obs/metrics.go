package obs

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// NewRegistry returns a Prometheus registry holding the Go runtime and process
// collectors. Each server process builds its own instead of using the client library's
// global default registry, so tests and the one-process placement can build several
// without duplicate-registration panics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Label values that keep the metrics' cardinality bounded whatever clients send.
const (
	// RouteUnmatched is the route label of requests that matched no route (404, 405 and
	// malformed requests), so that scanners probing random paths add one series, not one
	// per path.
	RouteUnmatched = "unmatched"
	// OutcomeOK and OutcomeError are the two values of the outcome label.
	OutcomeOK    = "ok"
	OutcomeError = "error"
	// methodOther stands for any request method outside the standard set.
	methodOther = "OTHER"
)

// outcomeKey is where SetOutcome leaves the business status code in the request's keys.
const outcomeKey = "mdouyin.obs.outcome"

// SetOutcome records the business status_code a handler answered with, so that
// HTTPMetrics can tell successes from failures on the app's routes, which always
// answer HTTP 200. Only whether code is zero reaches the metrics: the codes themselves
// would multiply the series by every error kind on every route. The gateway's single
// response writer is the natural caller.
func SetOutcome(c *app.RequestContext, code int32) {
	c.Set(outcomeKey, code)
}

// outcome derives the outcome label from the code stored by SetOutcome, or, for
// handlers that store none (probes, media, the admin API), from the HTTP status.
func outcome(c *app.RequestContext) string {
	if v, ok := c.Get(outcomeKey); ok {
		if code, ok := v.(int32); ok {
			if code == 0 {
				return OutcomeOK
			}
			return OutcomeError
		}
	}
	if c.Response.StatusCode() >= http.StatusBadRequest {
		return OutcomeError
	}
	return OutcomeOK
}

// routeLabel is the matched route pattern, never the raw path: ids inside paths would
// otherwise each open a series.
func routeLabel(c *app.RequestContext) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return RouteUnmatched
}

// methodLabel passes the standard methods through and folds everything else, since
// the method token is chosen by the client and unmatched requests reach the middleware.
func methodLabel(c *app.RequestContext) string {
	m := c.Request.Method()
	for _, s := range standardMethods {
		if string(m) == s { // compares without copying m
			return s
		}
	}
	return methodOther
}

var standardMethods = [...]string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}

// HTTPMetrics holds the request metrics of one Hertz server.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	// The series each request lands in, looked up once: the vectors hash every
	// label value and format the status on each lookup. The label values are
	// bounded (route patterns, standard methods, statuses), and so are these.
	mu        sync.RWMutex
	durations map[durationSeries]prometheus.Observer
	counts    map[countSeries]prometheus.Counter
}

type durationSeries struct{ route, method string }

type countSeries struct {
	route, method string
	status        int
	ok            bool
}

// NewHTTPMetrics creates the HTTP request metrics and registers them with reg. Like
// prometheus.MustRegister it panics if reg already holds metrics of the same names, as
// when two servers are wired to one registry: that is a wiring mistake that shows on
// the first start, not a condition to handle at run time.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mdouyin",
			Name:      "http_requests_total",
			Help:      "HTTP requests served, by route pattern, method, HTTP status and business outcome.",
		}, []string{"route", "method", "code", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "mdouyin",
			Name:      "http_request_duration_seconds",
			Help:      "Time from the first middleware to the response being ready, by route pattern and method.",
			// From in-process calls of a millisecond up to video uploads that ffmpeg
			// decodes and scans for a cover for tens of seconds.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "mdouyin",
			Name:      "http_requests_in_flight",
			Help:      "HTTP requests being served.",
		}),
		durations: map[durationSeries]prometheus.Observer{},
		counts:    map[countSeries]prometheus.Counter{},
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// Middleware returns the Hertz middleware that records every request. Install it with
// engine.Use so it also sees unmatched routes, and before any recovery middleware runs
// so that a recovered panic is counted with the status the recovery wrote.
func (m *HTTPMetrics) Middleware() app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		start := time.Now()
		m.inFlight.Inc()
		// The gauge must come down even if a handler panics past us.
		defer m.inFlight.Dec()

		c.Next(ctx)

		d := durationSeries{routeLabel(c), methodLabel(c)}
		n := countSeries{d.route, d.method, c.Response.StatusCode(), outcome(c) == OutcomeOK}
		m.mu.RLock()
		obs, okD := m.durations[d]
		cnt, okN := m.counts[n]
		m.mu.RUnlock()
		if !okD || !okN {
			obs, cnt = m.series(d, n)
		}
		obs.Observe(time.Since(start).Seconds())
		cnt.Inc()
	}
}

// series looks up and keeps the series of a request the maps did not hold yet.
func (m *HTTPMetrics) series(d durationSeries, n countSeries) (prometheus.Observer, prometheus.Counter) {
	out := OutcomeError
	if n.ok {
		out = OutcomeOK
	}
	obs := m.duration.WithLabelValues(d.route, d.method)
	cnt := m.requests.WithLabelValues(n.route, n.method, strconv.Itoa(n.status), out)
	m.mu.Lock()
	m.durations[d], m.counts[n] = obs, cnt
	m.mu.Unlock()
	return obs, cnt
}

// MetricsHandler serves everything g gathers in the Prometheus exposition format the
// scraper asks for in its Accept header (the text format by default). The response is
// built in memory, so a gathering or encoding failure becomes a clean 500 rather than a
// truncated page that the scraper would half-ingest, as promhttp does by default. It is
// not compressed: scrapes stay on the operators' network.
func MetricsHandler(g prometheus.Gatherer) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		mfs, err := g.Gather()
		if err != nil {
			c.String(http.StatusInternalServerError, "gathering metrics: %v", err)
			return
		}
		accept := http.Header{}
		accept.Set("Accept", string(c.Request.Header.Peek("Accept")))
		format := expfmt.NegotiateAccept(accept, expfmt.DefaultAcceptedFormats()...)

		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				c.String(http.StatusInternalServerError, "encoding metrics: %v", err)
				return
			}
		}
		if closer, ok := enc.(expfmt.Closer); ok {
			if err := closer.Close(); err != nil {
				c.String(http.StatusInternalServerError, "encoding metrics: %v", err)
				return
			}
		}
		c.Response.Header.Set("Vary", "Accept")
		c.Data(consts.StatusOK, string(format), buf.Bytes())
	}
}
