package obs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/common/ut"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

const (
	incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpan  = "00f067aa0ba902b7"
)

func memoryTracing(t *testing.T) (*tracetest.InMemoryExporter, []TraceOption) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return spans, []TraceOption{WithTracerProvider(tp), WithPropagator(Propagator())}
}

// TestHTTPTracing checks the server span of a request: named after the route
// pattern, a child of the caller's traceparent, carrying method, route,
// status and request id, and in the context the handlers receive; a 5xx marks
// it failed, and probes make no spans.
func TestHTTPTracing(t *testing.T) {
	spans, opts := memoryTracing(t)
	e := newEngine()
	e.Use(RequestID(), HTTPTracing(opts...))
	var inHandler trace.SpanContext
	e.GET("/douyin/user/:id", func(ctx context.Context, c *app.RequestContext) {
		inHandler = trace.SpanContextFromContext(ctx)
		SetOutcome(c, 7)
		c.String(200, "{}")
	})
	e.GET("/broken", func(ctx context.Context, c *app.RequestContext) { c.String(503, "down") })
	e.GET("/healthz", func(ctx context.Context, c *app.RequestContext) { c.String(200, "ok") })

	resp := ut.PerformRequest(e, "GET", "/douyin/user/42", nil,
		ut.Header{Key: "traceparent", Value: "00-" + incomingTrace + "-" + incomingSpan + "-01"}).Result()
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans for one request, want 1", len(got))
	}
	s := got[0]
	if s.Name != "GET /douyin/user/:id" || s.SpanKind != trace.SpanKindServer {
		t.Fatalf("span %q of kind %v, want a server span named GET /douyin/user/:id", s.Name, s.SpanKind)
	}
	if s.SpanContext.TraceID().String() != incomingTrace || s.Parent.SpanID().String() != incomingSpan || !s.Parent.IsRemote() {
		t.Fatalf("span in trace %s under %s, want trace %s under the caller's span %s",
			s.SpanContext.TraceID(), s.Parent.SpanID(), incomingTrace, incomingSpan)
	}
	if inHandler.SpanID() != s.SpanContext.SpanID() {
		t.Fatalf("the handler's context holds span %s, want the request's span %s", inHandler.SpanID(), s.SpanContext.SpanID())
	}
	id := string(resp.Header.Peek(HeaderRequestID))
	for _, want := range []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("http.route", "/douyin/user/:id"),
		attribute.Int("http.response.status_code", 200),
		attribute.String("mdouyin.request_id", id),
		attribute.Int("mdouyin.status_code", 7),
	} {
		if !hasAttr(s.Attributes, want) {
			t.Errorf("span lacks %s=%s; has %v", want.Key, want.Value.Emit(), s.Attributes)
		}
	}
	if s.Status.Code == codes.Error {
		t.Error("a request answered 200 is marked failed")
	}

	spans.Reset()
	ut.PerformRequest(e, "GET", "/broken", nil)
	ut.PerformRequest(e, "GET", "/healthz", nil)
	ut.PerformRequest(e, "GET", "/no/such/path/123", nil)
	got = spans.GetSpans()
	if len(got) != 2 {
		t.Fatalf("spans %v, want /broken and the unmatched request, not the probe", spanNames(got))
	}
	if got[0].Name != "GET /broken" || got[0].Status.Code != codes.Error {
		t.Errorf("span %q status %v, want GET /broken failed", got[0].Name, got[0].Status)
	}
	if got[1].Name != "GET "+RouteUnmatched || got[1].Parent.IsValid() {
		t.Errorf("span %q under %v, want a new trace named GET %s", got[1].Name, got[1].Parent, RouteUnmatched)
	}
}

// TestOTLPExporterSends checks that a provider from NewTracerProvider really
// posts spans to the collector, as OTLP protobuf on /v1/traces, under the
// configured service name, by the time it has shut down.
func TestOTLPExporterSends(t *testing.T) {
	col := newCollector(t)
	tp, err := NewTracerProvider(t.Context(), TracingOptions{Endpoint: col.addr(), Insecure: true, SampleRatio: 1, Service: "mdouyin-test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(t.Context(), "probe span")
	span.SetAttributes(attribute.String("probe", "yes"))
	span.End()
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Fatalf("shutdown (flush): %v", err)
	}
	reqs := col.requests()
	if len(reqs) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/v1/traces" || r.contentType != "application/x-protobuf" {
		t.Fatalf("collector got %s %s (%s), want a protobuf POST to /v1/traces", r.method, r.path, r.contentType)
	}
	var export collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(r.body, &export); err != nil {
		t.Fatalf("body is not an OTLP export request: %v", err)
	}
	var names []string
	var service string
	for _, rs := range export.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				names = append(names, s.GetName())
			}
		}
	}
	if service != "mdouyin-test" || len(names) != 1 || names[0] != "probe span" {
		t.Fatalf("exported spans %q of service %q, want [probe span] of mdouyin-test", names, service)
	}
}

// TestSamplingFollowsTheCaller checks the parent-based ratio sampler: with a
// ratio of 0 no new trace is recorded, but a call inside a caller's sampled
// trace is, so traces are never recorded in part.
func TestSamplingFollowsTheCaller(t *testing.T) {
	col := newCollector(t)
	tp, err := NewTracerProvider(t.Context(), TracingOptions{Endpoint: col.addr(), Insecure: true, SampleRatio: 0, Service: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("test")
	_, root := tracer.Start(t.Context(), "new trace")
	if root.IsRecording() {
		t.Error("a new trace was recorded at ratio 0")
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
		TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tracer.Start(trace.ContextWithRemoteSpanContext(t.Context(), parent), "continued")
	if !child.IsRecording() {
		t.Error("a span under a sampled caller was not recorded")
	}
	if _, err := NewTracerProvider(t.Context(), TracingOptions{Endpoint: col.addr(), SampleRatio: 1.5}); err == nil {
		t.Error("a sample ratio above 1 was accepted")
	}
}

// TestTracingOff checks that without an endpoint nothing is installed and
// nothing is sent, even with OpenTelemetry's own endpoint variable pointing at
// a collector: the globals stay no-ops, an incoming traceparent is not
// continued, and the request's handler sees no span.
func TestTracingOff(t *testing.T) {
	col := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+col.addr())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+col.addr()+"/v1/traces")
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()

	stop, err := StartTracing(t.Context(), TracingOptions{SampleRatio: 1, Service: "mdouyin"})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != tp || otel.GetTextMapPropagator() != prop {
		t.Fatal("tracing off replaced OpenTelemetry's globals")
	}
	e := newEngine()
	e.Use(RequestID(), HTTPTracing())
	var inHandler trace.SpanContext
	e.GET("/x", func(ctx context.Context, c *app.RequestContext) {
		inHandler = trace.SpanContextFromContext(ctx)
		c.String(200, "ok")
	})
	ut.PerformRequest(e, "GET", "/x", nil, ut.Header{Key: "traceparent", Value: "00-" + incomingTrace + "-" + incomingSpan + "-01"})
	if inHandler.IsValid() {
		t.Fatalf("with tracing off the handler runs in span %v", inHandler)
	}
	_, span := otel.Tracer("test").Start(t.Context(), "anything")
	if span.IsRecording() {
		t.Fatal("with tracing off a span is recorded")
	}
	span.End()
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(col.requests()); n != 0 {
		t.Fatalf("with tracing off the collector got %d requests", n)
	}
}

// BenchmarkHTTPTracingOff measures what the middleware costs a request while
// tracing is off; compare with BenchmarkHTTPNoTracing.
func BenchmarkHTTPTracingOff(b *testing.B) { benchHTTP(b, HTTPTracing()) }

func BenchmarkHTTPNoTracing(b *testing.B) {
	benchHTTP(b, func(ctx context.Context, c *app.RequestContext) { c.Next(ctx) })
}

// BenchmarkHTTPTracingOn is the cost with spans recorded (into memory).
func BenchmarkHTTPTracingOn(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter())))
	defer tp.Shutdown(context.Background())
	benchHTTP(b, HTTPTracing(WithTracerProvider(tp), WithPropagator(Propagator())))
}

func benchHTTP(b *testing.B, mw app.HandlerFunc) {
	e := newEngine()
	e.Use(mw)
	e.GET("/douyin/user/:id", func(ctx context.Context, c *app.RequestContext) { c.String(200, "{}") })
	b.ReportAllocs()
	for b.Loop() {
		ut.PerformRequest(e, "GET", "/douyin/user/42", nil)
	}
}

func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a.Key == want.Key && a.Value.Emit() == want.Value.Emit() {
			return true
		}
	}
	return false
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

// collector is an OTLP/HTTP endpoint that keeps what it is sent.
type collector struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []collected
}

type collected struct {
	method, path, contentType string
	body                      []byte
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.got = append(c.got, collected{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) addr() string { return strings.TrimPrefix(c.srv.URL, "http://") }

func (c *collector) requests() []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]collected(nil), c.got...)
}
