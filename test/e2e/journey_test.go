package e2e

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// publish uploads a video the way the app does: multipart with data, token, title.
func publish(t *testing.T, a account, title string, data []byte) reply {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", a.Token)
	w.WriteField("title", title)
	f, _ := w.CreateFormFile("data", "video.mp4")
	f.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/douyin/publish/action/", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(t, req)
}

// userOf fetches the User object of id as viewer sees it.
func userOf(t *testing.T, viewer account, id int64) map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/user/", url.Values{"token": {viewer.Token}, "user_id": {strconv.FormatInt(id, 10)}})
	if r.code() != 0 {
		t.Fatalf("user %d: %s", id, r.Raw)
	}
	return r.Body["user"].(map[string]any)
}

// counts checks numeric fields of a JSON object.
func counts(t *testing.T, what string, obj map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got := obj[k]
		switch w := v.(type) {
		case int:
			if f, ok := got.(float64); !ok || int(f) != w {
				t.Errorf("%s: %s = %v, want %d", what, k, got, w)
			}
		default:
			if got != v {
				t.Errorf("%s: %s = %v, want %v", what, k, got, v)
			}
		}
	}
}

func list(r reply, key string) []map[string]any {
	raw, _ := r.Body[key].([]any)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

func id(obj map[string]any) int64 { f, _ := obj["id"].(float64); return int64(f) }

// TestJourney walks one pair of users through the whole app, checking every count
// after every step.
func TestJourney(t *testing.T) {
	alice := register(t, uniqueName("alice"), "secret-1")
	bob := register(t, uniqueName("bob"), "secret-2")
	video := testenv.Clip(t)
	idStr := func(n int64) string { return strconv.FormatInt(n, 10) }

	// Publish.
	if r := publish(t, alice, "第一个视频", video); r.code() != 0 {
		t.Fatalf("publish: %s", r.Raw)
	}
	counts(t, "alice after publish", userOf(t, bob, alice.ID), map[string]any{"work_count": 1, "total_favorited": 0})
	pl := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {bob.Token}, "user_id": {idStr(alice.ID)}})
	vids := list(pl, "video_list")
	if pl.code() != 0 || len(vids) != 1 || vids[0]["title"] != "第一个视频" {
		t.Fatalf("publish list: %s", pl.Raw)
	}
	v := vids[0]
	vid := id(v)
	counts(t, "video in list", v, map[string]any{"favorite_count": 0, "comment_count": 0, "is_favorite": false})
	counts(t, "author in list", v["author"].(map[string]any), map[string]any{"id": int(alice.ID), "work_count": 1, "is_follow": false})
	for _, k := range []string{"play_url", "cover_url"} {
		link, _ := v[k].(string)
		req, _ := http.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("Range", "bytes=0-9")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("%s %s with Range: HTTP %d", k, link, resp.StatusCode)
		}
	}

	// The guest feed starts with it.
	feed := call(t, http.MethodGet, "/douyin/feed/", nil)
	fv := list(feed, "video_list")
	if feed.code() != 0 || len(fv) == 0 || id(fv[0]) != vid {
		t.Fatalf("guest feed: %s", feed.Raw)
	}

	// Likes, twice (idempotent), then counts everywhere.
	like := func(who account, action string) {
		t.Helper()
		r := call(t, http.MethodPost, "/douyin/favorite/action/", url.Values{"token": {who.Token}, "video_id": {idStr(vid)}, "action_type": {action}})
		if r.code() != 0 {
			t.Fatalf("favorite %s: %s", action, r.Raw)
		}
	}
	like(bob, "1")
	like(bob, "1")
	counts(t, "bob after like", userOf(t, alice, bob.ID), map[string]any{"favorite_count": 1})
	counts(t, "alice after like", userOf(t, bob, alice.ID), map[string]any{"total_favorited": 1})
	fl := call(t, http.MethodGet, "/douyin/favorite/list/", url.Values{"token": {alice.Token}, "user_id": {idStr(bob.ID)}})
	if favs := list(fl, "video_list"); len(favs) != 1 || id(favs[0]) != vid {
		t.Fatalf("favorite list: %s", fl.Raw)
	} else {
		counts(t, "liked video seen by alice", favs[0], map[string]any{"favorite_count": 1, "is_favorite": false})
	}
	bobFeed := list(call(t, http.MethodGet, "/douyin/feed/", url.Values{"token": {bob.Token}, "type": {"global"}}), "video_list")
	if len(bobFeed) == 0 || id(bobFeed[0]) != vid {
		t.Fatal("bob's global feed lacks the video")
	}
	counts(t, "video in bob's feed", bobFeed[0], map[string]any{"favorite_count": 1, "is_favorite": true})

	// Follows and friends.
	follow := func(who, whom account, action string) {
		t.Helper()
		r := call(t, http.MethodPost, "/douyin/relation/action/", url.Values{"token": {who.Token}, "to_user_id": {idStr(whom.ID)}, "action_type": {action}})
		if r.code() != 0 {
			t.Fatalf("relation %s: %s", action, r.Raw)
		}
	}
	follow(bob, alice, "1")
	follow(bob, alice, "1")
	counts(t, "alice seen by bob", userOf(t, bob, alice.ID), map[string]any{"follower_count": 1, "follow_count": 0, "is_follow": true})
	counts(t, "bob seen by alice", userOf(t, alice, bob.ID), map[string]any{"follow_count": 1, "follower_count": 0, "is_follow": false})
	friends := func(who account) []map[string]any {
		t.Helper()
		r := call(t, http.MethodGet, "/douyin/relation/friend/list/", url.Values{"token": {who.Token}, "user_id": {idStr(who.ID)}})
		if r.code() != 0 {
			t.Fatalf("friend list: %s", r.Raw)
		}
		return list(r, "user_list")
	}
	if f := friends(bob); len(f) != 0 {
		t.Fatalf("one-way follow made friends: %v", f)
	}
	follow(alice, bob, "1")
	if f := friends(bob); len(f) != 1 || id(f[0]) != alice.ID {
		t.Fatalf("mutual follow: bob's friends %v", f)
	}

	// Chat.
	send := func(from, to account, text string) {
		t.Helper()
		r := call(t, http.MethodPost, "/douyin/message/action/", url.Values{"token": {from.Token}, "to_user_id": {idStr(to.ID)}, "action_type": {"1"}, "content": {text}})
		if r.code() != 0 {
			t.Fatalf("send: %s", r.Raw)
		}
	}
	send(bob, alice, "你好 alice")
	chat := call(t, http.MethodGet, "/douyin/message/chat/", url.Values{"token": {alice.Token}, "to_user_id": {idStr(bob.ID)}})
	msgs := list(chat, "message_list")
	if chat.code() != 0 || len(msgs) != 1 || msgs[0]["content"] != "你好 alice" {
		t.Fatalf("chat: %s", chat.Raw)
	}
	sent := int64(msgs[0]["create_time"].(float64))
	poll := call(t, http.MethodGet, "/douyin/message/chat/", url.Values{"token": {alice.Token}, "to_user_id": {idStr(bob.ID)}, "pre_msg_time": {strconv.FormatInt(sent, 10)}})
	if n := len(list(poll, "message_list")); poll.code() != 0 || n != 0 {
		t.Fatalf("poll after the newest message returned %d: %s", n, poll.Raw)
	}
	counts(t, "alice's friend bob", friends(alice)[0], map[string]any{"message": "你好 alice", "msg_type": 0})
	counts(t, "bob's friend alice", friends(bob)[0], map[string]any{"message": "你好 alice", "msg_type": 1})

	// Undo everything; every count returns to where it was.
	like(bob, "2")
	like(bob, "2")
	follow(bob, alice, "2")
	follow(bob, alice, "2")
	counts(t, "alice at the end", userOf(t, bob, alice.ID), map[string]any{"follower_count": 0, "follow_count": 1, "total_favorited": 0, "work_count": 1, "is_follow": false})
	counts(t, "bob at the end", userOf(t, alice, bob.ID), map[string]any{"follow_count": 0, "follower_count": 1, "favorite_count": 0, "is_follow": true})
	if f := friends(bob); len(f) != 0 {
		t.Fatalf("friends after unfollow: %v", f)
	}
	pl = call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {bob.Token}, "user_id": {idStr(alice.ID)}})
	counts(t, "video at the end", list(pl, "video_list")[0], map[string]any{"favorite_count": 0, "is_favorite": false})
}
