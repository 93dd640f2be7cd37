package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// The admin tokens a fuzzed auth selects (auth % adminAuths) for the
// Authorization header.
const (
	authNone     = iota
	authAdmin    // "Bearer " and a valid admin token
	authApp      // a valid app token: the wrong audience
	authExpired  // an admin token past its expiry
	authWrongKey // an admin token signed with another key
	authNoBearer // a valid admin token without "Bearer "
	authTampered // a valid admin token with its payload changed
	authRaw      // the fuzzed header text, {admin} standing for a valid token
	adminAuths
)

const fuzzAdminPassword = "fuzz-admin-password"

// FuzzAdminAPI drives the operations API's request parsers (api.md C) in
// process, with a role behind them that records what reaches it: the login's
// JSON body, the search's query parameters, the comment id and review action
// in the path, the audit's limit, the console's file path, and the
// Authorization header. Every answer is JSON (the console's files aside) with
// a status below 500, since the role never fails here; nothing reaches the
// role without a valid admin token; what reaches it is within the bounds the
// role is promised; and only the right password gets a token, which then
// works.
func FuzzAdminAPI(f *testing.F) {
	a := newAdminFuzz(f)
	// Routes: 0 login, 1 search, 2 detail, 3 review, 4 audit, 5 and 6 the
	// console's files, 7 a method the API lacks; +128 sends PUT instead.
	for _, s := range []struct {
		route, auth uint8
		seg, query  string
		body        string
		header      string
	}{
		{0, authNone, "", "", `{"username":"admin","password":"` + fuzzAdminPassword + `"}`, ""},
		{0, authNone, "", "", `{"username":"admin","password":"wrong"}`, ""},
		{0, authNone, "", "", `{"USERNAME":"admin","Password":"` + fuzzAdminPassword + `","password":null}`, ""},
		{0, authNone, "", "", `username=admin&password=` + fuzzAdminPassword, ""},
		{0, authNone, "", "", `{"username":"admin","password":"` + fuzzAdminPassword + `"} trailing`, ""},
		{1, authAdmin, "", "", "", ""},
		{1, authAdmin, "", "q=%E8%B5%8C%E5%8D%9A&state=pending&video_id=1&user_id=7&root_id=0&from=0&to=1795328542000&offset=20&limit=10", "", ""},
		{1, authAdmin, "", "limit=0&offset=-1&video_id=1e3", "", ""},
		{1, authAdmin, "", "offset=1073741825&limit=101&state=Visible", "", ""},
		{1, authAdmin, "", "video_id=%20%2B5%20&user_id=9223372036854775808", "", ""},
		{1, authAdmin, "", "q=" + strings.Repeat("x", 501), "", ""},
		{1, authApp, "", "", "", ""},
		{1, authExpired, "", "", "", ""},
		{1, authWrongKey, "", "", "", ""},
		{1, authNoBearer, "", "", "", ""},
		{1, authTampered, "", "", "", ""},
		{1, authRaw, "", "", "", "Bearer  {admin} "},
		{1, authRaw, "", "", "", "bearer {admin}"},
		{2, authAdmin, "9", "", "", ""},
		{2, authAdmin, "10", "", "", ""},
		{2, authAdmin, "9007199254740992", "", "", ""},
		{2, authAdmin, "-1", "", "", ""},
		{2, authAdmin, "+9", "", "", ""},
		{3, authAdmin, "9/approve", "", "", ""},
		{3, authAdmin, "5/restore", "", "", ""},
		{3, authAdmin, "5/APPROVE", "", "", ""},
		{3, authAdmin, "5/approve/extra", "", "", ""},
		{3, authAdmin, "0x5/reject", "", "", ""},
		{3, authNone, "5/delete", "", "", ""},
		{4, authAdmin, "", "limit=500", "", ""},
		{4, authAdmin, "", "limit=501", "", ""},
		{4, authAdmin, "", "limit=2147483648", "", ""},
		{5, authNone, "", "", "", ""},
		{5, authNone, "../../../../etc/passwd", "", "", ""},
		{5, authNone, "%2e%2e/%2e%2e/go.mod", "", "", ""},
		{5, authNone, "css/style.css", "", "", ""},
		{5, authNone, "css/../app.js", "", "", ""},
		{6, authNone, "", "", "", ""},
		{7, authAdmin, "5", "", "", ""},
		{128 + 1, authAdmin, "", "", "", ""},
	} {
		f.Add(s.route, s.auth, s.seg, s.query, []byte(s.body), s.header)
	}
	f.Fuzz(func(t *testing.T, route, auth uint8, seg, query string, body []byte, header string) {
		a.exercise(t, route, auth, seg, query, body, header)
	})
}

type adminFuzz struct {
	g      *Gateway
	role   *recordingAdmin
	logs   *levelLog
	admin  *token.Manager
	tokens [adminAuths]string
}

func newAdminFuzz(f *testing.F) *adminFuzz {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	key := token.KeyFromSecret([]byte(strings.Repeat("k", 32)))
	manager := func(aud string, k token.Key, opts ...token.Option) *token.Manager {
		m, err := token.NewManager(aud, k, nil, time.Hour, opts...)
		if err != nil {
			f.Fatal(err)
		}
		return m
	}
	a := &adminFuzz{role: &recordingAdmin{}, logs: &levelLog{}, admin: manager(token.AudienceAdmin, key)}
	cfg := config.Default()
	cfg.HTTPAddr = ln.Addr().String()
	cfg.Admin.Password = fuzzAdminPassword
	a.g, err = New(Deps{Config: cfg, Services: Services{CommentAdmin: a.role, Video: adminVideos{}},
		Tokens: manager(token.AudienceApp, key), AdminTokens: a.admin, Console: console, Limits: ratelimit.Disabled(),
		Log: slog.New(a.logs), Metrics: prometheus.NewRegistry(), Listener: ln})
	if err != nil {
		f.Fatal(err)
	}

	issue := func(m *token.Manager) string {
		s, err := m.Issue(adminSubject)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	valid := issue(a.admin)
	a.tokens[authAdmin] = "Bearer " + valid
	a.tokens[authApp] = "Bearer " + issue(manager(token.AudienceApp, key))
	a.tokens[authExpired] = "Bearer " + issue(manager(token.AudienceAdmin, key,
		token.WithClock(func() time.Time { return time.Now().Add(-3 * time.Hour) })))
	a.tokens[authWrongKey] = "Bearer " + issue(manager(token.AudienceAdmin, token.KeyFromSecret([]byte(strings.Repeat("w", 32)))))
	a.tokens[authNoBearer] = valid
	parts := strings.Split(valid, ".")
	other := strings.Split(a.tokens[authApp][len("Bearer "):], ".")
	a.tokens[authTampered] = "Bearer " + parts[0] + "." + other[1] + "." + parts[2]
	return a
}

// adminRoutes are the targets a fuzzed route selects (route % 8); {seg} is the
// fuzzed segment, which may hold slashes of its own.
var adminFuzzRoutes = []struct{ method, path string }{
	{"POST", "/admin/api/login"},
	{"GET", "/admin/api/comments"},
	{"GET", "/admin/api/comments/{seg}"},
	{"POST", "/admin/api/comments/{seg}"},
	{"GET", "/admin/api/audit"},
	{"GET", "/admin/{seg}"},
	{"GET", "/admin{seg}"},
	{"DELETE", "/admin/api/comments/{seg}"},
}

func (a *adminFuzz) exercise(t *testing.T, route, auth uint8, seg, query string, body []byte, header string) {
	r := adminFuzzRoutes[int(route)%len(adminFuzzRoutes)]
	method := r.method
	if route&0x80 != 0 {
		method = "PUT" // no such method on any of these
	}
	target := escapePath(strings.ReplaceAll(r.path, "{seg}", seg))
	if query != "" {
		target += "?" + escapeQuery(query)
	}
	kind := int(auth) % adminAuths
	authz := a.tokens[kind]
	if kind == authRaw {
		authz = strings.ReplaceAll(header, "{admin}", a.tokens[authNoBearer])
	}
	var headers []ut.Header
	if authz != "" {
		headers = append(headers, ut.Header{Key: "Authorization", Value: authz})
	}
	if len(body) > 0 {
		headers = append(headers, ut.Header{Key: "Content-Type", Value: "application/json"})
	}
	authorized := false
	if tok, ok := strings.CutPrefix(authz, "Bearer "); ok {
		_, err := a.admin.Verify(strings.TrimSpace(tok))
		authorized = err == nil
	}

	a.role.reset()
	a.logs.take()
	w := ut.PerformRequest(a.g.h.Engine, method, "http://admin.test"+target, &ut.Body{Body: bytes.NewReader(body), Len: len(body)}, headers...)
	resp := w.Result()
	status, raw := resp.StatusCode(), resp.Body()
	what := fmt.Sprintf("%s %s (auth %d)", method, target, kind)
	show := raw[:min(len(raw), 300)]

	if status >= 500 {
		t.Fatalf("%s: HTTP %d %q", what, status, show)
	}
	if errs := a.logs.take(); len(errs) > 0 {
		t.Fatalf("%s: HTTP %d %q; the server logged errors:\n  %s", what, status, show, strings.Join(errs, "\n  "))
	}
	calls := a.role.take()
	if len(calls) > 0 && !authorized {
		t.Fatalf("%s: reached the role without a valid admin token: %v", what, calls)
	}
	for _, err := range calls {
		if err != "" {
			t.Fatalf("%s: %s", what, err)
		}
	}
	api := strings.HasPrefix(string(resp.Header.ContentType()), "application/json")
	// A segment without dots, slashes or escapes keeps the path under
	// /admin/api/ once the server has cleaned it.
	plainAPI := strings.HasPrefix(r.path, "/admin/api/") && !strings.ContainsAny(seg, "./\\%")
	if strings.HasPrefix(target, "/admin/api/") && !api && (plainAPI || status != 404) {
		// Every answer under /admin/api/ is the API's JSON, an unknown route
		// (".../comments/") included; a path that cleans to somewhere else
		// may meet the console's plain 404.
		t.Fatalf("%s: the API answered HTTP %d %q, %q", what, status, resp.Header.ContentType(), show)
	}
	if !api && status == 200 && !consoleFile(raw) {
		t.Fatalf("%s: served %q, which is not one of the console's files", what, show)
	}
	var answer map[string]any
	if api {
		if err := json.Unmarshal(raw, &answer); err != nil {
			t.Fatalf("%s: HTTP %d, JSON that does not parse (%v): %q", what, status, err, show)
		}
		if status >= 400 {
			// The API's refusals say "error", on unknown routes and methods
			// too (routes.go), never in the app's status_code shape.
			msg, _ := answer["error"].(string)
			if _, app := answer["status_code"]; app && plainAPI {
				t.Fatalf("%s: HTTP %d in the app's format: %q", what, status, show)
			}
			// A path that cleans to outside the API is the app's: its unknown
			// routes answer with status_msg.
			if m, _ := answer["status_msg"].(string); msg == "" && !plainAPI && (status == 404 || status == 405) {
				msg = m
			}
			if msg == "" {
				t.Fatalf("%s: HTTP %d without an error message: %q", what, status, show)
			}
		}
	}

	switch {
	case method != r.method:
	case r.path == "/admin/api/login":
		a.checkLogin(t, what, body, status, answer)
	case r.path == "/admin/api/comments" && query == "" && authorized && (status != 200 || len(calls) != 1):
		// Parsing must not refuse what is plainly fine.
		t.Fatalf("%s: a plain search answered HTTP %d %q after %d calls", what, status, show, len(calls))
	}
}

// checkLogin: a token for the right username and password, and for nothing else.
func (a *adminFuzz) checkLogin(t *testing.T, what string, body []byte, status int, answer map[string]any) {
	var creds struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	right := len(body) <= 4096 && json.Unmarshal(body, &creds) == nil &&
		creds.Username == adminName && creds.Password == fuzzAdminPassword
	switch {
	case right && status != 200:
		t.Fatalf("%s: the right password was refused: HTTP %d %v", what, status, answer)
	case !right && status == 200:
		t.Fatalf("%s: a token for %q: %v", what, body, answer)
	case status == 200:
		tok, _ := answer["token"].(string)
		if sub, err := a.admin.Verify(tok); err != nil || sub != adminSubject {
			t.Fatalf("%s: the login's token %q does not verify: %d, %v", what, tok, sub, err)
		}
	}
}

// console is the console's files under fuzz; only they may be served.
var console = fstest.MapFS{
	"index.html":    {Data: []byte("<!doctype html><title>console</title>")},
	"app.js":        {Data: []byte("console.log('admin')")},
	"css/style.css": {Data: []byte("body{}")},
}

func consoleFile(b []byte) bool {
	for _, f := range console {
		if bytes.Equal(f.Data, b) {
			return true
		}
	}
	return false
}

// escapePath percent-encodes what cannot stand in a request path.
func escapePath(s string) string { return escapeTarget(s, "?#") }

// escapeQuery percent-encodes what cannot stand in a query string.
func escapeQuery(s string) string { return escapeTarget(s, "#") }

func escapeTarget(s, also string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(also, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// recordingAdmin is the comment-admin role: it answers every call and notes a
// complaint about each request outside what the gateway promises it.
type recordingAdmin struct {
	mu    sync.Mutex
	calls []string // one per call: "" or what was wrong
}

func (r *recordingAdmin) note(complaint string) {
	r.mu.Lock()
	r.calls = append(r.calls, complaint)
	r.mu.Unlock()
}

func (r *recordingAdmin) reset() { r.take() }

func (r *recordingAdmin) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func validState(s comment.CommentState) bool {
	for _, v := range adminStates {
		if v == s {
			return true
		}
	}
	return false
}

func (r *recordingAdmin) Search(_ context.Context, req *comment.SearchRequest) (*comment.SearchResponse, error) {
	switch {
	case len(req.Q) > 500:
		r.note(fmt.Sprintf("Search with a %d-byte q", len(req.Q)))
	case req.VideoId < 0 || req.UserId < 0 || req.RootId < 0 || req.FromTime < 0 || req.ToTime < 0:
		r.note(fmt.Sprintf("Search with a negative filter: %+v", req))
	case req.Offset < 0 || req.Offset > 1<<30 || req.Limit < 0 || req.Limit > 100:
		r.note(fmt.Sprintf("Search with offset %d limit %d", req.Offset, req.Limit))
	case req.State != 0 && !validState(req.State):
		r.note(fmt.Sprintf("Search with state %d", req.State))
	default:
		r.note("")
	}
	return &comment.SearchResponse{Total: 1, Items: []*comment.Comment{sampleComment(9)}}, nil
}

func (r *recordingAdmin) Detail(_ context.Context, req *comment.DetailRequest) (*comment.DetailResponse, error) {
	if req.CommentId <= 0 || req.CommentId >= maxID {
		r.note(fmt.Sprintf("Detail of comment %d", req.CommentId))
	} else {
		r.note("")
	}
	if req.CommentId%2 == 0 {
		return nil, errs.New(base.ErrCode_CommentNotFound, "no such comment")
	}
	c := sampleComment(req.CommentId)
	return &comment.DetailResponse{Comment: c, Thread: []*comment.Comment{c}}, nil
}

func (r *recordingAdmin) Review(_ context.Context, req *comment.ReviewRequest) (*comment.ReviewResponse, error) {
	ok := false
	for _, a := range reviewActions {
		ok = ok || a == req.Action
	}
	if req.CommentId <= 0 || req.CommentId >= maxID || !ok || req.Admin != adminName {
		r.note(fmt.Sprintf("Review %+v", req))
	} else {
		r.note("")
	}
	if req.CommentId%3 == 0 {
		return nil, errs.New(base.ErrCode_Conflict, "the comment is already in that state")
	}
	return &comment.ReviewResponse{FromState: comment.CommentState_Pending, ToState: comment.CommentState_Visible}, nil
}

func (r *recordingAdmin) Audit(_ context.Context, req *comment.AuditRequest) (*comment.AuditResponse, error) {
	if req.Limit < 1 || req.Limit > 500 {
		r.note(fmt.Sprintf("Audit with limit %d", req.Limit))
	} else {
		r.note("")
	}
	return &comment.AuditResponse{Items: []*comment.AuditEntry{{At: 1795328542000, Admin: adminName, CommentId: 9,
		Action: comment.ReviewAction_Reject, FromState: comment.CommentState_Visible, ToState: comment.CommentState_Rejected}}}, nil
}

func sampleComment(id int64) *comment.Comment {
	return &comment.Comment{Id: id, VideoId: 1 + id%2, UserId: 7, UserName: "alice", Content: "赌博 spam",
		State: comment.CommentState_Pending, CreateTime: 1795328542000}
}

// adminVideos is the video role as the comment detail asks it: video 1 exists,
// video 2 is gone.
type adminVideos struct{ video.VideoService }

func (adminVideos) GetVideos(_ context.Context, req *video.GetVideosRequest) (*video.GetVideosResponse, error) {
	out := map[int64]*video.Video{}
	for _, id := range req.VideoIds {
		if id == 1 {
			out[id] = &video.Video{Id: 1, AuthorId: 7, Title: "clip", PlayKey: "videos/a.mp4", CoverKey: "covers/a.jpg"}
		}
	}
	return &video.GetVideosResponse{Videos: out}, nil
}

// levelLog keeps the server's records of level error: one is logged for every
// panic recovered and every failure answered with a generic message.
type levelLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *levelLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }

func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	})
	l.mu.Lock()
	l.errs = append(l.errs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levelLog) WithGroup(string) slog.Handler      { return l }

func (l *levelLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.errs
	l.errs = nil
	return out
}
