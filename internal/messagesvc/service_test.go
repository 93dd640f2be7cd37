package messagesvc_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/message/messageservice"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// placement returns the interface callers use for svc: the Go implementation
// itself, or a Kitex client of a real server on loopback.
type placement func(t *testing.T, svc *messagesvc.Service) message.MessageService

var placements = map[string]placement{
	"direct": func(t *testing.T, svc *messagesvc.Service) message.MessageService { return svc },
	"kitex":  viaKitex,
}

func viaKitex(t *testing.T, svc *messagesvc.Service) message.MessageService {
	t.Helper()
	addr := svctest.ServeKitex(t, "message", func(o []server.Option) server.Server { return messageservice.NewServer(svc, o...) })
	c, err := messageservice.NewClient("message", rpc.ClientOptions("message", []string{addr}, 10*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}
	return messagesvc.NewRemote(c)
}

// databases opens an empty database for the service on each engine under test.
var databases = svctest.Databases("messagesvc")

// fakeUsers is the user role as far as the message role needs it: which accounts
// exist.
type fakeUsers struct {
	user.UserService // other methods are not called; a call panics
	ids              *idgen.Generator
	mu               sync.Mutex
	known            map[int64]bool
}

func (u *fakeUsers) add(t *testing.T) int64 {
	t.Helper()
	id, err := u.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.known[id] = true
	return id
}

func (u *fakeUsers) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[int64]*base.Profile{}
	for _, id := range req.GetUserIds() {
		if u.known[id] {
			out[id] = &base.Profile{Id: id, Name: fmt.Sprint("user", id)}
		}
	}
	return &user.GetProfilesResponse{Profiles: out}, nil
}

// fakeRelations is the relation role as far as the message role needs it: who
// follows whom.
type fakeRelations struct {
	relation.RelationService // other methods are not called; a call panics
	mu                       sync.Mutex
	follows                  map[[2]int64]bool
}

func (r *fakeRelations) follow(from, to int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.follows[[2]int64{from, to}] = true
}

func (r *fakeRelations) UserStats(ctx context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]*relation.UserStats{}
	for _, id := range req.GetUserIds() {
		out[id] = &relation.UserStats{IsFollow: r.follows[[2]int64{req.GetViewerId(), id}]}
	}
	return &relation.UserStatsResponse{Stats: out}, nil
}

type fixture struct {
	api       message.MessageService
	db        *db.DB
	users     *fakeUsers
	relations *fakeRelations
}

// newFixture builds a service on d. Fixtures that share a database take distinct
// nodes, as two processes would, so their ids never collide.
func newFixture(t *testing.T, d *db.DB, node int, place placement, opts messagesvc.Options) *fixture {
	t.Helper()
	store, err := messagesvc.NewSQLStore(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	msgIDs, err := idgen.New(2 * node)
	if err != nil {
		t.Fatal(err)
	}
	userIDs, err := idgen.New(2*node + 1)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		db:        d,
		users:     &fakeUsers{ids: userIDs, known: map[int64]bool{}},
		relations: &fakeRelations{follows: map[[2]int64]bool{}},
	}
	svc := messagesvc.New(store, msgIDs, f.users, f.relations, opts)
	f.api = place(t, svc)
	return f
}

// TestMessageService runs the whole suite on every database and in every placement.
func TestMessageService(t *testing.T) {
	for dbName, open := range databases {
		for pName, place := range placements {
			t.Run(dbName+"/"+pName, func(t *testing.T) {
				d := open(t)
				f := newFixture(t, d, 1, place, messagesvc.Options{})
				t.Run("send and read both directions", f.testSendAndChat)
				t.Run("content is stored byte for byte", f.testContentKept)
				t.Run("pre_msg_time returns only newer messages from the peer", f.testIncoming)
				t.Run("history pages towards older messages", f.testHistoryPaging)
				t.Run("incoming pages towards newer messages", f.testIncomingPaging)
				t.Run("cursors are validated", f.testCursors)
				t.Run("latest message per peer", f.testLatest)
				t.Run("bad input changes nothing", f.testBadInput)
				t.Run("concurrent sends in one conversation", f.testConcurrentSends)
				t.Run("friendship required by setting", func(t *testing.T) {
					testRequireFriends(t, newFixture(t, d, 2, place, messagesvc.Options{RequireFriends: true}))
				})
			})
		}
	}
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM message_messages").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) send(t *testing.T, from, to int64, content string) *message.Message {
	t.Helper()
	r, err := f.api.Send(context.Background(), &message.SendRequest{FromUserId: from, ToUserId: to, Content: content})
	if err != nil {
		t.Fatalf("send %q: %v", content, err)
	}
	return r.GetMessage()
}

func (f *fixture) chat(t *testing.T, me, peer, since int64, count int32, cursor string) *message.ChatResponse {
	t.Helper()
	r, err := f.api.Chat(context.Background(), &message.ChatRequest{UserId: me, PeerId: peer, PreMsgTime: since,
		Page: &base.Page{Count: count, Cursor: cursor}})
	if err != nil {
		t.Fatalf("chat %d with %d since %d: %v", me, peer, since, err)
	}
	return r
}

// wantIDs checks that got holds exactly the messages of want, in order.
func wantIDs(t *testing.T, got []*message.Message, want ...*message.Message) {
	t.Helper()
	g := make([]int64, len(got))
	for i, m := range got {
		g[i] = m.Id
	}
	w := make([]int64, len(want))
	for i, m := range want {
		w[i] = m.Id
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("messages %v, want %v", g, w)
	}
}

func (f *fixture) testSendAndChat(t *testing.T) {
	a, b, c := f.users.add(t), f.users.add(t), f.users.add(t)
	before := time.Now().UnixMilli()
	m1 := f.send(t, a, b, "hi")
	m2 := f.send(t, b, a, "hello 😀")
	m3 := f.send(t, a, b, "how are you?")
	after := time.Now().UnixMilli()
	for _, m := range []*message.Message{m1, m2, m3} {
		if !idgen.Valid(m.Id) {
			t.Fatalf("message id %d is not a valid id", m.Id)
		}
		// The send time in ms, moved on by at most a millisecond per message so
		// that times in a conversation strictly increase.
		if m.CreateTime < before || m.CreateTime > after+2 {
			t.Fatalf("create_time %d is not the send time in ms (between %d and %d)", m.CreateTime, before, after)
		}
	}
	if m1.CreateTime >= m2.CreateTime || m2.CreateTime >= m3.CreateTime {
		t.Fatalf("create_times %d, %d, %d do not strictly increase", m1.CreateTime, m2.CreateTime, m3.CreateTime)
	}
	if m1.FromUserId != a || m1.ToUserId != b || m2.FromUserId != b || m2.ToUserId != a || m1.Content != "hi" {
		t.Fatalf("send answered %+v and %+v", m1, m2)
	}
	// Both users see the same conversation, oldest first.
	for _, viewer := range [][2]int64{{a, b}, {b, a}} {
		r := f.chat(t, viewer[0], viewer[1], 0, 0, "")
		wantIDs(t, r.Messages, m1, m2, m3)
		if r.Page.GetHasMore() || r.Page.GetNextCursor() != "" {
			t.Fatalf("a complete conversation answered page %+v", r.Page)
		}
		if got := r.Messages[1]; got.Content != m2.Content || got.FromUserId != b || got.ToUserId != a || got.CreateTime != m2.CreateTime {
			t.Fatalf("read back %+v, sent %+v", got, m2)
		}
	}
	// Other conversations do not see it.
	if r := f.chat(t, a, c, 0, 0, ""); len(r.Messages) != 0 || r.Page.GetHasMore() {
		t.Fatalf("an empty conversation answered %+v", r)
	}
	if r := f.chat(t, c, b, 0, 0, ""); len(r.Messages) != 0 {
		t.Fatalf("an empty conversation answered %+v", r)
	}
}

func (f *fixture) testContentKept(t *testing.T) {
	a, b := f.users.add(t), f.users.add(t)
	contents := []string{
		"  leading and trailing spaces  ",
		"line one\r\nline two\n",
		"e\u0301 and \u00e9 stay as sent",
		"nul \x00 inside",
		"emoji with joiner 👩\u200d💻",
		strings.Repeat("😀", messagesvc.MaxContentLen), // 1,000 code points, 4,000 bytes
		"x",
	}
	var sent []*message.Message
	for _, c := range contents {
		sent = append(sent, f.send(t, a, b, c))
	}
	r := f.chat(t, b, a, 0, 0, "")
	wantIDs(t, r.Messages, sent...)
	for i, m := range r.Messages {
		if m.Content != contents[i] {
			t.Errorf("content %q read back as %q", contents[i], m.Content)
		}
	}
}

func (f *fixture) testIncoming(t *testing.T) {
	a, b := f.users.add(t), f.users.add(t)
	m1 := f.send(t, a, b, "1 from a")
	m2 := f.send(t, b, a, "2 from b")
	m3 := f.send(t, a, b, "3 from a")
	m4 := f.send(t, b, a, "4 from b")
	// a polls with a time just before m2: only b's messages, never a's own.
	wantIDs(t, f.chat(t, a, b, m2.CreateTime-1, 0, "").Messages, m2, m4)
	// The app's echo: after sending m3, a keeps polling with m2's time; m3 is
	// not returned (the app already shows it) and m2 is not repeated.
	r := f.chat(t, a, b, m2.CreateTime, 0, "")
	for _, m := range r.Messages {
		if m.Id == m2.Id || m.Id == m3.Id || m.Id == m1.Id {
			t.Fatalf("poll after m2 returned %+v", m)
		}
	}
	wantIDs(t, f.chat(t, a, b, m4.CreateTime, 0, "").Messages)
	// b's view: a's messages.
	wantIDs(t, f.chat(t, b, a, m1.CreateTime-1, 0, "").Messages, m1, m3)
}

func (f *fixture) testHistoryPaging(t *testing.T) {
	a, b := f.users.add(t), f.users.add(t)
	var sent []*message.Message
	for i := range 7 {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		sent = append(sent, f.send(t, from, to, fmt.Sprint("message ", i)))
	}
	// The first page is the newest three, oldest first; the cursor leads to
	// older pages.
	p1 := f.chat(t, a, b, 0, 3, "")
	wantIDs(t, p1.Messages, sent[4:7]...)
	if !p1.Page.GetHasMore() || p1.Page.GetNextCursor() == "" {
		t.Fatalf("page 1 info %+v", p1.Page)
	}
	p2 := f.chat(t, b, a, 0, 3, p1.Page.GetNextCursor()) // a cursor is a position, valid for both users
	wantIDs(t, p2.Messages, sent[1:4]...)
	p3 := f.chat(t, a, b, 0, 3, p2.Page.GetNextCursor())
	wantIDs(t, p3.Messages, sent[0])
	if p3.Page.GetHasMore() || p3.Page.GetNextCursor() != "" {
		t.Fatalf("last page info %+v", p3.Page)
	}
	// A page that ends exactly at the oldest message says no more follow.
	p := f.chat(t, a, b, 0, 7, "")
	wantIDs(t, p.Messages, sent...)
	if p.Page.GetHasMore() {
		t.Fatal("a page holding the whole conversation says more follow")
	}
	// Counts above the maximum are clamped, not refused.
	wantIDs(t, f.chat(t, a, b, 0, messagesvc.MaxChatPage+5, "").Messages, sent...)
}

func (f *fixture) testIncomingPaging(t *testing.T) {
	a, b := f.users.add(t), f.users.add(t)
	var fromB []*message.Message
	for i := range 5 {
		fromB = append(fromB, f.send(t, b, a, fmt.Sprint("b ", i)))
		f.send(t, a, b, fmt.Sprint("a ", i))
	}
	since := fromB[0].CreateTime - 1
	p1 := f.chat(t, a, b, since, 2, "")
	wantIDs(t, p1.Messages, fromB[0:2]...)
	if !p1.Page.GetHasMore() {
		t.Fatalf("page 1 info %+v", p1.Page)
	}
	p2 := f.chat(t, a, b, since, 2, p1.Page.GetNextCursor())
	wantIDs(t, p2.Messages, fromB[2:4]...)
	p3 := f.chat(t, a, b, since, 2, p2.Page.GetNextCursor())
	wantIDs(t, p3.Messages, fromB[4])
	if p3.Page.GetHasMore() || p3.Page.GetNextCursor() != "" {
		t.Fatalf("last page info %+v", p3.Page)
	}
}

func (f *fixture) testCursors(t *testing.T) {
	ctx := context.Background()
	a, b := f.users.add(t), f.users.add(t)
	for i := range 3 {
		f.send(t, a, b, fmt.Sprint(i))
		f.send(t, b, a, fmt.Sprint(i))
	}
	history := f.chat(t, a, b, 0, 1, "").Page.GetNextCursor()
	incoming := f.chat(t, a, b, 1, 1, "").Page.GetNextCursor()
	if history == "" || incoming == "" {
		t.Fatalf("cursors %q and %q; want both non-empty", history, incoming)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, cursor string
		since        int64
	}{
		{"garbage", "garbage!", 0},
		{"not base64 of a cursor", enc("hello"), 0},
		{"empty position", enc("h."), 0},
		{"negative time", enc("h-1.5"), 0},
		{"id zero", enc("h5.0"), 0},
		{"id of 2^53", enc(fmt.Sprint("h5.", int64(1)<<53)), 0},
		{"leading zero", enc("h05.7"), 0},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte("h1000.17")), 0},
		{"history cursor in the incoming form", history, 1},
		{"incoming cursor in the history form", incoming, 0},
		{"unknown form", enc("x5.7"), 0},
	}
	for _, c := range cases {
		_, err := f.api.Chat(ctx, &message.ChatRequest{UserId: a, PeerId: b, PreMsgTime: c.since, Page: &base.Page{Count: 1, Cursor: c.cursor}})
		if got := errs.CodeOf(err); got != base.ErrCode_InvalidArgument {
			t.Errorf("%s: code %v (%v), want InvalidArgument", c.name, got, err)
		}
	}
}

func (f *fixture) testLatest(t *testing.T) {
	ctx := context.Background()
	// Ids grow with time: lower was created before me, higher after, so me has
	// peers on both sides of its own id.
	lower := f.users.add(t)
	me := f.users.add(t)
	higher, silent := f.users.add(t), f.users.add(t)
	f.send(t, me, lower, "old")
	toLower := f.send(t, lower, me, "newest with lower")
	f.send(t, higher, me, "old")
	toHigher := f.send(t, me, higher, "newest with higher")

	r, err := f.api.Latest(ctx, &message.LatestRequest{UserId: me, PeerIds: []int64{lower, higher, silent, lower}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 2 {
		t.Fatalf("latest = %v, want two peers", r.Messages)
	}
	if m := r.Messages[lower]; m.GetId() != toLower.Id || m.GetFromUserId() != lower || m.GetContent() != "newest with lower" {
		t.Fatalf("latest with lower = %+v, want %+v", m, toLower)
	}
	if m := r.Messages[higher]; m.GetId() != toHigher.Id || m.GetFromUserId() != me || m.GetCreateTime() != toHigher.CreateTime {
		t.Fatalf("latest with higher = %+v, want %+v", m, toHigher)
	}
	// The same message from the other side.
	r, err = f.api.Latest(ctx, &message.LatestRequest{UserId: lower, PeerIds: []int64{me}})
	if err != nil || r.Messages[me].GetId() != toLower.Id {
		t.Fatalf("latest from the other side = %v, %v", r, err)
	}
	// Empty requests and a full batch of peers, most without messages.
	if r, err := f.api.Latest(ctx, &message.LatestRequest{UserId: me}); err != nil || len(r.Messages) != 0 {
		t.Fatalf("latest with no peers = %v, %v", r, err)
	}
	peers := []int64{lower, higher}
	for len(peers) < messagesvc.MaxLatestPeers {
		peers = append(peers, 1+int64(len(peers))*1_000_003)
	}
	r, err = f.api.Latest(ctx, &message.LatestRequest{UserId: me, PeerIds: peers})
	if err != nil || len(r.Messages) != 2 || r.Messages[higher].GetId() != toHigher.Id {
		t.Fatalf("latest over %d peers = %v, %v", len(peers), r, err)
	}
	_, err = f.api.Latest(ctx, &message.LatestRequest{UserId: me, PeerIds: append(peers, higher)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Latest(ctx, &message.LatestRequest{UserId: me, PeerIds: []int64{lower, -1}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Latest(ctx, &message.LatestRequest{UserId: 0, PeerIds: []int64{lower}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	a, b := f.users.add(t), f.users.add(t)
	unknown := b + 1<<20
	sends := []struct {
		name     string
		from, to int64
		content  string
		code     base.ErrCode
	}{
		{"recipient zero", a, 0, "hi", base.ErrCode_InvalidArgument},
		{"negative recipient", a, -5, "hi", base.ErrCode_InvalidArgument},
		{"recipient 2^53", a, 1 << 53, "hi", base.ErrCode_InvalidArgument},
		{"sender zero", 0, b, "hi", base.ErrCode_InvalidArgument},
		{"to self", a, a, "hi", base.ErrCode_InvalidArgument},
		{"unknown recipient", a, unknown, "hi", base.ErrCode_UserNotFound},
		{"unknown sender", unknown, a, "hi", base.ErrCode_Unauthenticated},
		{"empty content", a, b, "", base.ErrCode_MessageContentInvalid},
		{"blank content", a, b, " \t\r\n\u3000", base.ErrCode_MessageContentInvalid},
		{"invisible content", a, b, "\u200b\ufeff", base.ErrCode_MessageContentInvalid},
		{"1,001 characters", a, b, strings.Repeat("字", messagesvc.MaxContentLen+1), base.ErrCode_MessageContentInvalid},
		{"invalid UTF-8", a, b, "hi \xff there", base.ErrCode_MessageContentInvalid},
		{"UTF-8-encoded surrogate", a, b, "\xed\xa0\x80", base.ErrCode_MessageContentInvalid},
	}
	before := f.rows(t)
	for _, c := range sends {
		_, err := f.api.Send(ctx, &message.SendRequest{FromUserId: c.from, ToUserId: c.to, Content: c.content})
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, got, err, c.code)
		}
	}
	if n := f.rows(t); n != before {
		t.Fatalf("refused sends wrote %d rows", n-before)
	}
	chats := []struct {
		name      string
		me, peer  int64
		since     int64
		count     int32
		wantError base.ErrCode
	}{
		{"peer zero", a, 0, 0, 0, base.ErrCode_InvalidArgument},
		{"peer 2^53", a, 1 << 53, 0, 0, base.ErrCode_InvalidArgument},
		{"self", a, a, 0, 0, base.ErrCode_InvalidArgument},
		{"unknown peer", a, unknown, 0, 0, base.ErrCode_UserNotFound},
		{"negative pre_msg_time", a, b, -1, 0, base.ErrCode_InvalidArgument},
		{"negative count", a, b, 0, -1, base.ErrCode_InvalidArgument},
	}
	for _, c := range chats {
		_, err := f.api.Chat(ctx, &message.ChatRequest{UserId: c.me, PeerId: c.peer, PreMsgTime: c.since, Page: &base.Page{Count: c.count}})
		if got := errs.CodeOf(err); got != c.wantError {
			t.Errorf("chat %s: code %v (%v), want %v", c.name, got, err, c.wantError)
		}
	}
	// A request without a page gets the default page.
	m := f.send(t, a, b, "fine")
	r, err := f.api.Chat(ctx, &message.ChatRequest{UserId: a, PeerId: b})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, r.Messages, m)
}

func (f *fixture) testConcurrentSends(t *testing.T) {
	ctx := context.Background()
	a, b := f.users.add(t), f.users.add(t)
	const workers, each = 8, 8
	var wg sync.WaitGroup
	errc := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := a, b
			if w%2 == 1 {
				from, to = b, a
			}
			for i := range each {
				_, err := f.api.Send(ctx, &message.SendRequest{FromUserId: from, ToUserId: to, Content: fmt.Sprint(w, "/", i)})
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent send: %v", err)
		}
	}
	r := f.chat(t, a, b, 0, 0, "")
	if len(r.Messages) != workers*each {
		t.Fatalf("%d messages stored, want %d", len(r.Messages), workers*each)
	}
	for i := 1; i < len(r.Messages); i++ {
		p, q := r.Messages[i-1], r.Messages[i]
		if p.CreateTime >= q.CreateTime {
			t.Fatalf("create_time does not strictly increase: %+v before %+v", p, q)
		}
	}
	// Latest agrees with the conversation's last message, whatever the commit order.
	l, err := f.api.Latest(ctx, &message.LatestRequest{UserId: a, PeerIds: []int64{b}})
	if err != nil {
		t.Fatal(err)
	}
	if last := r.Messages[len(r.Messages)-1]; l.Messages[b].GetId() != last.Id {
		t.Fatalf("latest is %d, the conversation ends with %d", l.Messages[b].GetId(), last.Id)
	}
}

func testRequireFriends(t *testing.T, f *fixture) {
	ctx := context.Background()
	a, b := f.users.add(t), f.users.add(t)
	before := f.rows(t)
	_, err := f.api.Send(ctx, &message.SendRequest{FromUserId: a, ToUserId: b, Content: "strangers"})
	svctest.WantCode(t, err, base.ErrCode_MessageNotFriends)
	f.relations.follow(a, b)
	_, err = f.api.Send(ctx, &message.SendRequest{FromUserId: a, ToUserId: b, Content: "one-way"})
	svctest.WantCode(t, err, base.ErrCode_MessageNotFriends)
	_, err = f.api.Send(ctx, &message.SendRequest{FromUserId: b, ToUserId: a, Content: "one-way back"})
	svctest.WantCode(t, err, base.ErrCode_MessageNotFriends)
	if n := f.rows(t); n != before {
		t.Fatalf("refused sends wrote %d rows", n-before)
	}
	f.relations.follow(b, a)
	m1 := f.send(t, a, b, "friends now")
	m2 := f.send(t, b, a, "indeed")
	wantIDs(t, f.chat(t, a, b, 0, 0, "").Messages, m1, m2)
}
