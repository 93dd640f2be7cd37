package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// messageKeys are exactly the keys of the app's Message object (api.md A.2).
var messageKeys = []string{"id", "to_user_id", "from_user_id", "content", "create_time"}

// sendMessage sends a message the way the app does, with every parameter in the
// query string of a POST.
func sendMessage(t *testing.T, from account, to int64, content string) {
	t.Helper()
	r := call(t, http.MethodPost, "/douyin/message/action/", url.Values{
		"token": {from.Token}, "to_user_id": {strconv.FormatInt(to, 10)}, "action_type": {"1"}, "content": {content}})
	if r.code() != 0 {
		t.Fatalf("send %q: %s", content, r.Raw)
	}
}

// chatMessage is a decoded Message object.
type chatMessage struct {
	ID, From, To, CreateTime int64
	Content                  string
}

// chat reads a conversation page and checks its shape.
func chat(t *testing.T, me account, peer int64, extra url.Values) (list []chatMessage, hasMore bool, next string) {
	t.Helper()
	params := url.Values{"token": {me.Token}, "to_user_id": {strconv.FormatInt(peer, 10)}}
	for k, v := range extra {
		params[k] = v
	}
	r := call(t, http.MethodGet, "/douyin/message/chat/", params)
	if r.code() != 0 {
		t.Fatalf("chat %v: %s", params, r.Raw)
	}
	raw, ok := r.Body["message_list"].([]any)
	if !ok {
		t.Fatalf("message_list is not a list: %s", r.Raw)
	}
	for _, item := range raw {
		m, _ := item.(map[string]any)
		if len(m) != len(messageKeys) {
			t.Fatalf("message %v has keys other than %v", m, messageKeys)
		}
		num := func(k string) int64 {
			f, ok := m[k].(float64)
			if !ok || f != float64(int64(f)) || f <= 0 || f >= 1<<53 {
				t.Fatalf("message %s = %v; want a positive integral JSON number below 2^53", k, m[k])
			}
			return int64(f)
		}
		content, ok := m["content"].(string)
		if !ok {
			t.Fatalf("message content = %v", m["content"])
		}
		list = append(list, chatMessage{ID: num("id"), From: num("from_user_id"), To: num("to_user_id"), CreateTime: num("create_time"), Content: content})
	}
	hasMore, _ = r.Body["has_more"].(bool)
	next, _ = r.Body["next_cursor"].(string)
	if _, ok := r.Body["has_more"].(bool); !ok {
		t.Fatalf("has_more missing: %s", r.Raw)
	}
	if _, ok := r.Body["next_cursor"].(string); !ok {
		t.Fatalf("next_cursor missing: %s", r.Raw)
	}
	return list, hasMore, next
}

func contents(list []chatMessage) string {
	s := make([]string, len(list))
	for i, m := range list {
		s[i] = m.Content
	}
	return strings.Join(s, "|")
}

func TestChat(t *testing.T) {
	a := register(t, uniqueName("chatA"), "secret-1")
	b := register(t, uniqueName("chatB"), "secret-1")
	c := register(t, uniqueName("chatC"), "secret-1")

	// Nothing yet: an empty list, not null.
	r := call(t, http.MethodGet, "/douyin/message/chat/", url.Values{"token": {a.Token}, "to_user_id": {strconv.FormatInt(b.ID, 10)}})
	if r.code() != 0 || !strings.Contains(r.Raw, `"message_list":[]`) {
		t.Fatalf("empty chat: %s", r.Raw)
	}

	sendMessage(t, a, b.ID, "hi b")
	// A form body works too.
	if r := callForm(t, "/douyin/message/action/", url.Values{"token": {b.Token}, "to_user_id": {strconv.FormatInt(a.ID, 10)},
		"action_type": {"1"}, "content": {"  hello a 😀  "}}); r.code() != 0 {
		t.Fatalf("send with a form body: %s", r.Raw)
	}

	// Both users see both directions, oldest first, content byte for byte.
	for _, view := range []struct {
		me   account
		peer int64
	}{{a, b.ID}, {b, a.ID}} {
		list, more, next := chat(t, view.me, view.peer, nil)
		if contents(list) != "hi b|  hello a 😀  " || more || next != "" {
			t.Fatalf("%s's chat: %q, has_more %v, next %q", view.me.Name, contents(list), more, next)
		}
		if list[0].From != a.ID || list[0].To != b.ID || list[1].From != b.ID || list[1].To != a.ID {
			t.Fatalf("directions: %+v", list)
		}
		if list[0].CreateTime < 1e12 || list[1].CreateTime < list[0].CreateTime {
			t.Fatalf("create_time not in ms or out of order: %+v", list)
		}
	}
	if list, _, _ := chat(t, c, a.ID, nil); len(list) != 0 {
		t.Fatalf("a third user sees %+v", list)
	}

	// The app polls with the create_time of the last message it shows and
	// appends its own sends: the answer holds only the peer's newer messages.
	all, _, _ := chat(t, a, b.ID, nil)
	first, fromB := all[0], all[1]
	ms := func(v int64) url.Values { return url.Values{"pre_msg_time": {strconv.FormatInt(v, 10)}} }
	if list, _, _ := chat(t, a, b.ID, ms(first.CreateTime-1)); contents(list) != fromB.Content {
		t.Fatalf("poll before b's message: %q", contents(list))
	}
	sendMessage(t, a, b.ID, "a's second")
	if list, _, _ := chat(t, a, b.ID, ms(fromB.CreateTime)); len(list) != 0 {
		t.Fatalf("poll after a's own send shows %q; the app would show it twice", contents(list))
	}
	if list, _, _ := chat(t, b, a.ID, ms(fromB.CreateTime)); contents(list) != "a's second" {
		t.Fatalf("b's poll: %q", contents(list))
	}
	// Seconds are accepted too (values below 10^11).
	if list, _, _ := chat(t, a, b.ID, ms(first.CreateTime/1000-1)); contents(list) != fromB.Content {
		t.Fatalf("poll with seconds: %q", contents(list))
	}

	// Paging: the default page is the newest messages; the cursor goes back.
	sendMessage(t, b, a.ID, "b's second")
	list, more, next := chat(t, a, b.ID, url.Values{"count": {"3"}})
	if contents(list) != "  hello a 😀  |a's second|b's second" || !more || next == "" {
		t.Fatalf("page 1: %q, has_more %v, next %q", contents(list), more, next)
	}
	list, more, next = chat(t, a, b.ID, url.Values{"count": {"3"}, "cursor": {next}})
	if contents(list) != "hi b" || more || next != "" {
		t.Fatalf("page 2: %q, has_more %v, next %q", contents(list), more, next)
	}
	// The caller's own user_id is accepted.
	if list, _, _ := chat(t, a, b.ID, url.Values{"user_id": {strconv.FormatInt(a.ID, 10)}}); len(list) != 4 {
		t.Fatalf("chat with own user_id: %q", contents(list))
	}
}

func TestMessageBadInput(t *testing.T) {
	a := register(t, uniqueName("msgBadA"), "secret-1")
	b := register(t, uniqueName("msgBadB"), "secret-1")
	sendMessage(t, a, b.ID, "the only message")
	to := strconv.FormatInt(b.ID, 10)
	unknown := strconv.FormatInt(b.ID+1<<20, 10)
	valid := url.Values{"token": {a.Token}, "to_user_id": {to}, "action_type": {"1"}, "content": {"hello"}}
	with := func(k, v string) url.Values {
		p := url.Values{}
		for key, vals := range valid {
			p[key] = vals
		}
		if v == "<absent>" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
		return p
	}
	sends := []struct {
		name   string
		params url.Values
	}{
		{"missing token", with("token", "<absent>")},
		{"garbage token", with("token", "garbage")},
		{"missing to_user_id", with("to_user_id", "<absent>")},
		{"non-numeric to_user_id", with("to_user_id", "abc")},
		{"negative to_user_id", with("to_user_id", "-1")},
		{"zero to_user_id", with("to_user_id", "0")},
		{"to_user_id 2^53", with("to_user_id", strconv.FormatInt(1<<53, 10))},
		{"unknown to_user_id", with("to_user_id", unknown)},
		{"to self", with("to_user_id", strconv.FormatInt(a.ID, 10))},
		{"missing action_type", with("action_type", "<absent>")},
		{"action_type 3", with("action_type", "3")},
		{"action_type abc", with("action_type", "abc")},
		{"missing content", with("content", "<absent>")},
		{"empty content", with("content", "")},
		{"blank content", with("content", " \t\n\u3000 ")},
		{"1,001 characters", with("content", strings.Repeat("字", 1001))},
		{"invalid UTF-8", with("content", "bad \xff byte")},
	}
	for _, c := range sends {
		assertFailure(t, "send with "+c.name, call(t, http.MethodPost, "/douyin/message/action/", c.params))
	}
	// 1,000 characters is the limit, not over it.
	sendMessage(t, a, b.ID, strings.Repeat("字", 1000))

	chatWith := func(extra url.Values) url.Values {
		p := url.Values{"token": {a.Token}, "to_user_id": {to}}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	chats := []struct {
		name   string
		params url.Values
	}{
		{"missing token", url.Values{"to_user_id": {to}}},
		{"garbage token", url.Values{"token": {"garbage"}, "to_user_id": {to}}},
		{"missing to_user_id", url.Values{"token": {a.Token}}},
		{"non-numeric to_user_id", chatWith(url.Values{"to_user_id": {"abc"}})},
		{"zero to_user_id", chatWith(url.Values{"to_user_id": {"0"}})},
		{"unknown to_user_id", chatWith(url.Values{"to_user_id": {unknown}})},
		{"self", chatWith(url.Values{"to_user_id": {strconv.FormatInt(a.ID, 10)}})},
		{"negative pre_msg_time", chatWith(url.Values{"pre_msg_time": {"-1"}})},
		{"garbage pre_msg_time", chatWith(url.Values{"pre_msg_time": {"yesterday"}})},
		{"count 0", chatWith(url.Values{"count": {"0"}})},
		{"count -1", chatWith(url.Values{"count": {"-1"}})},
		{"count abc", chatWith(url.Values{"count": {"abc"}})},
		{"garbage cursor", chatWith(url.Values{"cursor": {"garbage"}})},
		{"another user's chat", chatWith(url.Values{"user_id": {to}})},
	}
	for _, c := range chats {
		r := call(t, http.MethodGet, "/douyin/message/chat/", c.params)
		assertFailure(t, "chat with "+c.name, r)
		if l, ok := r.Body["message_list"].([]any); !ok || len(l) != 0 {
			t.Errorf("chat with %s: message_list must be [] on failure: %s", c.name, r.Raw)
		}
	}

	// Nothing refused was written: the conversation holds the two good messages.
	list, _, _ := chat(t, b, a.ID, nil)
	if len(list) != 2 || list[0].Content != "the only message" {
		t.Fatalf("after refused sends the chat holds %q", contents(list))
	}
}
