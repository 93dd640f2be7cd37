package e2e

// Comment scenarios (api.md A.3 and B): threads and floors, previews, likes, pins,
// deletes by the commenter and by the video's author, held comments, paging, and
// comment_count on the videos around them.

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

const (
	commentActionPath = "/douyin/comment/action/"
	commentListPath   = "/douyin/comment/list/"
	commentLikePath   = "/douyin/comment/like/"
	commentPinPath    = "/douyin/comment/pin/"

	// heldWord is a sensitive word of the server under test: the in-process
	// server is configured with it, and a server given by MDOUYIN_E2E_URL must
	// list it in MDOUYIN_SENSITIVE_WORDS too.
	heldWord = "e2e屏蔽词"
)

// Error codes as clients see them (idl/base.thrift).
const (
	codeCommentNotFound    = 13000
	codeCommentTextInvalid = 13001
	codeCommentDuplicate   = 13002
	codeCommentParent      = 13003
	codeCommentNotTopLevel = 13004
	codeCommentCursor      = 13005
	codeCommentNoVideo     = 13006
	codePermissionDenied   = 4
)

func num(obj map[string]any, key string) int64 { f, _ := obj[key].(float64); return int64(f) }

// postComment publishes a comment (a reply when parent > 0) and returns the
// answer's comment object.
func postComment(t *testing.T, a account, videoID, parent int64, text string) map[string]any {
	t.Helper()
	r := tryComment(t, a, videoID, parent, text)
	if r.HTTP != http.StatusOK || r.code() != 0 {
		t.Fatalf("comment %q by %s: %s", text, a.Name, r.Raw)
	}
	c, _ := r.Body["comment"].(map[string]any)
	if c == nil || num(c, "id") == 0 {
		t.Fatalf("comment answer without a comment: %s", r.Raw)
	}
	return c
}

func tryComment(t *testing.T, a account, videoID, parent int64, text string) reply {
	t.Helper()
	q := url.Values{"token": {a.Token}, "video_id": {strconv.FormatInt(videoID, 10)}, "action_type": {"1"}, "comment_text": {text}}
	if parent != 0 {
		q.Set("parent_id", strconv.FormatInt(parent, 10))
	}
	return call(t, http.MethodPost, commentActionPath, q)
}

func deleteComment(t *testing.T, a account, videoID, id int64) reply {
	t.Helper()
	return call(t, http.MethodPost, commentActionPath, url.Values{"token": {a.Token}, "video_id": {strconv.FormatInt(videoID, 10)},
		"action_type": {"2"}, "comment_id": {strconv.FormatInt(id, 10)}})
}

// comments lists one page; viewer may be the zero account (anonymous).
func comments(t *testing.T, viewer account, videoID int64, extra url.Values) reply {
	t.Helper()
	q := url.Values{"video_id": {strconv.FormatInt(videoID, 10)}}
	if viewer.Token != "" {
		q.Set("token", viewer.Token)
	}
	for k, v := range extra {
		q[k] = v
	}
	r := call(t, http.MethodGet, commentListPath, q)
	if r.HTTP != http.StatusOK || r.code() != 0 {
		t.Fatalf("comment list of %d (%v): %s", videoID, extra, r.Raw)
	}
	if _, ok := r.Body["comment_list"].([]any); !ok {
		t.Fatalf("comment_list is not a list: %s", r.Raw)
	}
	return r
}

func commentIDs(cs []map[string]any) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = id(c)
	}
	return out
}

// videoCommentCount reads comment_count of a video from its author's publish list.
func videoCommentCount(t *testing.T, viewer account, author, videoID int64) int64 {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {viewer.Token}, "user_id": {strconv.FormatInt(author, 10)}})
	for _, v := range list(r, "video_list") {
		if id(v) == videoID {
			return num(v, "comment_count")
		}
	}
	t.Fatalf("video %d not in the publish list: %s", videoID, r.Raw)
	return 0
}

// newVideo publishes a clip as a and returns its id.
func newVideo(t *testing.T, a account, data []byte) int64 {
	t.Helper()
	if r := publish(t, a, "comments "+a.Name, data); r.code() != 0 {
		t.Fatalf("publish: %s", r.Raw)
	}
	r := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {a.Token}, "user_id": {strconv.FormatInt(a.ID, 10)}})
	vs := list(r, "video_list")
	if len(vs) == 0 {
		t.Fatalf("publish list after publishing: %s", r.Raw)
	}
	return id(vs[0])
}

var monthDay = regexp.MustCompile(`^\d\d-\d\d$`)

func TestCommentThreads(t *testing.T) {
	alice := register(t, uniqueName("calice"), "secret-1")
	bob := register(t, uniqueName("cbob"), "secret-2")
	carol := register(t, uniqueName("ccarol"), "secret-3")
	vid := newVideo(t, alice, testenv.Clip(t))

	c1 := postComment(t, bob, vid, 0, "第一条评论")
	c2 := postComment(t, carol, vid, 0, "second")
	if num(c1, "floor") != 1 || num(c2, "floor") != 2 {
		t.Fatalf("floors %d, %d; want 1, 2", num(c1, "floor"), num(c2, "floor"))
	}
	u, _ := c1["user"].(map[string]any)
	if num(u, "id") != bob.ID || len(u) != 11 || c1["content"] != "第一条评论" || !monthDay.MatchString(c1["create_date"].(string)) {
		t.Fatalf("published comment = %v", c1)
	}
	r1 := postComment(t, alice, vid, id(c2), "reply to carol")
	r2 := postComment(t, bob, vid, id(r1), "reply to alice's reply")
	if num(r1, "root_id") != id(c2) || num(r1, "parent_id") != id(c2) || num(r1, "floor") != 1 ||
		num(r2, "root_id") != id(c2) || num(r2, "parent_id") != id(r1) || num(r2, "floor") != 2 {
		t.Fatalf("replies: %v / %v", r1, r2)
	}

	// Anyone, even without a token, sees the top-level comments newest first,
	// each thread with its reply count and preview.
	for _, viewer := range []account{{}, {Token: "not-a-token"}, carol} {
		cs := list(comments(t, viewer, vid, nil), "comment_list")
		if got := commentIDs(cs); !slices.Equal(got, []int64{id(c2), id(c1)}) {
			t.Fatalf("top-level listing = %v, want [%d %d]", got, id(c2), id(c1))
		}
		if num(cs[0], "reply_count") != 2 || len(cs[0]["replies"].([]any)) != 2 || num(cs[1], "reply_count") != 0 {
			t.Fatalf("thread = %v", cs[0])
		}
		if rs := cs[1]["replies"].([]any); rs == nil || len(rs) != 0 {
			t.Fatalf("a comment without replies has replies %v, want []", cs[1]["replies"])
		}
	}
	thread := list(comments(t, bob, vid, url.Values{"root_id": {strconv.FormatInt(id(c2), 10)}}), "comment_list")
	if got := commentIDs(thread); !slices.Equal(got, []int64{id(r1), id(r2)}) {
		t.Fatalf("thread oldest first = %v", got)
	}
	if n := videoCommentCount(t, carol, alice.ID, vid); n != 4 {
		t.Fatalf("comment_count = %d, want 4", n)
	}
	// The feed carries the same count.
	feed := call(t, http.MethodGet, "/douyin/feed/", nil)
	for _, v := range list(feed, "video_list") {
		if id(v) == vid && num(v, "comment_count") != 4 {
			t.Fatalf("feed comment_count = %d, want 4", num(v, "comment_count"))
		}
	}

	// Deleting: strangers may not; the commenter and the video's author may.
	if r := deleteComment(t, carol, vid, id(c1)); r.code() != codePermissionDenied {
		t.Fatalf("a stranger deleting: %s", r.Raw)
	}
	if r := deleteComment(t, bob, vid, id(r2)); r.code() != 0 {
		t.Fatalf("the commenter deleting a reply: %s", r.Raw)
	}
	cs := list(comments(t, carol, vid, nil), "comment_list")
	if num(cs[0], "reply_count") != 1 {
		t.Fatalf("after deleting a reply, reply_count = %d", num(cs[0], "reply_count"))
	}
	if r := deleteComment(t, alice, vid, id(c2)); r.code() != 0 {
		t.Fatalf("the video's author deleting a thread: %s", r.Raw)
	}
	cs = list(comments(t, carol, vid, nil), "comment_list")
	if got := commentIDs(cs); !slices.Equal(got, []int64{id(c1)}) {
		t.Fatalf("after deleting the thread: %v", got)
	}
	if n := videoCommentCount(t, carol, alice.ID, vid); n != 1 {
		t.Fatalf("comment_count after deletes = %d, want 1", n)
	}
	if r := postComment(t, bob, vid, 0, "after the deletes"); num(r, "floor") != 3 {
		t.Fatalf("floor after deletes = %d, want 3 (never reused)", num(r, "floor"))
	}
}

func TestCommentLikesAndPins(t *testing.T) {
	alice := register(t, uniqueName("palice"), "secret-1")
	bob := register(t, uniqueName("pbob"), "secret-2")
	vid := newVideo(t, alice, testenv.Clip(t))
	var top []map[string]any
	for i := range 5 {
		top = append(top, postComment(t, bob, vid, 0, fmt.Sprintf("comment %d", i)))
	}
	answer := postComment(t, alice, vid, id(top[0]), "a reply")

	like := func(a account, cid int64, action string) reply {
		return call(t, http.MethodPost, commentLikePath, url.Values{"token": {a.Token}, "comment_id": {strconv.FormatInt(cid, 10)}, "action_type": {action}})
	}
	for _, a := range []account{alice, alice, bob} {
		if r := like(a, id(top[1]), "1"); r.code() != 0 {
			t.Fatalf("like: %s", r.Raw)
		}
	}
	find := func(viewer account, cid int64) map[string]any {
		for _, c := range list(comments(t, viewer, vid, nil), "comment_list") {
			if id(c) == cid {
				return c
			}
		}
		t.Fatalf("comment %d not listed", cid)
		return nil
	}
	if c := find(alice, id(top[1])); num(c, "like_count") != 2 || c["is_liked"] != true {
		t.Fatalf("after likes: %v", c)
	}
	if c := find(account{}, id(top[1])); c["is_liked"] != false {
		t.Fatal("an anonymous viewer sees is_liked true")
	}
	if r := like(alice, id(top[1]), "2"); r.code() != 0 {
		t.Fatal(r.Raw)
	}
	if r := like(alice, id(top[1]), "2"); r.code() != 0 {
		t.Fatal(r.Raw)
	}
	if c := find(alice, id(top[1])); num(c, "like_count") != 1 || c["is_liked"] != false {
		t.Fatalf("after cancelling: %v", c)
	}
	for _, bad := range []url.Values{
		{"token": {alice.Token}, "comment_id": {"abc"}, "action_type": {"1"}},
		{"token": {alice.Token}, "comment_id": {strconv.FormatInt(id(top[1]), 10)}, "action_type": {"3"}},
		{"comment_id": {strconv.FormatInt(id(top[1]), 10)}, "action_type": {"1"}},
	} {
		if r := call(t, http.MethodPost, commentLikePath, bad); r.code() == 0 || r.HTTP != http.StatusOK {
			t.Fatalf("bad like %v: %s", bad, r.Raw)
		}
	}
	if r := like(alice, 123456789, "1"); r.code() != codeCommentNotFound {
		t.Fatalf("like of an unknown comment: %s", r.Raw)
	}

	pin := func(a account, cid int64, action string) reply {
		return call(t, http.MethodPost, commentPinPath, url.Values{"token": {a.Token}, "video_id": {strconv.FormatInt(vid, 10)},
			"comment_id": {strconv.FormatInt(cid, 10)}, "action_type": {action}})
	}
	if r := pin(bob, id(top[2]), "1"); r.code() != codePermissionDenied {
		t.Fatalf("a non-author pinning: %s", r.Raw)
	}
	if r := pin(alice, id(answer), "1"); r.code() != codeCommentNotTopLevel {
		t.Fatalf("pinning a reply: %s", r.Raw)
	}
	if r := pin(alice, id(top[2]), "1"); r.code() != 0 {
		t.Fatalf("pin: %s", r.Raw)
	}
	// Pinned first on the first page, counted in its size, never repeated.
	var seen []int64
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"count": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := comments(t, bob, vid, q)
		cs := list(r, "comment_list")
		if page == 0 && (len(cs) != 2 || id(cs[0]) != id(top[2]) || cs[0]["is_pinned"] != true) {
			t.Fatalf("first page = %v; want the pinned comment first", commentIDs(cs))
		}
		seen = append(seen, commentIDs(cs)...)
		if r.Body["has_more"] != true {
			if r.str("next_cursor") != "" {
				t.Fatalf("last page has a next_cursor: %s", r.Raw)
			}
			break
		}
		cursor = r.str("next_cursor")
	}
	want := commentIDs(top)
	slices.Sort(want)
	slices.Sort(seen)
	if !slices.Equal(seen, want) {
		t.Fatalf("pages held %v, want each of %v once", seen, want)
	}
	if r := pin(alice, id(top[2]), "2"); r.code() != 0 {
		t.Fatalf("unpin: %s", r.Raw)
	}
	if cs := list(comments(t, bob, vid, url.Values{"count": {"2"}}), "comment_list"); id(cs[0]) != id(top[4]) || cs[0]["is_pinned"] == true {
		t.Fatalf("after unpinning the first page starts with %v", commentIDs(cs))
	}
	// sort=hot: the thread with a reply (worth two likes), then the comment with
	// one like, then the rest newest first.
	hot := commentIDs(list(comments(t, bob, vid, url.Values{"sort": {"hot"}}), "comment_list"))
	if want := []int64{id(top[0]), id(top[1]), id(top[4]), id(top[3]), id(top[2])}; !slices.Equal(hot, want) {
		t.Fatalf("hot order = %v, want %v", hot, want)
	}
}

func TestHeldComments(t *testing.T) {
	alice := register(t, uniqueName("halice"), "secret-1")
	bob := register(t, uniqueName("hbob"), "secret-2")
	vid := newVideo(t, alice, testenv.Clip(t))
	postComment(t, alice, vid, 0, "an ordinary comment")
	held := postComment(t, bob, vid, 0, "这里有"+heldWord+"哦")
	if held["state"] != "pending" {
		t.Fatalf("a comment with a sensitive word is %v, want pending", held["state"])
	}
	if cs := list(comments(t, bob, vid, nil), "comment_list"); len(cs) != 2 || id(cs[0]) != id(held) || cs[0]["state"] != "pending" {
		t.Fatalf("the author's listing: %v", commentIDs(cs))
	}
	for _, viewer := range []account{alice, {}} {
		if cs := list(comments(t, viewer, vid, nil), "comment_list"); len(cs) != 1 || slices.Contains(commentIDs(cs), id(held)) {
			t.Fatalf("another viewer sees %v", commentIDs(cs))
		}
	}
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 1 {
		t.Fatalf("comment_count = %d, want 1 (held comments count nowhere)", n)
	}
}

func TestCommentPagingAndVisibility(t *testing.T) {
	alice := register(t, uniqueName("galice"), "secret-1")
	bob := register(t, uniqueName("gbob"), "secret-2")
	vid := newVideo(t, alice, testenv.Clip(t))
	for i := range 23 {
		postComment(t, bob, vid, 0, fmt.Sprintf("page test %d", i))
	}
	var floors []int64
	cursor := ""
	for {
		q := url.Values{"count": {"5"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := comments(t, alice, vid, q)
		for _, c := range list(r, "comment_list") {
			floors = append(floors, num(c, "floor"))
		}
		if r.Body["has_more"] != true {
			break
		}
		cursor = r.str("next_cursor")
	}
	for i, f := range floors {
		if f != int64(23-i) {
			t.Fatalf("floors across pages = %v; want 23 down to 1", floors)
		}
	}
	if len(floors) != 23 {
		t.Fatalf("paged %d comments, want 23", len(floors))
	}
	// Without count, the default page is 30.
	if cs := list(comments(t, alice, vid, nil), "comment_list"); len(cs) != 23 {
		t.Fatalf("default page = %d comments", len(cs))
	}
	// A new comment reaches other readers within about a second.
	start := time.Now()
	c := postComment(t, bob, vid, 0, "fresh")
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs := list(comments(t, alice, vid, url.Values{"count": {"1"}}), "comment_list")
		if len(cs) == 1 && id(cs[0]) == id(c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a new comment did not reach another reader")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("a new comment reached another reader %v after its publish began", time.Since(start).Round(time.Millisecond))
}

func TestCommentBadInput(t *testing.T) {
	alice := register(t, uniqueName("balice"), "secret-1")
	vid := newVideo(t, alice, testenv.Clip(t))
	v := strconv.FormatInt(vid, 10)
	cases := []struct {
		name   string
		method string
		path   string
		q      url.Values
		code   int64 // 0: any non-zero code
	}{
		{"no token", http.MethodPost, commentActionPath, url.Values{"video_id": {v}, "action_type": {"1"}, "comment_text": {"x"}}, 3},
		{"bad action", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"9"}, "comment_text": {"x"}}, 2},
		{"empty text", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"1"}, "comment_text": {""}}, codeCommentTextInvalid},
		{"blank text", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"1"}, "comment_text": {"  \n "}}, codeCommentTextInvalid},
		{"long text", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"1"}, "comment_text": {strings.Repeat("字", 1001)}}, codeCommentTextInvalid},
		{"bad utf-8", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"1"}, "comment_text": {"a\xffb"}}, codeCommentTextInvalid},
		{"unknown video", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {"4242424242"}, "action_type": {"1"}, "comment_text": {"x"}}, codeCommentNoVideo},
		{"negative video", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {"-5"}, "action_type": {"1"}, "comment_text": {"x"}}, 2},
		{"huge video id", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {"99999999999999999999999"}, "action_type": {"1"}, "comment_text": {"x"}}, 2},
		{"unknown parent", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"1"}, "comment_text": {"x"}, "parent_id": {"123456"}}, codeCommentParent},
		{"delete unknown", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"2"}, "comment_id": {"123456"}}, codeCommentNotFound},
		{"delete without id", http.MethodPost, commentActionPath, url.Values{"token": {alice.Token}, "video_id": {v}, "action_type": {"2"}}, 2},
		{"list unknown video", http.MethodGet, commentListPath, url.Values{"video_id": {"4242424242"}}, codeCommentNoVideo},
		{"list without video", http.MethodGet, commentListPath, url.Values{}, 2},
		{"list bad sort", http.MethodGet, commentListPath, url.Values{"video_id": {v}, "sort": {"best"}}, 2},
		{"list bad cursor", http.MethodGet, commentListPath, url.Values{"video_id": {v}, "cursor": {"xyz"}}, codeCommentCursor},
		{"list bad count", http.MethodGet, commentListPath, url.Values{"video_id": {v}, "count": {"-1"}}, 2},
		{"list unknown thread", http.MethodGet, commentListPath, url.Values{"video_id": {v}, "root_id": {"123456"}}, codeCommentNotFound},
	}
	for _, c := range cases {
		r := call(t, c.method, c.path, c.q)
		if r.HTTP != http.StatusOK || r.code() == 0 || r.msg() == "" || (c.code != 0 && r.code() != c.code) {
			t.Errorf("%s: HTTP %d %s; want code %d", c.name, r.HTTP, r.Raw, c.code)
		}
		if c.path == commentListPath {
			if l, ok := r.Body["comment_list"].([]any); !ok || len(l) != 0 {
				t.Errorf("%s: a failed list must still carry an empty comment_list: %s", c.name, r.Raw)
			}
		}
	}
	// None of that left a comment behind.
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 0 {
		t.Fatalf("comment_count after refused input = %d", n)
	}
	postComment(t, alice, vid, 0, "once")
	if r := tryComment(t, alice, vid, 0, "once"); r.code() != codeCommentDuplicate {
		t.Fatalf("the same text again at once: %s", r.Raw)
	}
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 1 {
		t.Fatalf("comment_count = %d, want 1", n)
	}
}
