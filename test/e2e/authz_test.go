package e2e

// The authorization matrix (issue 8, item 4): every route that writes and every
// route that reads something not everyone may see, called by every kind of caller
// (the owner, another user, nobody, and each token forgery of tokens_test.go).
// Each cell is a subtest named "route/caller". A cell that must succeed checks that
// its effect happened; a cell that must be refused checks the status_code and then
// reads the state back to show that nothing changed. The suite runs the same
// matrix against the one-process server and against a cluster (MDOUYIN_E2E_URL).

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/internal/token"
)

const (
	codeUnauthenticated = 3 // base.ErrCode_Unauthenticated
	authzDeadline       = 15 * time.Second
)

// outcomeKind is what a cell must answer.
type outcomeKind int

const (
	// ownerEffect: success, and the effect lands on the row's owner.
	ownerEffect outcomeKind = iota
	// ownEffect: success, but the action is the caller's own (a like, a follow, a
	// message of the caller's): the owner's state does not change.
	ownEffect
	// anonymousView: success, answered as to an anonymous reader (the routes
	// where logging in is optional treat an invalid token as none).
	anonymousView
	// refused: a non-zero status_code (code); nothing changes.
	refused
)

type outcome struct {
	kind outcomeKind
	code int64 // for refused: the status_code (app) or HTTP status (admin)
	alt  int64 // for refused: another status_code that is as good, or 0
}

func (o outcome) String() string {
	switch o.kind {
	case ownerEffect:
		return "ok"
	case ownEffect:
		return "ok, as itself"
	case anonymousView:
		return "ok, as anonymous"
	}
	if o.alt != 0 {
		return fmt.Sprintf("refused %d or %d", o.code, o.alt)
	}
	return fmt.Sprintf("refused %d", o.code)
}

var (
	allow       = outcome{kind: ownerEffect}
	allowOwn    = outcome{kind: ownEffect}
	allowAnon   = outcome{kind: anonymousView}
	unauthentic = outcome{kind: refused, code: codeUnauthenticated}
	forbidden   = outcome{kind: refused, code: codePermissionDenied}
)

// authzToken is the token a cell sends, and where.
type authzToken struct {
	value   string
	present bool // false: no token parameter at all
	inBody  bool // in the body (urlencoded, or the multipart form of publish) instead of the query string
}

// authzFixture is the state every row starts from.
type authzFixture struct {
	forge                   forger
	alice, bob, carol, dave account
	eve                     account // follows nobody: her feed is the global timeline
	ghost                   account // a valid id that names no account, with a token the server signed
	adminToken              string
	clip                    []byte

	videoA int64 // alice's: her favorite, pins and deletes by the video's author
	videoC int64 // carol's: video likes, comments, deletes by the comment's author, comment likes
	videoH int64 // carol's: alice's held comment, a comment alice liked
	// feedTime is a latest_time just after videoA was published: the feed
	// strictly before it starts with videoA.
	feedTime int64

	pinTarget   int64    // carol's top-level comment on videoA
	replyTarget int64    // carol's top-level comment on videoC
	likeTarget  int64    // carol's top-level comment on videoC, for comment likes
	held        int64    // alice's held comment on videoH
	heldLiked   int64    // carol's comment on videoH that alice likes
	chatTexts   []string // the messages between alice and dave
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	f := &authzFixture{forge: newForger(t), clip: testenv.Clip(t)}
	f.alice = register(t, uniqueName("zalice"), "secret-1")
	f.bob = register(t, uniqueName("zbob"), "secret-2")
	f.carol = register(t, uniqueName("zcarol"), "secret-3")
	f.dave = register(t, uniqueName("zdave"), "secret-4")
	f.eve = register(t, uniqueName("zeve"), "secret-5")
	// Ids are time-ordered and stay far below 2^53 - 1 for centuries: this one
	// is valid and nobody's.
	f.ghost.ID = 1<<53 - 1 - time.Now().UnixNano()%1_000_000
	f.ghost.Name = "nobody"
	f.ghost.Token = f.forge.valid(t, token.AudienceApp, f.ghost.ID)
	f.adminToken = adminLogin(t)

	f.videoC = newVideo(t, f.carol, f.clip)
	f.videoH = newVideo(t, f.carol, f.clip)
	f.videoA = newVideo(t, f.alice, f.clip)
	f.feedTime = time.Now().UnixMilli() + 1

	favMustAction(t, f.alice, f.videoA, "1")
	relMust(t, f.alice, f.dave.ID, "1")
	relMust(t, f.dave, f.alice.ID, "1")
	f.chatTexts = []string{"authz: alice to dave " + uniqueName(""), "authz: dave to alice " + uniqueName("")}
	sendMessage(t, f.alice, f.dave.ID, f.chatTexts[0])
	sendMessage(t, f.dave, f.alice.ID, f.chatTexts[1])

	f.pinTarget = id(postComment(t, f.carol, f.videoA, 0, "pin me "+uniqueName("")))
	f.replyTarget = id(postComment(t, f.carol, f.videoC, 0, "reply to me "+uniqueName("")))
	f.likeTarget = id(postComment(t, f.carol, f.videoC, 0, "like me "+uniqueName("")))
	f.held = id(postComment(t, f.alice, f.videoH, 0, "held "+heldWord+" "+uniqueName("")))
	f.heldLiked = id(postComment(t, f.carol, f.videoH, 0, "liked by alice "+uniqueName("")))
	if r := call(t, http.MethodPost, commentLikePath, url.Values{"token": {f.alice.Token},
		"comment_id": {strconv.FormatInt(f.heldLiked, 10)}, "action_type": {"1"}}); r.code() != 0 {
		t.Fatalf("alice likes a comment: %s", r.Raw)
	}
	return f
}

// eventually polls cond until it holds; other users' views and counts may trail
// a write by about a second (api.md A.1).
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(authzDeadline)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: still %s after %v", what, state, authzDeadline)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// settle is eventually for a state a cell's setup needs before it acts.
func settle(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	eventually(t, what, cond)
	if t.Failed() {
		t.FailNow()
	}
}

// holdsNow checks a state once: what a refused request must have left as it was.
func holdsNow(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	if ok, state := cond(); !ok {
		t.Errorf("%s: %s", what, state)
	}
}

// expectState is eventually when the state is the effect of the cell and now when
// the state is what a refused cell must have left.
func expectState(t *testing.T, changed bool, what string, cond func() (bool, string)) {
	t.Helper()
	if changed {
		eventually(t, what, cond)
	} else {
		holdsNow(t, what, cond)
	}
}

// authzRow is one route (or one use of a route) of the app's API.
type authzRow struct {
	name   string
	method string
	owner  account // the user the forged tokens impersonate, whose state the row watches
	other  account // a user without the owner's rights
	// otherGets is what the other user's call answers.
	otherGets outcome
	// optional marks routes where logging in is optional: an invalid token reads
	// as no token.
	optional bool
	// cell prepares fresh state for one cell and returns the request and the check.
	cell func(t *testing.T) authzCell
}

type authzCell struct {
	path   string
	params url.Values // everything but the token
	// send replaces the plain request (publish is multipart).
	send func(t *testing.T, tok authzToken) reply
	// check reads the state back after the cell's request; the answer's status
	// has been checked already.
	check func(t *testing.T, o outcome, r reply)
}

// appColumn is one kind of caller of the app's API.
type appColumn struct {
	name     string
	postOnly bool
	token    func(t *testing.T, f *authzFixture, row authzRow) authzToken
	expect   func(row authzRow) outcome
}

// forgedExpect is what every caller without a valid token of its own gets.
func forgedExpect(row authzRow) outcome {
	if row.optional {
		return allowAnon
	}
	return unauthentic
}

func appColumns() []appColumn {
	tok := func(v string) authzToken { return authzToken{value: v, present: true} }
	body := func(v string) authzToken { return authzToken{value: v, present: true, inBody: true} }
	asOwner := func(row authzRow) string { return row.owner.Token }
	tampered := func(t *testing.T, row authzRow) string {
		// The other user's own token, edited to name the owner: the signature no
		// longer matches.
		return retargeted(t, row.other.Token, func(c map[string]any) { c["sub"] = strconv.FormatInt(row.owner.ID, 10) })
	}
	return []appColumn{
		{name: "owner", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken { return tok(asOwner(row)) },
			expect: func(authzRow) outcome { return allow }},
		{name: "owner, token in body", postOnly: true, token: func(t *testing.T, f *authzFixture, row authzRow) authzToken { return body(asOwner(row)) },
			expect: func(authzRow) outcome { return allow }},
		{name: "another user", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken { return tok(row.other.Token) },
			expect: func(row authzRow) outcome { return row.otherGets }},
		{name: "no token", token: func(*testing.T, *authzFixture, authzRow) authzToken { return authzToken{} }, expect: forgedExpect},
		{name: "empty token", token: func(*testing.T, *authzFixture, authzRow) authzToken { return tok("") }, expect: forgedExpect},
		{name: "malformed token", token: func(*testing.T, *authzFixture, authzRow) authzToken { return tok("not.a-token") }, expect: forgedExpect},
		{name: "expired", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return tok(f.forge.expired(t, token.AudienceApp, row.owner.ID))
		}, expect: forgedExpect},
		{name: "alg none", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return tok(f.forge.unsigned(t, token.AudienceApp, row.owner.ID))
		}, expect: forgedExpect},
		{name: "wrong key", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return tok(f.forge.wrongKey(t, token.AudienceApp, row.owner.ID))
		}, expect: forgedExpect},
		{name: "tampered payload", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken { return tok(tampered(t, row)) },
			expect: forgedExpect},
		{name: "tampered payload, token in body", postOnly: true, token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return body(tampered(t, row))
		}, expect: forgedExpect},
		{name: "admin console token", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken { return tok(f.adminToken) },
			expect: forgedExpect},
		{name: "admin audience for owner", token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return tok(f.forge.valid(t, token.AudienceAdmin, row.owner.ID))
		}, expect: forgedExpect},
		// A token the server signed for an account it does not have (one
		// registered after the backup a database was restored from, say). The
		// account is nobody, so nothing may be written in its name; the relation
		// and message roles answer Unauthenticated, and a refusal for want of
		// rights (PermissionDenied) changes nothing either. Reads are left out:
		// such a caller sees what any user sees, and only its own (empty) data.
		{name: "unknown account", postOnly: true, token: func(t *testing.T, f *authzFixture, row authzRow) authzToken {
			return tok(f.ghost.Token)
		}, expect: func(row authzRow) outcome {
			if row.otherGets.kind == refused {
				return outcome{kind: refused, code: codeUnauthenticated, alt: row.otherGets.code}
			}
			return unauthentic
		}},
	}
}

// authzSend sends a cell's request with tok in its place.
func authzSend(t *testing.T, method string, c authzCell, tok authzToken) reply {
	t.Helper()
	if c.send != nil {
		return c.send(t, tok)
	}
	params := url.Values{}
	for k, v := range c.params {
		params[k] = v
	}
	if tok.present {
		params.Set("token", tok.value)
	}
	if tok.inBody {
		return callForm(t, c.path, params)
	}
	return call(t, method, c.path, params)
}

// checkAnswer checks a cell's answer against its outcome.
func checkAnswer(t *testing.T, o outcome, r reply) {
	t.Helper()
	if o.kind == refused {
		assertFailure(t, "answer", r)
		if r.code() != o.code && (o.alt == 0 || r.code() != o.alt) {
			t.Errorf("status_code %d, want %s: %s", r.code(), o, r.Raw)
		}
		return
	}
	if r.HTTP != http.StatusOK || r.code() != 0 {
		t.Errorf("want success, got HTTP %d %.300s", r.HTTP, r.Raw)
	}
}

// matrixTable renders results as a Markdown table for docs/security.md: one
// line per row, one column per caller, each cell the expected answer, marked
// when the cell failed.
type matrixTable struct {
	columns []string
	rows    []string
	cells   map[[2]string]string
}

func newMatrixTable(columns []string) *matrixTable {
	return &matrixTable{columns: columns, cells: map[[2]string]string{}}
}

func (m *matrixTable) record(row, column string, o outcome, passed bool) {
	if !slices.Contains(m.rows, row) {
		m.rows = append(m.rows, row)
	}
	s := o.String()
	if !passed {
		s = "**FAILED** (want " + s + ")"
	}
	m.cells[[2]string{row, column}] = s
}

func (m *matrixTable) String() string {
	var b strings.Builder
	b.WriteString("| route | " + strings.Join(m.columns, " | ") + " |\n|---" + strings.Repeat("|---", len(m.columns)) + "|\n")
	for _, r := range m.rows {
		b.WriteString("| " + r)
		for _, c := range m.columns {
			s := m.cells[[2]string{r, c}]
			if s == "" {
				s = "–"
			}
			b.WriteString(" | " + s)
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// TestAuthzMatrix runs every row of the app's API against every caller.
func TestAuthzMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	cols := appColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	table := newMatrixTable(names)
	for _, row := range authzRows(f) {
		t.Run(row.name, func(t *testing.T) {
			for _, col := range cols {
				if col.postOnly && row.method != http.MethodPost {
					continue
				}
				want := col.expect(row)
				passed := t.Run(col.name, func(t *testing.T) {
					c := row.cell(t)
					r := authzSend(t, row.method, c, col.token(t, f, row))
					checkAnswer(t, want, r)
					c.check(t, want, r)
				})
				table.record(row.name, col.name, want, passed)
			}
		})
	}
	t.Logf("authorization matrix of the app's API:\n%s", table)
}

// authzRows lists the app's routes that write or read what not everyone may see.
func authzRows(f *authzFixture) []authzRow {
	alice, bob, carol, dave := f.alice, f.bob, f.carol, f.dave
	str := func(n int64) string { return strconv.FormatInt(n, 10) }

	// Readers of state, as the users concerned see it.
	likes := func(t *testing.T, who account, video int64) bool {
		return slices.Contains(favListAll(t, who, who.ID, 100), video)
	}
	videoLikes := func(t *testing.T, author account, video int64) int64 {
		for _, v := range vidPublishList(t, author, author.ID) {
			if id(v) == video {
				return num(v, "favorite_count")
			}
		}
		t.Fatalf("video %d not in its author's list", video)
		return 0
	}
	follows := func(t *testing.T, who account, target int64) bool {
		return slices.Contains(relAll(t, relFollowPath, who, who.ID, 1000), target)
	}
	followers := func(t *testing.T, who int64) int64 { return num(userOf(t, carol, who), "follower_count") }
	commentsOf := func(t *testing.T, viewer account, video int64, extra url.Values) []map[string]any {
		q := url.Values{"count": {"100"}}
		for k, v := range extra {
			q[k] = v
		}
		return list(comments(t, viewer, video, q), "comment_list")
	}
	findComment := func(cs []map[string]any, cid int64) map[string]any {
		for _, c := range cs {
			if id(c) == cid {
				return c
			}
			for _, r := range list(reply{Body: c}, "replies") {
				if id(r) == cid {
					return r
				}
			}
		}
		return nil
	}
	byText := func(cs []map[string]any, text string) []int64 {
		var authors []int64
		for _, c := range cs {
			if c["content"] == text {
				u, _ := c["user"].(map[string]any)
				authors = append(authors, num(u, "id"))
			}
		}
		return authors
	}
	userIDs := func(r reply) []int64 {
		raw, _ := r.Body["user_list"].([]any)
		var ids []int64
		for _, u := range raw {
			m, _ := u.(map[string]any)
			ids = append(ids, num(m, "id"))
		}
		return ids
	}
	// emptyList checks that a refused list answers an empty list and leaks nothing.
	emptyList := func(t *testing.T, r reply, key string) {
		t.Helper()
		if v, ok := r.Body[key].([]any); !ok || len(v) != 0 {
			t.Errorf("a refused list must answer %q: [], got %.300s", key, r.Raw)
		}
	}
	chatTexts := func(r reply) []string {
		raw, _ := r.Body["message_list"].([]any)
		var out []string
		for _, m := range raw {
			mm, _ := m.(map[string]any)
			s, _ := mm["content"].(string)
			out = append(out, s)
		}
		return out
	}
	conversation := func(t *testing.T, me account, peer int64) []chatMessage {
		l, _, _ := chat(t, me, peer, url.Values{"count": {"1000"}})
		return l
	}
	sentBy := func(l []chatMessage, text string) []int64 {
		var from []int64
		for _, m := range l {
			if m.Content == text {
				from = append(from, m.From)
			}
		}
		return from
	}
	feedVideo := func(r reply, vid int64) map[string]any {
		for _, v := range list(r, "video_list") {
			if id(v) == vid {
				return v
			}
		}
		return nil
	}
	show := func(v any) string { return fmt.Sprintf("%v", v) }

	return []authzRow{
		// Writes.
		{name: "publish a video", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				title := "authz " + uniqueName("v")
				has := func(who account) bool {
					return slices.ContainsFunc(vidPublishList(t, carol, who.ID), func(v map[string]any) bool { return v["title"] == title })
				}
				return authzCell{
					send: func(t *testing.T, tok authzToken) reply {
						// The app sends the token in the multipart form; the
						// query string is checked too, before the body is read.
						fields, q := map[string]string{"title": title}, url.Values{}
						if tok.present && tok.inBody {
							fields["token"] = tok.value
						} else if tok.present {
							q.Set("token", tok.value)
						}
						return vidPublish(t, q, vidForm{fields: fields, file: f.clip})
					},
					check: func(t *testing.T, o outcome, r reply) {
						expectState(t, o.kind == ownerEffect, "the video in the owner's publish list", func() (bool, string) {
							return has(alice) == (o.kind == ownerEffect), "present: " + show(has(alice))
						})
						expectState(t, o.kind == ownEffect, "the video in the other user's publish list", func() (bool, string) {
							return has(bob) == (o.kind == ownEffect), "present: " + show(has(bob))
						})
					},
				}
			}},
		{name: "like a video", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				favMustAction(t, alice, f.videoC, "2")
				favMustAction(t, bob, f.videoC, "2")
				favAction(t, f.ghost, f.videoC, "2") // in case an earlier cell let it like
				settle(t, "no likes before the cell", func() (bool, string) {
					n := videoLikes(t, carol, f.videoC)
					return n == 0, "favorite_count " + show(n)
				})
				return authzCell{path: favActionPath, params: url.Values{"video_id": {str(f.videoC)}, "action_type": {"1"}},
					check: func(t *testing.T, o outcome, r reply) {
						ownerLikes, otherLikes := o.kind == ownerEffect, o.kind == ownEffect
						holdsNow(t, "the owner's like", func() (bool, string) {
							return likes(t, alice, f.videoC) == ownerLikes, "liked: " + show(!ownerLikes)
						})
						holdsNow(t, "the other user's like", func() (bool, string) {
							return likes(t, bob, f.videoC) == otherLikes, "liked: " + show(!otherLikes)
						})
						want := int64(0)
						if ownerLikes || otherLikes {
							want = 1
						}
						expectState(t, want > 0, "the video's favorite_count", func() (bool, string) {
							n := videoLikes(t, carol, f.videoC)
							return n == want, fmt.Sprintf("%d, want %d", n, want)
						})
					}}
			}},
		{name: "unlike a video", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				favMustAction(t, alice, f.videoC, "1")
				favMustAction(t, bob, f.videoC, "1")
				favAction(t, f.ghost, f.videoC, "2") // in case an earlier cell let it like
				settle(t, "two likes before the cell", func() (bool, string) {
					n := videoLikes(t, carol, f.videoC)
					return n == 2, "favorite_count " + show(n)
				})
				return authzCell{path: favActionPath, params: url.Values{"video_id": {str(f.videoC)}, "action_type": {"2"}},
					check: func(t *testing.T, o outcome, r reply) {
						ownerUnliked, otherUnliked := o.kind == ownerEffect, o.kind == ownEffect
						holdsNow(t, "the owner's like", func() (bool, string) {
							return likes(t, alice, f.videoC) != ownerUnliked, "liked: " + show(ownerUnliked)
						})
						holdsNow(t, "the other user's like", func() (bool, string) {
							return likes(t, bob, f.videoC) != otherUnliked, "liked: " + show(otherUnliked)
						})
						want := int64(2)
						if ownerUnliked || otherUnliked {
							want = 1
						}
						expectState(t, want < 2, "the video's favorite_count", func() (bool, string) {
							n := videoLikes(t, carol, f.videoC)
							return n == want, fmt.Sprintf("%d, want %d", n, want)
						})
					}}
			}},
		{name: "follow a user", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				relMust(t, alice, carol.ID, "2")
				relMust(t, bob, carol.ID, "2")
				settle(t, "no followers before the cell", func() (bool, string) {
					n := followers(t, carol.ID)
					return n == 0, "follower_count " + show(n)
				})
				return authzCell{path: relActionPath, params: url.Values{"to_user_id": {str(carol.ID)}, "action_type": {"1"}},
					check: func(t *testing.T, o outcome, r reply) {
						ownerFollows, otherFollows := o.kind == ownerEffect, o.kind == ownEffect
						holdsNow(t, "the owner's follow", func() (bool, string) {
							return follows(t, alice, carol.ID) == ownerFollows, "follows: " + show(!ownerFollows)
						})
						holdsNow(t, "the other user's follow", func() (bool, string) {
							return follows(t, bob, carol.ID) == otherFollows, "follows: " + show(!otherFollows)
						})
						want := int64(0)
						if ownerFollows || otherFollows {
							want = 1
						}
						expectState(t, want > 0, "the follower_count of the followed user", func() (bool, string) {
							n := followers(t, carol.ID)
							return n == want, fmt.Sprintf("%d, want %d", n, want)
						})
					}}
			}},
		{name: "unfollow a user", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				relMust(t, alice, carol.ID, "1")
				relMust(t, bob, carol.ID, "1")
				settle(t, "two followers before the cell", func() (bool, string) {
					n := followers(t, carol.ID)
					return n == 2, "follower_count " + show(n)
				})
				return authzCell{path: relActionPath, params: url.Values{"to_user_id": {str(carol.ID)}, "action_type": {"2"}},
					check: func(t *testing.T, o outcome, r reply) {
						ownerLeft, otherLeft := o.kind == ownerEffect, o.kind == ownEffect
						holdsNow(t, "the owner's follow", func() (bool, string) {
							return follows(t, alice, carol.ID) != ownerLeft, "follows: " + show(ownerLeft)
						})
						holdsNow(t, "the other user's follow", func() (bool, string) {
							return follows(t, bob, carol.ID) != otherLeft, "follows: " + show(otherLeft)
						})
						want := int64(2)
						if ownerLeft || otherLeft {
							want = 1
						}
						expectState(t, want < 2, "the follower_count of the unfollowed user", func() (bool, string) {
							n := followers(t, carol.ID)
							return n == want, fmt.Sprintf("%d, want %d", n, want)
						})
					}}
			}},
		{name: "send a message", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				text := "authz message " + uniqueName("")
				return authzCell{path: "/douyin/message/action/",
					params: url.Values{"to_user_id": {str(carol.ID)}, "action_type": {"1"}, "content": {text}},
					check: func(t *testing.T, o outcome, r reply) {
						// Read as the recipient: was anything delivered, and from whom?
						expectState(t, o.kind == ownerEffect, "the message from the owner", func() (bool, string) {
							from := sentBy(conversation(t, carol, alice.ID), text)
							want := o.kind == ownerEffect
							return (len(from) == 1) == want && len(from) <= 1, "delivered from the owner: " + show(from)
						})
						expectState(t, o.kind == ownEffect, "the message from the other user", func() (bool, string) {
							from := sentBy(conversation(t, carol, bob.ID), text)
							want := o.kind == ownEffect
							return (len(from) == 1) == want && len(from) <= 1, "delivered from the other user: " + show(from)
						})
					}}
			}},
		{name: "publish a comment", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				text := "authz comment " + uniqueName("")
				return authzCell{path: commentActionPath,
					params: url.Values{"video_id": {str(f.videoC)}, "action_type": {"1"}, "comment_text": {text}},
					check: func(t *testing.T, o outcome, r reply) {
						var want []int64
						switch o.kind {
						case ownerEffect:
							want = []int64{alice.ID}
						case ownEffect:
							want = []int64{bob.ID}
						}
						expectState(t, want != nil, "the comment's authors", func() (bool, string) {
							got := byText(commentsOf(t, carol, f.videoC, nil), text)
							return slices.Equal(got, want), fmt.Sprintf("%v, want %v", got, want)
						})
						if o.kind == refused && r.Body["comment"] != nil {
							t.Errorf("a refused publish answered a comment: %s", r.Raw)
						}
					}}
			}},
		{name: "reply to a comment", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				text := "authz reply " + uniqueName("")
				return authzCell{path: commentActionPath,
					params: url.Values{"video_id": {str(f.videoC)}, "action_type": {"1"}, "comment_text": {text}, "parent_id": {str(f.replyTarget)}},
					check: func(t *testing.T, o outcome, r reply) {
						var want []int64
						switch o.kind {
						case ownerEffect:
							want = []int64{alice.ID}
						case ownEffect:
							want = []int64{bob.ID}
						}
						expectState(t, want != nil, "the reply's authors", func() (bool, string) {
							got := byText(commentsOf(t, carol, f.videoC, url.Values{"root_id": {str(f.replyTarget)}}), text)
							return slices.Equal(got, want), fmt.Sprintf("%v, want %v", got, want)
						})
					}}
			}},
		{name: "delete a comment, as its author", method: http.MethodPost, owner: alice, other: bob, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				// Alice's comment on carol's video.
				cid := id(postComment(t, alice, f.videoC, 0, "delete me "+uniqueName("")))
				settle(t, "the comment listed before the cell", func() (bool, string) {
					return findComment(commentsOf(t, carol, f.videoC, nil), cid) != nil, "not listed"
				})
				return authzCell{path: commentActionPath,
					params: url.Values{"video_id": {str(f.videoC)}, "action_type": {"2"}, "comment_id": {str(cid)}},
					check: func(t *testing.T, o outcome, r reply) {
						gone := o.kind == ownerEffect
						expectState(t, gone, "the comment in the list", func() (bool, string) {
							listed := findComment(commentsOf(t, carol, f.videoC, nil), cid) != nil
							return listed != gone, "listed: " + show(listed)
						})
					}}
			}},
		{name: "delete a comment, as the video's author", method: http.MethodPost, owner: alice, other: bob, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				// Carol's comment on alice's video.
				cid := id(postComment(t, carol, f.videoA, 0, "delete me "+uniqueName("")))
				settle(t, "the comment listed before the cell", func() (bool, string) {
					return findComment(commentsOf(t, carol, f.videoA, nil), cid) != nil, "not listed"
				})
				return authzCell{path: commentActionPath,
					params: url.Values{"video_id": {str(f.videoA)}, "action_type": {"2"}, "comment_id": {str(cid)}},
					check: func(t *testing.T, o outcome, r reply) {
						gone := o.kind == ownerEffect
						expectState(t, gone, "the comment in the list", func() (bool, string) {
							listed := findComment(commentsOf(t, carol, f.videoA, nil), cid) != nil
							return listed != gone, "listed: " + show(listed)
						})
					}}
			}},
		// The other user here is the comment's own author: writing a comment
		// gives no right to pin it on someone else's video.
		{name: "pin a comment", method: http.MethodPost, owner: alice, other: carol, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				pinned := func() bool {
					c := findComment(commentsOf(t, bob, f.videoA, nil), f.pinTarget)
					return c != nil && c["is_pinned"] == true
				}
				if r := call(t, http.MethodPost, commentPinPath, url.Values{"token": {alice.Token}, "video_id": {str(f.videoA)},
					"comment_id": {str(f.pinTarget)}, "action_type": {"2"}}); r.code() != 0 {
					t.Fatalf("unpin: %s", r.Raw)
				}
				settle(t, "unpinned before the cell", func() (bool, string) { return !pinned(), "pinned" })
				return authzCell{path: commentPinPath,
					params: url.Values{"video_id": {str(f.videoA)}, "comment_id": {str(f.pinTarget)}, "action_type": {"1"}},
					check: func(t *testing.T, o outcome, r reply) {
						expectState(t, o.kind == ownerEffect, "the pin", func() (bool, string) {
							p := pinned()
							return p == (o.kind == ownerEffect), "pinned: " + show(p)
						})
					}}
			}},
		{name: "unpin a comment", method: http.MethodPost, owner: alice, other: carol, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				pinned := func() bool {
					c := findComment(commentsOf(t, bob, f.videoA, nil), f.pinTarget)
					return c != nil && c["is_pinned"] == true
				}
				if r := call(t, http.MethodPost, commentPinPath, url.Values{"token": {alice.Token}, "video_id": {str(f.videoA)},
					"comment_id": {str(f.pinTarget)}, "action_type": {"1"}}); r.code() != 0 {
					t.Fatalf("pin: %s", r.Raw)
				}
				settle(t, "pinned before the cell", func() (bool, string) { return pinned(), "not pinned" })
				return authzCell{path: commentPinPath,
					params: url.Values{"video_id": {str(f.videoA)}, "comment_id": {str(f.pinTarget)}, "action_type": {"2"}},
					check: func(t *testing.T, o outcome, r reply) {
						expectState(t, o.kind == ownerEffect, "the pin", func() (bool, string) {
							p := pinned()
							return p != (o.kind == ownerEffect), "pinned: " + show(p)
						})
					}}
			}},
		{name: "like a comment", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				return commentLikeCell(t, f, "1", findComment, commentsOf)
			}},
		{name: "cancel a comment like", method: http.MethodPost, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				return commentLikeCell(t, f, "2", findComment, commentsOf)
			}},

		// Reads of the caller's own data only (api.md A.1).
		{name: "friend list of the owner", method: http.MethodGet, owner: alice, other: bob, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: relFriendPath, params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "user_list")
						} else if ids := userIDs(r); !slices.Contains(ids, dave.ID) {
							t.Errorf("the owner's friend list %v lacks the friend %d", ids, dave.ID)
						}
					}}
			}},
		{name: "chat, naming the owner as user_id", method: http.MethodGet, owner: alice, other: bob, otherGets: forbidden,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: "/douyin/message/chat/", params: url.Values{"to_user_id": {str(dave.ID)}, "user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "message_list")
						} else if got := chatTexts(r); !slices.Contains(got, f.chatTexts[0]) || !slices.Contains(got, f.chatTexts[1]) {
							t.Errorf("the owner's conversation %q lacks %q", got, f.chatTexts)
						}
					}}
			}},
		// Without user_id the other user reads their own (empty) conversation.
		{name: "chat with the owner's friend", method: http.MethodGet, owner: alice, other: bob, otherGets: allowOwn,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: "/douyin/message/chat/", params: url.Values{"to_user_id": {str(dave.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						got := chatTexts(r)
						switch o.kind {
						case refused:
							emptyList(t, r, "message_list")
						case ownerEffect:
							if !slices.Contains(got, f.chatTexts[0]) || !slices.Contains(got, f.chatTexts[1]) {
								t.Errorf("the owner's conversation %q lacks %q", got, f.chatTexts)
							}
						default:
							if slices.Contains(got, f.chatTexts[0]) || slices.Contains(got, f.chatTexts[1]) {
								t.Errorf("another user reads the owner's messages: %q", got)
							}
						}
					}}
			}},

		// Reads open to every logged-in user (api.md A.1), closed to everyone else.
		{name: "user info", method: http.MethodGet, owner: alice, other: bob, otherGets: allow,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: "/douyin/user/", params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						u, _ := r.Body["user"].(map[string]any)
						if o.kind == refused {
							if _, present := r.Body["user"]; !present || u != nil {
								t.Errorf("a refused user info must answer \"user\": null: %s", r.Raw)
							}
						} else if num(u, "id") != alice.ID {
							t.Errorf("user info answered %v", u)
						}
					}}
			}},
		{name: "publish list", method: http.MethodGet, owner: alice, other: bob, otherGets: allow,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: "/douyin/publish/list/", params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "video_list")
						} else if feedVideo(r, f.videoA) == nil {
							t.Errorf("the publish list lacks video %d: %.300s", f.videoA, r.Raw)
						}
					}}
			}},
		{name: "favorite list", method: http.MethodGet, owner: alice, other: bob, otherGets: allow,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: favListPath, params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "video_list")
						} else if feedVideo(r, f.videoA) == nil {
							t.Errorf("the favorite list lacks video %d: %.300s", f.videoA, r.Raw)
						}
					}}
			}},
		{name: "follow list", method: http.MethodGet, owner: alice, other: bob, otherGets: allow,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: relFollowPath, params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "user_list")
						} else if ids := userIDs(r); !slices.Contains(ids, dave.ID) {
							t.Errorf("the follow list %v lacks %d", ids, dave.ID)
						}
					}}
			}},
		{name: "follower list", method: http.MethodGet, owner: alice, other: bob, otherGets: allow,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: relFollowerPath, params: url.Values{"user_id": {str(alice.ID)}},
					check: func(t *testing.T, o outcome, r reply) {
						if o.kind == refused {
							emptyList(t, r, "user_list")
						} else if ids := userIDs(r); !slices.Contains(ids, dave.ID) {
							t.Errorf("the follower list %v lacks %d", ids, dave.ID)
						}
					}}
			}},

		// Reads where logging in is optional: what only the owner may see (a held
		// comment, their own likes) must not show through a forged token.
		{name: "comment list", method: http.MethodGet, owner: alice, other: bob, otherGets: allowOwn, optional: true,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: commentListPath, params: url.Values{"video_id": {str(f.videoH)}, "count": {"100"}},
					check: func(t *testing.T, o outcome, r reply) {
						cs := list(r, "comment_list")
						held, liked := findComment(cs, f.held), findComment(cs, f.heldLiked)
						if liked == nil {
							t.Fatalf("the list lacks the visible comment %d: %.300s", f.heldLiked, r.Raw)
						}
						if o.kind == ownerEffect {
							if held == nil || held["state"] != "pending" || liked["is_liked"] != true {
								t.Errorf("the owner's view: held comment %v, liked comment %v", held, liked)
							}
							return
						}
						if held != nil {
							t.Errorf("a held comment is shown to someone other than its author: %v", held)
						}
						if liked["is_liked"] != false {
							t.Errorf("is_liked of the owner's like shows to someone else: %v", liked)
						}
					}}
			}},
		{name: "feed", method: http.MethodGet, owner: alice, other: f.eve, otherGets: allowOwn, optional: true,
			cell: func(t *testing.T) authzCell {
				return authzCell{path: "/douyin/feed/", params: url.Values{"latest_time": {str(f.feedTime)}},
					check: func(t *testing.T, o outcome, r reply) {
						v := feedVideo(r, f.videoA)
						if v == nil {
							t.Fatalf("the feed before %d lacks video %d: %.300s", f.feedTime, f.videoA, r.Raw)
						}
						if want := o.kind == ownerEffect; v["is_favorite"] != want {
							t.Errorf("is_favorite of the owner's like = %v, want %v", v["is_favorite"], want)
						}
					}}
			}},
	}
}

// commentLikeCell is a cell of the comment like rows: action "1" likes carol's
// comment on videoC, "2" takes a like back. Before the cell, alice and bob both
// have (for "2") or have not (for "1") liked it.
func commentLikeCell(t *testing.T, f *authzFixture, action string,
	findComment func([]map[string]any, int64) map[string]any,
	commentsOf func(*testing.T, account, int64, url.Values) []map[string]any) authzCell {
	t.Helper()
	str := func(n int64) string { return strconv.FormatInt(n, 10) }
	likeAs := func(a account, action string) {
		t.Helper()
		if r := call(t, http.MethodPost, commentLikePath, url.Values{"token": {a.Token}, "comment_id": {str(f.likeTarget)},
			"action_type": {action}}); r.code() != 0 {
			t.Fatalf("comment like %s by %s: %s", action, a.Name, r.Raw)
		}
	}
	view := func(viewer account) (liked bool, count int64) {
		c := findComment(commentsOf(t, viewer, f.videoC, nil), f.likeTarget)
		if c == nil {
			t.Fatalf("comment %d is not listed", f.likeTarget)
		}
		return c["is_liked"] == true, num(c, "like_count")
	}
	before := int64(0)
	if action == "2" {
		before = 2
	}
	// The setup is the opposite of the cell's action, by both users.
	setup := map[string]string{"1": "2", "2": "1"}[action]
	likeAs(f.alice, setup)
	likeAs(f.bob, setup)
	// In case an earlier cell let the unknown account like it.
	call(t, http.MethodPost, commentLikePath, url.Values{"token": {f.ghost.Token}, "comment_id": {str(f.likeTarget)}, "action_type": {"2"}})
	settle(t, "the likes before the cell", func() (bool, string) {
		_, n := view(f.carol)
		return n == before, fmt.Sprintf("like_count %d, want %d", n, before)
	})
	return authzCell{path: commentLikePath, params: url.Values{"comment_id": {str(f.likeTarget)}, "action_type": {action}},
		check: func(t *testing.T, o outcome, r reply) {
			// Who likes it after the cell.
			owner, other := before > 0, before > 0
			switch o.kind {
			case ownerEffect:
				owner = !owner
			case ownEffect:
				other = !other
			}
			want := int64(0)
			for _, l := range []bool{owner, other} {
				if l {
					want++
				}
			}
			if liked, _ := view(f.alice); liked != owner {
				t.Errorf("the owner's is_liked = %v, want %v", liked, owner)
			}
			if liked, _ := view(f.bob); liked != other {
				t.Errorf("the other user's is_liked = %v, want %v", liked, other)
			}
			expectState(t, want != before, "like_count", func() (bool, string) {
				_, n := view(f.carol)
				return n == want, fmt.Sprintf("%d, want %d", n, want)
			})
		}}
}

// adminColumn is one kind of caller of the operations API (api.md C).
type adminColumn struct {
	name    string
	allowed bool
	// auth is the Authorization header to send ("" with set false: none) and
	// any query parameters.
	auth func(t *testing.T, f *authzFixture) (header string, set bool, query url.Values)
}

func adminColumns() []adminColumn {
	bearer := func(tok string) (string, bool, url.Values) { return "Bearer " + tok, true, nil }
	return []adminColumn{
		{name: "admin", allowed: true, auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) { return bearer(f.adminToken) }},
		{name: "no token", auth: func(*testing.T, *authzFixture) (string, bool, url.Values) { return "", false, nil }},
		{name: "empty bearer", auth: func(*testing.T, *authzFixture) (string, bool, url.Values) { return bearer("") }},
		{name: "malformed token", auth: func(*testing.T, *authzFixture) (string, bool, url.Values) { return bearer("not.a-token") }},
		{name: "app token", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) { return bearer(f.alice.Token) }},
		{name: "expired", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			return bearer(f.forge.expired(t, token.AudienceAdmin, 1))
		}},
		{name: "alg none", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			return bearer(f.forge.unsigned(t, token.AudienceAdmin, 1))
		}},
		{name: "wrong key", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			return bearer(f.forge.wrongKey(t, token.AudienceAdmin, 1))
		}},
		// A user's own app token relabelled for the console.
		{name: "tampered payload", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			return bearer(retargeted(t, f.alice.Token, func(c map[string]any) { c["aud"] = []string{token.AudienceAdmin} }))
		}},
		// The admin token where the app's routes take theirs.
		{name: "admin token in the query", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			return "", false, url.Values{"token": {f.adminToken}}
		}},
		// The console takes tokens only, never the password itself.
		{name: "basic auth with the password", auth: func(t *testing.T, f *authzFixture) (string, bool, url.Values) {
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			req.SetBasicAuth("admin", adminPassword())
			return req.Header.Get("Authorization"), true, nil
		}},
	}
}

// adminRow is one route of the operations API; each cell gets fresh state.
type adminRow struct {
	name string
	cell func(t *testing.T) adminCell
}

type adminCell struct {
	method, path string
	check        func(t *testing.T, allowed bool, r adminReply)
}

// authzAdminCall sends an operations API request with the column's credentials.
func authzAdminCall(t *testing.T, f *authzFixture, method, path string, col adminColumn) adminReply {
	t.Helper()
	header, set, query := col.auth(t, f)
	u := baseURL + path
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + query.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set {
		req.Header.Set("Authorization", header)
	}
	r := do(t, req)
	return adminReply{HTTP: r.HTTP, Body: r.Body, Raw: r.Raw}
}

// TestAuthzAdminMatrix runs every route of the operations API against every
// kind of caller: only the admin token opens it, and a refused review changes no
// comment and writes no audit entry.
func TestAuthzAdminMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	cols := adminColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	// The held comment reaches the search index asynchronously.
	adminSearchUntil(t, f.adminToken, url.Values{"video_id": {strconv.FormatInt(f.videoH, 10)}, "state": {"pending"}},
		"the held comment in the review queue", hasComment(f.held))
	table := newMatrixTable(names)
	for _, row := range adminRows(f) {
		t.Run(row.name, func(t *testing.T) {
			for _, col := range cols {
				want := outcome{kind: refused, code: http.StatusUnauthorized}
				if col.allowed {
					want = allow
				}
				passed := t.Run(col.name, func(t *testing.T) {
					c := row.cell(t)
					r := authzAdminCall(t, f, c.method, c.path, col)
					switch {
					case col.allowed && r.HTTP != http.StatusOK:
						t.Errorf("want 200, got %d %.300s", r.HTTP, r.Raw)
					case !col.allowed && (r.HTTP != http.StatusUnauthorized || r.Body["error"] == ""):
						t.Errorf("want 401 with an error, got %d %.300s", r.HTTP, r.Raw)
					}
					if !col.allowed && len(r.Body) != 1 {
						t.Errorf("a refused call must answer only the error: %.300s", r.Raw)
					}
					c.check(t, col.allowed, r)
				})
				table.record(row.name, col.name, want, passed)
			}
		})
	}
	t.Logf("authorization matrix of the operations API (ok = 200, refused = HTTP status):\n%s", table)
}

func adminRows(f *authzFixture) []adminRow {
	str := func(n int64) string { return strconv.FormatInt(n, 10) }
	state := func(t *testing.T, cid int64) string {
		t.Helper()
		r := adminCall(t, http.MethodGet, "/admin/api/comments/"+str(cid), f.adminToken, nil)
		c, _ := r.Body["comment"].(map[string]any)
		if r.HTTP != http.StatusOK || c == nil {
			t.Fatalf("detail of %d: %d %s", cid, r.HTTP, r.Raw)
		}
		s, _ := c["state"].(string)
		return s
	}
	audited := func(t *testing.T, cid int64) int {
		t.Helper()
		r := adminCall(t, http.MethodGet, "/admin/api/audit?limit=500", f.adminToken, nil)
		if r.HTTP != http.StatusOK {
			t.Fatalf("audit: %d %s", r.HTTP, r.Raw)
		}
		n := 0
		for _, e := range adminItems(r) {
			if num(e, "comment_id") == cid {
				n++
			}
		}
		return n
	}
	// review is a row of one review action on a fresh comment in state from.
	review := func(action, from, to string) adminRow {
		return adminRow{name: action + " a " + from + " comment", cell: func(t *testing.T) adminCell {
			text := "authz review " + uniqueName("")
			if from == "pending" {
				text += " " + heldWord
			}
			cid := id(postComment(t, f.bob, f.videoH, 0, text))
			if from == "deleted" {
				if r := deleteComment(t, f.bob, f.videoH, cid); r.code() != 0 {
					t.Fatalf("delete: %s", r.Raw)
				}
			}
			settle(t, "the comment's state before the cell", func() (bool, string) {
				s := state(t, cid)
				return s == from, s
			})
			return adminCell{method: http.MethodPost, path: "/admin/api/comments/" + str(cid) + "/" + action,
				check: func(t *testing.T, allowed bool, r adminReply) {
					want, audits := from, 0
					if allowed {
						want, audits = to, 1
						if r.Body["old_state"] != from || r.Body["new_state"] != to {
							t.Errorf("answer %s, want %s > %s", r.Raw, from, to)
						}
					}
					if s := state(t, cid); s != want {
						t.Errorf("state %s, want %s", s, want)
					}
					if n := audited(t, cid); n != audits {
						t.Errorf("%d audit entries for the comment, want %d", n, audits)
					}
				}}
		}}
	}
	refusedBody := func(t *testing.T, allowed bool, r adminReply, key string) bool {
		t.Helper()
		if _, present := r.Body[key]; !allowed && present {
			t.Errorf("a refused call answered %q: %.300s", key, r.Raw)
		}
		return allowed
	}
	return []adminRow{
		{name: "search comments", cell: func(t *testing.T) adminCell {
			query := url.Values{"video_id": {str(f.videoH)}, "state": {"pending"}}
			return adminCell{method: http.MethodGet, path: "/admin/api/comments?" + query.Encode(),
				check: func(t *testing.T, allowed bool, r adminReply) {
					if refusedBody(t, allowed, r, "items") && !hasComment(f.held)(adminItems(r)) {
						// Each comment-admin replica keeps its own index (the
						// cluster runs two): the one that answered may not have
						// indexed the comment yet. It must get there.
						adminSearchUntil(t, f.adminToken, query, "the held comment on the replica that answered", hasComment(f.held))
					}
				}}
		}},
		{name: "comment detail", cell: func(t *testing.T) adminCell {
			return adminCell{method: http.MethodGet, path: "/admin/api/comments/" + str(f.held),
				check: func(t *testing.T, allowed bool, r adminReply) {
					if c, _ := r.Body["comment"].(map[string]any); refusedBody(t, allowed, r, "comment") && num(c, "id") != f.held {
						t.Errorf("detail answered %.300s", r.Raw)
					}
				}}
		}},
		{name: "audit log", cell: func(t *testing.T) adminCell {
			return adminCell{method: http.MethodGet, path: "/admin/api/audit",
				check: func(t *testing.T, allowed bool, r adminReply) {
					if _, isList := r.Body["items"].([]any); refusedBody(t, allowed, r, "items") && !isList {
						t.Errorf("audit answered %.300s", r.Raw)
					}
				}}
		}},
		review("approve", "pending", "visible"),
		review("reject", "visible", "rejected"),
		review("delete", "visible", "deleted"),
		review("restore", "deleted", "visible"),
	}
}

// TestAuthzAdminLogin: only the admin password opens the console; an app
// account's credentials, even under the name admin, do not.
func TestAuthzAdminLogin(t *testing.T) {
	user := register(t, uniqueName("zlogin"), "secret-1")
	// An app account may be called admin (if the name is still free); its
	// password must not open the console.
	call(t, http.MethodPost, "/douyin/user/register/", url.Values{"username": {"admin"}, "password": {"app-password-1"}})
	for _, c := range []struct {
		name   string
		bearer string
		body   any
		code   int
	}{
		{"the admin password", "", map[string]string{"username": "admin", "password": adminPassword()}, http.StatusOK},
		{"a wrong password", "", map[string]string{"username": "admin", "password": adminPassword() + "x"}, http.StatusUnauthorized},
		{"an app account's credentials", "", map[string]string{"username": user.Name, "password": "secret-1"}, http.StatusUnauthorized},
		{"admin with an app account's password", "", map[string]string{"username": "admin", "password": "app-password-1"}, http.StatusUnauthorized},
		{"the admin password under another name", "", map[string]string{"username": user.Name, "password": adminPassword()}, http.StatusUnauthorized},
		{"no password", "", map[string]string{"username": "admin"}, http.StatusUnauthorized},
		{"an app token instead of a body", user.Token, nil, http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := adminCall(t, http.MethodPost, "/admin/api/login", c.bearer, c.body)
			tok, _ := r.Body["token"].(string)
			if r.HTTP != c.code {
				t.Fatalf("HTTP %d, want %d: %s", r.HTTP, c.code, r.Raw)
			}
			if c.code != http.StatusOK {
				if tok != "" || r.Body["error"] == "" {
					t.Fatalf("a refused login answered %s", r.Raw)
				}
				return
			}
			if s := adminCall(t, http.MethodGet, "/admin/api/audit", tok, nil); s.HTTP != http.StatusOK {
				t.Fatalf("the token of a login does not open the console: %d %s", s.HTTP, s.Raw)
			}
		})
	}
}

// TestAuthzObjects: the right to act on one object gives none on another one
// named in the same request, and what only its author sees cannot be acted on
// by others.
func TestAuthzObjects(t *testing.T) {
	f := newAuthzFixture(t)
	str := func(n int64) string { return strconv.FormatInt(n, 10) }
	listed := func(viewer account, video, cid int64) map[string]any {
		for _, c := range list(comments(t, viewer, video, url.Values{"count": {"100"}}), "comment_list") {
			if id(c) == cid {
				return c
			}
		}
		return nil
	}
	pinnedOn := func(video int64) []int64 {
		var ids []int64
		for _, c := range list(comments(t, f.bob, video, url.Values{"count": {"100"}}), "comment_list") {
			if c["is_pinned"] == true {
				ids = append(ids, id(c))
			}
		}
		return ids
	}
	for _, c := range []struct {
		name   string
		as     account
		path   string
		params url.Values
		code   int64
		after  func(t *testing.T)
	}{
		{"pin another video's comment on one's own video", f.alice, commentPinPath,
			url.Values{"video_id": {str(f.videoA)}, "comment_id": {str(f.likeTarget)}, "action_type": {"1"}}, codeCommentNotFound,
			func(t *testing.T) {
				if p := pinnedOn(f.videoA); len(p) != 0 {
					t.Errorf("pinned on the owner's video: %v", p)
				}
				if p := pinnedOn(f.videoC); len(p) != 0 {
					t.Errorf("pinned on the comment's video: %v", p)
				}
			}},
		{"delete a comment on another's video, naming one's own video", f.alice, commentActionPath,
			url.Values{"video_id": {str(f.videoA)}, "comment_id": {str(f.likeTarget)}, "action_type": {"2"}}, codePermissionDenied,
			func(t *testing.T) {
				if listed(f.carol, f.videoC, f.likeTarget) == nil {
					t.Error("the comment is gone")
				}
			}},
		{"like another user's held comment", f.bob, commentLikePath,
			url.Values{"comment_id": {str(f.held)}, "action_type": {"1"}}, codeCommentNotFound,
			func(t *testing.T) {
				if c := listed(f.alice, f.videoH, f.held); c == nil || num(c, "like_count") != 0 {
					t.Errorf("the held comment as its author sees it: %v", c)
				}
			}},
		{"reply to another user's held comment", f.bob, commentActionPath,
			url.Values{"video_id": {str(f.videoH)}, "parent_id": {str(f.held)}, "action_type": {"1"}, "comment_text": {"a reply " + uniqueName("")}},
			codeCommentParent,
			func(t *testing.T) {
				if c := listed(f.alice, f.videoH, f.held); c == nil || num(c, "reply_count") != 0 {
					t.Errorf("the held comment as its author sees it: %v", c)
				}
			}},
		{"delete another user's held comment", f.bob, commentActionPath,
			url.Values{"video_id": {str(f.videoH)}, "comment_id": {str(f.held)}, "action_type": {"2"}}, codePermissionDenied,
			func(t *testing.T) {
				if c := listed(f.alice, f.videoH, f.held); c == nil || c["state"] != "pending" {
					t.Errorf("the held comment as its author sees it: %v", c)
				}
			}},
		{"pin a held comment, as the video's author", f.carol, commentPinPath,
			url.Values{"video_id": {str(f.videoH)}, "comment_id": {str(f.held)}, "action_type": {"1"}}, codeCommentNotFound,
			func(t *testing.T) {
				if p := pinnedOn(f.videoH); len(p) != 0 {
					t.Errorf("pinned: %v", p)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := url.Values{"token": {c.as.Token}}
			for k, v := range c.params {
				q[k] = v
			}
			r := call(t, http.MethodPost, c.path, q)
			assertFailure(t, c.name, r)
			if r.code() != c.code {
				t.Errorf("status_code %d, want %d: %s", r.code(), c.code, r.Raw)
			}
			c.after(t)
		})
	}
}

// TestAuthzPublishTokenAfterFile: a publish form may carry its token after the
// file, which the server then checks only once the file is read; a forged one
// there publishes nothing either.
func TestAuthzPublishTokenAfterFile(t *testing.T) {
	f := newForger(t)
	clip := testenv.Clip(t)
	owner := register(t, uniqueName("zafter"), "secret-1")
	other := register(t, uniqueName("zafter"), "secret-2")
	send := func(tok, title string) reply {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		p, _ := w.CreateFormFile("data", "video.mp4")
		p.Write(clip)
		w.WriteField("title", title)
		w.WriteField("token", tok)
		w.Close()
		req, err := http.NewRequest(http.MethodPost, baseURL+"/douyin/publish/action/", &body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		return do(t, req)
	}
	published := func(title string) bool {
		return slices.ContainsFunc(vidPublishList(t, other, owner.ID), func(v map[string]any) bool { return v["title"] == title })
	}
	for _, c := range []struct {
		name, token string
		want        outcome
	}{
		{"owner", owner.Token, allow},
		{"expired", f.expired(t, token.AudienceApp, owner.ID), unauthentic},
		{"alg none", f.unsigned(t, token.AudienceApp, owner.ID), unauthentic},
		{"wrong key", f.wrongKey(t, token.AudienceApp, owner.ID), unauthentic},
		{"tampered payload", retargeted(t, other.Token, func(c map[string]any) { c["sub"] = strconv.FormatInt(owner.ID, 10) }), unauthentic},
		{"admin audience for owner", f.valid(t, token.AudienceAdmin, owner.ID), unauthentic},
	} {
		t.Run(c.name, func(t *testing.T) {
			title := "authz after " + uniqueName("")
			r := send(c.token, title)
			checkAnswer(t, c.want, r)
			if got, want := published(title), c.want.kind == ownerEffect; got != want {
				t.Errorf("published: %v, want %v", got, want)
			}
		})
	}
}
