package obs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol"
	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracingOptions say where a process sends its spans.
type TracingOptions struct {
	// Endpoint is the host:port of an OTLP/HTTP collector (spans go to
	// /v1/traces there). Empty turns tracing off.
	Endpoint string
	// Insecure sends plain HTTP instead of HTTPS.
	Insecure bool
	// SampleRatio is the share of new traces recorded, from 0 to 1. A trace
	// that arrives from a caller keeps the caller's decision, so a trace is
	// recorded whole or not at all.
	SampleRatio float64
	// Service is the service.name of every span, such as "mdouyin-user".
	Service string
	// Log receives export failures; nil means slog.Default().
	Log *slog.Logger
}

// NewTracerProvider returns a tracer provider that batches spans to the OTLP/HTTP
// collector at o.Endpoint, or nil when o.Endpoint is empty. Nothing connects
// until the first batch is exported, so a collector that is down does not stop
// the process from starting; its Shutdown exports what is still buffered.
func NewTracerProvider(ctx context.Context, o TracingOptions) (*sdktrace.TracerProvider, error) {
	if o.Endpoint == "" {
		return nil, nil
	}
	if o.SampleRatio < 0 || o.SampleRatio > 1 {
		return nil, fmt.Errorf("obs: trace sample ratio %v is not between 0 and 1", o.SampleRatio)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(o.Endpoint)}
	if o.Insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("obs: OTLP exporter for %s: %w", o.Endpoint, err)
	}
	// Attributes from OTEL_RESOURCE_ATTRIBUTES (a pod name, a zone) come first,
	// so they add to ours without renaming the service.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithAttributes(semconv.ServiceName(o.Service)),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("obs: trace resource: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	), nil
}

// Propagator is how trace context crosses process boundaries: W3C traceparent
// and tracestate, and W3C baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// StartTracing makes this process export spans as o says and returns the
// function that flushes and stops them, to call at shutdown. It installs the
// provider, Propagator and an error handler that logs to o.Log as
// OpenTelemetry's globals, which the HTTP, Kitex and NATS instrumentation
// reads when it is built; it is the only writer of those globals.
//
// With tracing off (no endpoint) it installs nothing and the globals stay
// OpenTelemetry's no-ops: spans are never recorded, no trace context is sent,
// and the instrumentation costs a context value per request.
func StartTracing(ctx context.Context, o TracingOptions) (stop func(context.Context) error, err error) {
	tp, err := NewTracerProvider(ctx, o)
	if err != nil || tp == nil {
		return func(context.Context) error { return nil }, err
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "collector", o.Endpoint, "err", err)
	}))
	otel.SetTextMapPropagator(Propagator())
	SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// SetTracerProvider makes tp OpenTelemetry's global provider and turns on the
// spans of the middleware that uses the globals (tracingOn). StartTracing calls
// it; so may a test that collects spans with a provider of its own.
func SetTracerProvider(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	tracingOn.Store(true)
}

// tracingOn is set once StartTracing has installed a provider. Until then every
// span the global provider starts is a no-op, so the middleware that uses the
// globals skips making spans at all: a few allocations on every request and
// every call that buy nothing.
var tracingOn atomic.Bool

// tracerScope names this package's instrumentation in the spans it makes.
const tracerScope = "github.com/mdouyin/mdouyin/internal/platform/obs"

// TraceOption replaces a global the instrumentation would otherwise use.
type TraceOption func(*traceConfig)

type traceConfig struct {
	provider trace.TracerProvider
	prop     propagation.TextMapPropagator
}

// WithTracerProvider makes the instrumentation start spans from tp instead
// of the global provider.
func WithTracerProvider(tp trace.TracerProvider) TraceOption {
	return func(c *traceConfig) { c.provider = tp }
}

// WithPropagator makes the instrumentation carry trace context with p instead
// of the global propagator.
func WithPropagator(p propagation.TextMapPropagator) TraceOption {
	return func(c *traceConfig) { c.prop = p }
}

// newTraceConfig resolves the globals once, and reports through active whether
// spans are worth starting: always with a provider of the caller's, and with
// the global one once tracing has started. Resolved before StartTracing they
// still work: OpenTelemetry's global provider and propagator forward to the
// ones installed later.
func newTraceConfig(opts []TraceOption) (tracer trace.Tracer, prop propagation.TextMapPropagator, active func() bool) {
	c := traceConfig{}
	for _, o := range opts {
		o(&c)
	}
	active = tracingOn.Load
	if c.provider != nil {
		active = func() bool { return true }
	} else {
		c.provider = otel.GetTracerProvider()
	}
	if c.prop == nil {
		c.prop = otel.GetTextMapPropagator()
	}
	return c.provider.Tracer(tracerScope), c.prop, active
}

// Attribute keys of our own, beside the semantic conventions'.
const (
	attrRequestID  = attribute.Key("mdouyin.request_id")
	attrStatusCode = attribute.Key("mdouyin.status_code")
)

// HTTPTracing returns the Hertz middleware that makes each request a server
// span named after its method and route pattern ("GET /douyin/feed/"; the raw
// path would make every video id its own operation), continuing the caller's
// trace when the request carries a traceparent header. The handlers after it
// receive the span in their context, so calls they make join the trace. Put
// it after RequestID, so the span can carry the request's id, and before the
// recovery middleware, so a panic still ends the span. The operator endpoints
// (/healthz, /readyz, /metrics) are not traced: probes and scrapes would
// outnumber real traffic.
func HTTPTracing(opts ...TraceOption) app.HandlerFunc {
	tracer, prop, active := newTraceConfig(opts)
	return func(ctx context.Context, c *app.RequestContext) {
		if !active() {
			c.Next(ctx)
			return
		}
		method, route := methodLabel(c), routeLabel(c)
		switch route {
		case "/healthz", "/readyz", "/metrics":
			c.Next(ctx)
			return
		}
		ctx = prop.Extract(ctx, hertzHeaders{&c.Request.Header})
		ctx, span := tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		c.Next(ctx)
		if !span.IsRecording() {
			return
		}
		status := c.Response.StatusCode()
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(route),
			semconv.HTTPResponseStatusCode(status))
		if id, ok := c.Get(requestIDSlot); ok {
			if s, ok := id.(string); ok {
				span.SetAttributes(attrRequestID.String(s))
			}
		}
		if v, ok := c.Get(outcomeKey); ok {
			if code, ok := v.(int32); ok {
				span.SetAttributes(attrStatusCode.Int(int(code)))
			}
		}
		if status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	}
}

// hertzHeaders lets a propagator read a Hertz request's headers.
type hertzHeaders struct{ h *protocol.RequestHeader }

func (h hertzHeaders) Get(key string) string { return string(h.h.Peek(key)) }

func (h hertzHeaders) Set(key, value string) { h.h.Set(key, value) }

func (h hertzHeaders) Keys() []string {
	var keys []string
	h.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}

var kitexSystem = semconv.RPCSystemNameKey.String("kitex")

// KitexClientTracing returns the Kitex client middleware that makes each call a
// client span named "<role>/<method>" and sends the span's context to the
// server as transient metainfo (one hop only), which TTHeader carries.
func KitexClientTracing(opts ...TraceOption) endpoint.Middleware {
	tracer, prop, active := newTraceConfig(opts)
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			if !active() {
				return next(ctx, req, resp)
			}
			ri := rpcinfo.GetRPCInfo(ctx)
			ctx, span := tracer.Start(ctx, rpcName(ri), trace.WithSpanKind(trace.SpanKindClient))
			if span.SpanContext().IsValid() {
				carrier := &metainfoCarrier{ctx: ctx}
				prop.Inject(ctx, carrier)
				ctx = carrier.ctx
			}
			err := next(ctx, req, resp)
			endRPCSpan(span, ri, err)
			return err
		}
	}
}

// KitexServerTracing returns the Kitex server middleware that makes each call a
// server span named "<role>/<method>", the child of the caller's client span
// when the call carries its context.
func KitexServerTracing(opts ...TraceOption) endpoint.Middleware {
	tracer, prop, active := newTraceConfig(opts)
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			if !active() {
				return next(ctx, req, resp)
			}
			ctx = prop.Extract(ctx, &metainfoCarrier{ctx: ctx})
			ri := rpcinfo.GetRPCInfo(ctx)
			ctx, span := tracer.Start(ctx, rpcName(ri), trace.WithSpanKind(trace.SpanKindServer))
			err := next(ctx, req, resp)
			endRPCSpan(span, ri, err)
			return err
		}
	}
}

// rpcName is "<role>/<method>": the role is the service name both a client
// (the name it was built for) and a server (its basic info) use.
func rpcName(ri rpcinfo.RPCInfo) string {
	if ri == nil {
		return "kitex"
	}
	return ri.To().ServiceName() + "/" + ri.Invocation().MethodName()
}

// endRPCSpan records the call's outcome and ends span. A business error (a
// status code the service answered with, such as a wrong password) is an
// answer, not a failure of the call: it is recorded as a code only.
func endRPCSpan(span trace.Span, ri rpcinfo.RPCInfo, err error) {
	if span.IsRecording() && ri != nil {
		span.SetAttributes(kitexSystem, semconv.RPCMethod(rpcName(ri)))
		if biz := ri.Invocation().BizStatusErr(); biz != nil {
			span.SetAttributes(semconv.RPCResponseStatusCode(strconv.Itoa(int(biz.BizStatusCode()))))
		}
	}
	// Inside the middleware chain a business error is not err but sits in the
	// invocation (Kitex turns it into the call's error afterwards), so err here
	// is a failure of the call itself: a timeout, a broken connection, a panic.
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// metainfoCarrier lets a propagator use Kitex metainfo: on the client it adds
// transient values to the outgoing context, on the server it reads the ones
// that arrived (which Kitex keeps as transient-upstream values, so they are not
// forwarded to the server's own calls).
type metainfoCarrier struct{ ctx context.Context }

func (c *metainfoCarrier) Get(key string) string {
	v, _ := metainfo.GetValue(c.ctx, key)
	return v
}

func (c *metainfoCarrier) Set(key, value string) { c.ctx = metainfo.WithValue(c.ctx, key, value) }

func (c *metainfoCarrier) Keys() []string {
	all := metainfo.GetAllValues(c.ctx)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	return keys
}
