package mq

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerScope names the instrumentation in the spans it produces.
const tracerScope = "github.com/mdouyin/mdouyin/internal/platform/mq"

// tracing starts the spans of one Bus and moves trace context in and out of
// message headers.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// newTracing falls back to OpenTelemetry's globals. Taken before tracing is
// started they still work: the global provider forwards to the one installed
// later, and until then it is a no-op whose spans cost a context value.
func newTracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) tracing {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	return tracing{tracer: tp.Tracer(tracerScope), prop: prop}
}

var natsSystem = semconv.MessagingSystemKey.String("nats")

// startPublish starts the producer span of m and writes its context into m's
// headers. With tracing off the propagator writes nothing, and messages carry
// no headers they did not carry before.
func (t tracing) startPublish(ctx context.Context, m *nats.Msg, msgID string) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "publish "+spanSubject(m.Subject), trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(natsSystem, semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationNameKey.String(m.Subject))
		if msgID != "" {
			span.SetAttributes(semconv.MessagingMessageIDKey.String(msgID))
		}
	}
	t.prop.Inject(ctx, msgCarrier{m})
	return ctx, span
}

// startProcess starts the consumer span of handling jm, as a child of the
// publisher's span when the headers carry one.
func (t tracing) startProcess(ctx context.Context, jm jetstream.Msg, durable string, md *jetstream.MsgMetadata) (context.Context, trace.Span) {
	ctx = t.prop.Extract(ctx, headerCarrier(jm.Headers()))
	subject := jm.Subject()
	ctx, span := t.tracer.Start(ctx, "process "+spanSubject(subject), trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(natsSystem, semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationNameKey.String(subject),
			semconv.MessagingConsumerGroupNameKey.String(durable),
			attribute.String("messaging.nats.stream", md.Stream),
			attribute.Int64("messaging.nats.stream_sequence", int64(md.Sequence.Stream)),
			attribute.Int64("messaging.nats.delivery_count", int64(md.NumDelivered)))
		if id := jm.Headers().Get(jetstream.MsgIDHeader); id != "" {
			span.SetAttributes(semconv.MessagingMessageIDKey.String(id))
		}
	}
	return ctx, span
}

// endSpan records err, if any, and ends span.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// spanSubject is subject with its all-digit tokens replaced by "*": span names
// must not carry ids (comment.event.<video>) or every video would be its own
// operation in a tracing backend; partitions (comment.write.3) fold too.
func spanSubject(subject string) string {
	if !strings.ContainsAny(subject, "0123456789") {
		return subject
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			tokens[i] = "*"
		}
	}
	return strings.Join(tokens, ".")
}

// msgCarrier lets a propagator write a message's headers, creating them only
// when there is something to write.
type msgCarrier struct{ m *nats.Msg }

func (c msgCarrier) Get(key string) string { return headerCarrier(c.m.Header).Get(key) }

func (c msgCarrier) Set(key, value string) {
	if c.m.Header == nil {
		c.m.Header = nats.Header{}
	}
	c.m.Header[key] = []string{value}
}

func (c msgCarrier) Keys() []string { return headerCarrier(c.m.Header).Keys() }

// headerCarrier lets a propagator read and write NATS headers. Keys are used
// exactly as given ("traceparent"), as NATS headers are case-sensitive and
// other W3C implementations look for the lower-case names.
type headerCarrier nats.Header

func (h headerCarrier) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Set(key, value string) { h[key] = []string{value} }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
