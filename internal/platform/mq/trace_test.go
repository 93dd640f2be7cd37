package mq

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestPublishAndHandleAreTraced checks that a publish is a producer span of
// the publisher's trace, that its context travels in the stored message's
// traceparent header, and that the handler runs inside a consumer span that
// is the producer span's child, in a namespaced bus whose span names show the
// wire subject with its id folded.
func TestPublishAndHandleAreTraced(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	prop := propagation.TraceContext{}

	e := startEmbedded(t, t.TempDir())
	b := connectEmbedded(t, e, WithNamespace("tr"), WithTracerProvider(tp), WithPropagator(prop))
	name := ensureStream(t, b)

	ctx, parent := tp.Tracer("test").Start(t.Context(), "request")
	if err := b.Publish(ctx, name+".12345", "id-1", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	parent.End()

	handled := make(chan trace.SpanContext, 1)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d"}, func(ctx context.Context, m Msg) error {
		handled <- trace.SpanContextFromContext(ctx)
		return nil
	})
	inHandler := receive(t, handled, 1)[0]

	var producer, consumer tracetest.SpanStub
	eventually(t, "the consumer span to end", func() error {
		for _, s := range spans.GetSpans() {
			switch s.SpanKind {
			case trace.SpanKindProducer:
				producer = s
			case trace.SpanKindConsumer:
				consumer = s
			}
		}
		if !consumer.SpanContext.IsValid() {
			return fmt.Errorf("spans so far: %d", len(spans.GetSpans()))
		}
		return nil
	})
	wantName := "tr." + name + ".*"
	if producer.Name != "publish "+wantName || consumer.Name != "process "+wantName {
		t.Fatalf("span names %q and %q, want publish/process %s", producer.Name, consumer.Name, wantName)
	}
	if producer.Parent.SpanID() != parent.SpanContext().SpanID() || producer.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("producer span's parent %v, want the publisher's span %v", producer.Parent, parent.SpanContext())
	}
	if consumer.Parent.SpanID() != producer.SpanContext.SpanID() || consumer.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("consumer span's parent %v, want the producer span %v", consumer.Parent, producer.SpanContext)
	}
	if !consumer.Parent.IsRemote() {
		t.Fatal("the consumer span's parent should have come from the message, not from memory")
	}
	if inHandler.SpanID() != consumer.SpanContext.SpanID() {
		t.Fatalf("the handler ran in span %v, want the consumer span %v", inHandler.SpanID(), consumer.SpanContext.SpanID())
	}
	for _, want := range []attribute.KeyValue{
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.destination.name", "tr."+name+".12345"),
		attribute.String("messaging.message.id", "id-1"),
	} {
		if !hasAttr(producer.Attributes, want) || !hasAttr(consumer.Attributes, want) {
			t.Errorf("attribute %v missing: producer %v, consumer %v", want, producer.Attributes, consumer.Attributes)
		}
	}
	if !hasAttr(consumer.Attributes, attribute.String("messaging.consumer.group.name", "d")) {
		t.Errorf("consumer span lacks its durable name: %v", consumer.Attributes)
	}

	raw := storedHeader(t, b, name, 1)
	want := fmt.Sprintf("00-%s-%s-01", producer.SpanContext.TraceID(), producer.SpanContext.SpanID())
	if got := raw.Get("traceparent"); got != want {
		t.Fatalf("stored traceparent %q, want %q", got, want)
	}
}

// TestUntracedPublishAddsNoHeaders checks the default, tracing off: even a
// publisher that carries a trace from elsewhere stores no trace headers, and
// the handler's context holds no span.
func TestUntracedPublishAddsNoHeaders(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	b := connectEmbedded(t, e)
	name := ensureStream(t, b)
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	if err := b.Publish(trace.ContextWithRemoteSpanContext(t.Context(), remote), name+".x", "", []byte("payload")); err != nil {
		t.Fatal(err)
	}

	if h := storedHeader(t, b, name, 1); len(h) != 0 {
		t.Fatalf("an untraced publish stored headers %v", h)
	}
	handled := make(chan trace.SpanContext, 1)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d"}, func(ctx context.Context, m Msg) error {
		handled <- trace.SpanContextFromContext(ctx)
		return nil
	})
	if sc := receive(t, handled, 1)[0]; sc.IsValid() {
		t.Fatalf("an untraced handler runs in span %v", sc)
	}
}

func TestSpanSubjectFoldsIDs(t *testing.T) {
	for in, want := range map[string]string{
		"comment.event.7318":    "comment.event.*",
		"comment.write.3":       "comment.write.*",
		"video.published":       "video.published",
		"ns2.a1.b.22":           "ns2.a1.b.*",
		"relation.follow":       "relation.follow",
		"x.123.y.45":            "x.*.y.*",
		"mqtest_0a1b.published": "mqtest_0a1b.published",
	} {
		if got := spanSubject(in); got != want {
			t.Errorf("spanSubject(%q) = %q, want %q", in, got, want)
		}
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

// storedHeader returns the headers of the message at seq as the server
// stored it.
func storedHeader(t *testing.T, b *Bus, stream string, seq uint64) nats.Header {
	t.Helper()
	st, err := b.js.Stream(t.Context(), b.ns.stream(stream))
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(t.Context(), seq)
	if err != nil {
		t.Fatal(err)
	}
	return m.Header
}
