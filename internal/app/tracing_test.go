package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// TestTracingAcrossRoles runs the user role and the gateway as separate roles,
// each exporting to one OTLP/HTTP collector, and checks that a registration
// sent with a traceparent arrives there as one trace: the gateway's HTTP span
// (service mdouyin-gateway) under the caller's span, its Kitex client span
// under that, and the user role's server span (service mdouyin-user) under the
// client span. The spans reach the collector by the time the roles have shut
// down, which flushes them.
func TestTracingAcrossRoles(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	// The roles install their providers as OpenTelemetry's globals, as every
	// process does; later tests get the earlier globals back.
	t.Cleanup(func() {
		if otel.GetTracerProvider() != prevTP {
			otel.SetTracerProvider(prevTP)
			otel.SetTextMapPropagator(prevProp)
		}
	})
	col := newCollector(t)
	cfg := testConfig(t)
	cfg.JWT.Secret = strings.Repeat("tracing-secret!", 3)
	cfg.Events = config.Events{Driver: "nats", NATSURL: testenv.NATSURL(t)}
	cfg.Namespace = "trace_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.Tracing.OTLPEndpoint = col.addr()
	cfg.Tracing.Insecure = true

	userRPC := listen(t)
	userCfg := cfg
	userCfg.Node = 1
	users := start(t, userCfg, "user", userRPC)
	gwCfg := cfg
	gwCfg.Node = 2
	gwCfg.DataDir = t.TempDir()
	// The gateway needs an address for every role; only the user role is called.
	for _, role := range []string{"user", "relation", "video", "favorite", "message", "comment", "comment-admin"} {
		gwCfg.RPC.Peers = append(gwCfg.RPC.Peers, role+"="+userRPC.Addr().String())
	}
	gw := start(t, gwCfg, "gateway", nil)

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest(http.MethodPost, gw.http+"/douyin/user/register/?"+
		url.Values{"username": {"traced"}, "password": {"secret-1"}}.Encode(), nil)
	req.Header.Set("traceparent", caller)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if body["status_code"] != float64(0) {
		t.Fatalf("register: %v", body)
	}
	for _, p := range []*process{gw, users} {
		if err := p.stop(); err != nil {
			t.Fatal(err)
		}
	}

	spans := col.spans(t)
	httpSpan := spans.find(t, "mdouyin-gateway", "POST /douyin/user/register/", tracepb.Span_SPAN_KIND_SERVER)
	client := spans.find(t, "mdouyin-gateway", "user/Register", tracepb.Span_SPAN_KIND_CLIENT)
	server := spans.find(t, "mdouyin-user", "user/Register", tracepb.Span_SPAN_KIND_SERVER)
	parent := "00f067aa0ba902b7"
	for _, s := range []*tracepb.Span{httpSpan, client, server} {
		if got := hex.EncodeToString(s.GetTraceId()); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("%s is in trace %s, want the caller's", s.GetName(), got)
		}
		if got := hex.EncodeToString(s.GetParentSpanId()); got != parent {
			t.Errorf("%s (%v) has parent %s, want %s", s.GetName(), s.GetKind(), got, parent)
		}
		parent = hex.EncodeToString(s.GetSpanId())
	}
}

// TestEventsNamespace runs every role in one process inside an events
// namespace and drives the paths where events go through streams and
// broadcasts (a comment is written through the partitioned write stream, its
// writer answers the waiting publisher by broadcast, and the search index is
// fed from the comment event stream), then checks on the stopped store that
// every stream this deployment made carries the namespace.
func TestEventsNamespace(t *testing.T) {
	clip := testenv.Clip(t)
	cfg := testConfig(t)
	cfg.Namespace = "ns_app"
	cfg.Admin.Password = "namespace-password"
	p := start(t, cfg, "", nil)

	token := post(t, p.http, "/douyin/user/register/", url.Values{"username": {"spaced"}, "password": {"secret-1"}})["token"].(string)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", token)
	w.WriteField("title", "clip")
	f, _ := w.CreateFormFile("data", "clip.mp4")
	f.Write(clip)
	w.Close()
	resp, err := http.Post(p.http+"/douyin/publish/action/", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var feed map[string]any
	r, err := http.Get(p.http + "/douyin/feed/")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r.Body).Decode(&feed)
	r.Body.Close()
	videos, _ := feed["video_list"].([]any)
	if len(videos) != 1 {
		t.Fatalf("feed after publishing: %v", feed)
	}
	vid := strconv.FormatInt(int64(videos[0].(map[string]any)["id"].(float64)), 10)
	c := post(t, p.http, "/douyin/comment/action/", url.Values{"token": {token}, "video_id": {vid}, "action_type": {"1"}, "comment_text": {"命名空间"}})
	if c["status_code"] != float64(0) {
		t.Fatalf("comment: %v", c)
	}
	_, tok := adminLoginStatus(t, p.http, cfg.Admin.Password)
	eventually(t, "the comment to be indexed", func() bool {
		code, res := adminDo(t, http.MethodGet, p.http+"/admin/api/comments?q="+url.QueryEscape("命名空间"), tok, nil)
		return code == http.StatusOK && res["total"] == float64(1)
	})
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}

	e, err := mq.StartEmbedded(t.Context(), mq.EmbeddedOptions{StoreDir: cfg.DataDir + "/nats", Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := nats.Connect(e.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for st := range js.ListStreams(t.Context()).Info() {
		names = append(names, st.Config.Name)
		for _, s := range st.Config.Subjects {
			if !strings.HasPrefix(s, "ns_app.") {
				t.Errorf("stream %s captures %s, outside the namespace", st.Config.Name, s)
			}
		}
	}
	slices.Sort(names)
	for _, want := range []string{"ns_app_COMMENT_EVENTS", "ns_app_COMMENT_WRITES"} {
		if !slices.Contains(names, want) {
			t.Errorf("streams %v lack %s", names, want)
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "ns_app_") {
			t.Errorf("stream %s is outside the namespace (all: %v)", n, names)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// collector is an OTLP/HTTP endpoint that keeps the spans it is sent.
type collector struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*collectortrace.ExportTraceServiceRequest
	bad  []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		err := proto.Unmarshal(raw, &req)
		c.mu.Lock()
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			c.bad = append(c.bad, r.Method+" "+r.URL.Path)
		} else {
			c.reqs = append(c.reqs, &req)
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) addr() string {
	return strings.TrimPrefix(c.srv.URL, "http://")
}

// collectedSpan is a span and the service.name of the process that sent it.
type collectedSpan struct {
	service string
	span    *tracepb.Span
}

type collectedSpans []collectedSpan

func (c *collector) spans(t *testing.T) collectedSpans {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		t.Fatalf("the collector got requests that are not OTLP exports: %v", c.bad)
	}
	var out collectedSpans
	for _, req := range c.reqs {
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, collectedSpan{service, s})
				}
			}
		}
	}
	return out
}

func (cs collectedSpans) find(t *testing.T, service, name string, kind tracepb.Span_SpanKind) *tracepb.Span {
	t.Helper()
	var seen []string
	for _, c := range cs {
		if c.service == service && c.span.GetName() == name && c.span.GetKind() == kind {
			return c.span
		}
		seen = append(seen, c.service+": "+c.span.GetName()+" "+c.span.GetKind().String())
	}
	t.Fatalf("no %v span %q from %s; collected %q", kind, name, service, seen)
	return nil
}
