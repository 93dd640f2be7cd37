package rpc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/hertz/pkg/app"
	hertz "github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/network/standard"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// TestOneTraceAcrossHTTPKitexAndNATS follows one request through every hop the
// roles use: an HTTP request carrying a traceparent reaches a Hertz server,
// whose handler calls a Kitex server over loopback TCP with the shared client
// and server options, whose handler publishes to NATS, whose consumer handles
// the message. The Kitex server and the consumer start from contexts of their
// own, so the trace reaches them only through TTHeader and the message headers.
// Every span must be in the caller's trace, each the child of the one before.
func TestOneTraceAcrossHTTPKitexAndNATS(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	useGlobals(t, tp, obs.Propagator())

	h := newChain(t)
	resp := h.get(t, "/v/1", "00-"+callerTrace+"-"+callerSpan+"-01")
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP status %d", resp.StatusCode)
	}
	consumed := receive(t, h.consumed)

	want := []struct {
		name string
		kind trace.SpanKind
	}{
		{"GET /v/:id", trace.SpanKindServer},
		{"user/VerifyToken", trace.SpanKindClient},
		{"user/VerifyToken", trace.SpanKindServer},
		{"publish rpctest.*", trace.SpanKindProducer},
		{"process rpctest.*", trace.SpanKindConsumer},
	}
	var chain []tracetest.SpanStub
	eventually(t, "all five spans to end", func() error {
		chain = chain[:0]
		for _, w := range want {
			s, ok := findSpan(spans.GetSpans(), w.name, w.kind)
			if !ok {
				return fmt.Errorf("no %v span %q among %d", w.kind, w.name, len(spans.GetSpans()))
			}
			chain = append(chain, s)
		}
		return nil
	})
	parent := callerSpan
	for i, s := range chain {
		if got := s.SpanContext.TraceID().String(); got != callerTrace {
			t.Errorf("%s (%v) is in trace %s, want the caller's %s", s.Name, s.SpanKind, got, callerTrace)
		}
		if got := s.Parent.SpanID().String(); got != parent {
			t.Errorf("%s (%v) has parent %s, want %s (%s)", s.Name, s.SpanKind, got, parent, stepName(chain, i-1))
		}
		parent = s.SpanContext.SpanID().String()
	}
	server := chain[2]
	wantHeader := fmt.Sprintf("00-%s-%s-01", callerTrace, chain[1].SpanContext.SpanID())
	if got := <-h.traceparents; got != wantHeader {
		t.Errorf("the Kitex server received traceparent %q in metainfo, want %q", got, wantHeader)
	}
	if inHandler := <-h.inHandler; inHandler.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("the Kitex handler ran in span %s, want the server span %s", inHandler.SpanID(), server.SpanContext.SpanID())
	}
	if consumed.SpanID() != chain[4].SpanContext.SpanID() {
		t.Errorf("the consumer ran in span %s, want the consumer span %s", consumed.SpanID(), chain[4].SpanContext.SpanID())
	}
	for _, s := range chain[1:3] {
		if !hasAttr(s.Attributes, attribute.String("rpc.method", "user/VerifyToken")) {
			t.Errorf("%v span lacks rpc.method: %v", s.SpanKind, s.Attributes)
		}
	}

	// A business error is the service's answer, not a failed call: both sides
	// record its code and neither marks the span failed.
	spans.Reset()
	if resp := h.get(t, "/v/0", ""); resp.StatusCode != 200 {
		t.Fatalf("HTTP status %d", resp.StatusCode)
	}
	<-h.traceparents
	<-h.inHandler
	code := strconv.Itoa(int(base.ErrCode_Unauthenticated))
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		var s tracetest.SpanStub
		eventually(t, "the rejected call's spans", func() error {
			var ok bool
			if s, ok = findSpan(spans.GetSpans(), "user/VerifyToken", kind); !ok {
				return fmt.Errorf("no %v span yet", kind)
			}
			return nil
		})
		if !hasAttr(s.Attributes, attribute.String("rpc.response.status_code", code)) || s.Status.Code == codes.Error {
			t.Errorf("%v span of a rejected call: status %v, attributes %v; want code %s, not failed", kind, s.Status, s.Attributes, code)
		}
	}
}

// TestNoTraceContextWhileTracingOff sets OpenTelemetry's globals to the no-ops
// a process without tracing has, and checks that a request carrying a
// traceparent leads to no trace context in the Kitex call or the message: the
// instrumentation forwards nothing it was not asked to record.
func TestNoTraceContextWhileTracingOff(t *testing.T) {
	useGlobals(t, noop.NewTracerProvider(), propagation.NewCompositeTextMapPropagator())
	h := newChain(t)
	if resp := h.get(t, "/v/1", "00-"+callerTrace+"-"+callerSpan+"-01"); resp.StatusCode != 200 {
		t.Fatalf("HTTP status %d", resp.StatusCode)
	}
	if got := <-h.traceparents; got != "" {
		t.Errorf("the Kitex server received traceparent %q with tracing off", got)
	}
	if sc := <-h.inHandler; sc.IsValid() {
		t.Errorf("the Kitex handler runs in span %v with tracing off", sc)
	}
	if sc := receive(t, h.consumed); sc.IsValid() {
		t.Errorf("the consumer runs in span %v with tracing off", sc)
	}
}

// useGlobals installs tp and prop as OpenTelemetry's globals for the test, as
// obs.StartTracing does for a process, and puts the previous ones back after.
func useGlobals(t *testing.T, tp trace.TracerProvider, prop propagation.TextMapPropagator) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	obs.SetTracerProvider(tp)
	otel.SetTextMapPropagator(prop)
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
}

// chain is an HTTP server whose handler calls a Kitex user service whose
// handler publishes to NATS, built after the test chose the globals.
type chain struct {
	base         string
	traceparents chan string            // what each Kitex call carried in metainfo
	inHandler    chan trace.SpanContext // the Kitex handler's span
	consumed     chan trace.SpanContext // the NATS handler's span
}

func newChain(t *testing.T) *chain {
	t.Helper()
	c := &chain{traceparents: make(chan string, 4), inHandler: make(chan trace.SpanContext, 4), consumed: make(chan trace.SpanContext, 4)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	e, err := mq.StartEmbedded(context.Background(), mq.EmbeddedOptions{StoreDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	bus, err := e.Connect(context.Background(), mq.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	if err := bus.EnsureStream(t.Context(), mq.StreamSpec{Name: "RPCTEST", Subjects: []string{"rpctest.>"}}); err != nil {
		t.Fatal(err)
	}
	sub, err := bus.Consume(t.Context(), mq.ConsumerSpec{Stream: "RPCTEST", Durable: "d"}, func(ctx context.Context, _ mq.Msg) error {
		c.consumed <- trace.SpanContextFromContext(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svr := userservice.NewServer(&users{chain: c, bus: bus}, rpc.ServerOptions(ctx, "user", ln)...)
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kitex server: %v", err)
		}
	})
	cli, err := userservice.NewClient("user", rpc.ClientOptions("user", []string{ln.Addr().String()}, 5*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}

	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := hertz.New(hertz.WithListener(httpLn), hertz.WithTransport(standard.NewTransporter), hertz.WithDisablePrintRoute(true))
	h.Use(obs.RequestID(), obs.HTTPTracing())
	h.GET("/v/:id", func(ctx context.Context, rc *app.RequestContext) {
		// Token "0" is refused with a business error; it is still a 200.
		_, err := cli.VerifyToken(ctx, &user.VerifyTokenRequest{Token: rc.Param("id")})
		if _, ok := errs.From(err); err != nil && !ok {
			rc.String(http.StatusBadGateway, err.Error())
			return
		}
		rc.String(http.StatusOK, "ok")
	})
	go h.Run()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(sctx)
	})
	c.base = "http://" + httpLn.Addr().String()
	return c
}

func (c *chain) get(t *testing.T, path, traceparent string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// users is the Kitex side of the chain: VerifyToken notes what arrived and,
// for a good token, publishes an event.
type users struct {
	user.UserService // only VerifyToken is called
	chain            *chain
	bus              *mq.Bus
}

func (u *users) VerifyToken(ctx context.Context, req *user.VerifyTokenRequest) (*user.VerifyTokenResponse, error) {
	tp, _ := metainfo.GetValue(ctx, "traceparent")
	u.chain.traceparents <- tp
	u.chain.inHandler <- trace.SpanContextFromContext(ctx)
	if req.Token == "0" {
		return nil, errs.New(base.ErrCode_Unauthenticated, "bad token")
	}
	if err := u.bus.Publish(ctx, "rpctest."+req.Token, "", []byte("verified")); err != nil {
		return nil, err
	}
	return &user.VerifyTokenResponse{UserId: 1}, nil
}

func findSpan(spans tracetest.SpanStubs, name string, kind trace.SpanKind) (tracetest.SpanStub, bool) {
	for _, s := range spans {
		if s.Name == name && s.SpanKind == kind {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func stepName(chain []tracetest.SpanStub, i int) string {
	if i < 0 {
		return "the caller's traceparent"
	}
	return fmt.Sprintf("%s %v", chain[i].Name, chain[i].SpanKind)
}

func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a.Key == want.Key && a.Value.Emit() == want.Value.Emit() {
			return true
		}
	}
	return false
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("timed out")
	}
	var zero T
	return zero
}

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
	}
}
