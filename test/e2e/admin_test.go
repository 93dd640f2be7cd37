package e2e

// The operations API (api.md C): admin login and tokens, search with filters,
// review transitions, detail and audit, and what the app shows afterwards.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// adminPassword is the admin password of the server under test: the in-process
// server's, or MDOUYIN_E2E_ADMIN_PASSWORD for a server given by MDOUYIN_E2E_URL.
func adminPassword() string {
	if p := os.Getenv("MDOUYIN_E2E_ADMIN_PASSWORD"); p != "" {
		return p
	}
	return e2eAdminPassword
}

const e2eAdminPassword = "e2e-admin-password"

type adminReply struct {
	HTTP int
	Body map[string]any
	Raw  string
}

func adminCall(t *testing.T, method, path, token string, body any) adminReply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := adminReply{HTTP: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func adminLogin(t *testing.T) string {
	t.Helper()
	r := adminCall(t, http.MethodPost, "/admin/api/login", "", map[string]string{"username": "admin", "password": adminPassword()})
	tok, _ := r.Body["token"].(string)
	if r.HTTP != http.StatusOK || tok == "" {
		t.Fatalf("admin login: %d %s", r.HTTP, r.Raw)
	}
	return tok
}

func adminItems(r adminReply) []map[string]any {
	raw, _ := r.Body["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// adminSearchUntil polls a search until ok accepts its items: changes reach the
// index asynchronously (api.md C: within 2 seconds). It returns how long it took.
func adminSearchUntil(t *testing.T, token string, q url.Values, what string, ok func([]map[string]any) bool) ([]map[string]any, time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for {
		r := adminCall(t, http.MethodGet, "/admin/api/comments?"+q.Encode(), token, nil)
		if r.HTTP != http.StatusOK {
			t.Fatalf("search %v: %d %s", q, r.HTTP, r.Raw)
		}
		items := adminItems(r)
		if ok(items) {
			return items, time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: search %v still answers %s", what, q, r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasComment(id int64) func([]map[string]any) bool {
	return func(items []map[string]any) bool { return slices.Contains(commentIDs(items), id) }
}

func TestAdminAuthentication(t *testing.T) {
	for _, body := range []any{
		map[string]string{"username": "admin", "password": "wrong"},
		map[string]string{"username": "root", "password": adminPassword()},
		map[string]string{},
	} {
		if r := adminCall(t, http.MethodPost, "/admin/api/login", "", body); r.HTTP != http.StatusUnauthorized || r.Body["error"] == "" {
			t.Errorf("login %v: %d %s", body, r.HTTP, r.Raw)
		}
	}
	if r := adminCall(t, http.MethodPost, "/admin/api/login", "", "not an object"); r.HTTP != http.StatusBadRequest {
		t.Errorf("a malformed login body: %d %s", r.HTTP, r.Raw)
	}
	// A huge body is refused without being read.
	huge := map[string]string{"username": "admin", "password": strings.Repeat("x", 1<<20)}
	if r := adminCall(t, http.MethodPost, "/admin/api/login", "", huge); r.HTTP != http.StatusRequestEntityTooLarge || r.Body["error"] == "" {
		t.Errorf("a 1 MiB login body: %d %.200s", r.HTTP, r.Raw)
	}
	user := register(t, uniqueName("adm"), "secret-1")
	for _, tok := range []string{"", "garbage", user.Token, adminLogin(t) + "x"} {
		if r := adminCall(t, http.MethodGet, "/admin/api/comments", tok, nil); r.HTTP != http.StatusUnauthorized {
			t.Errorf("token %.12q: %d %s", tok, r.HTTP, r.Raw)
		}
	}
	// An admin token opens nothing of the app's API.
	if r := call(t, http.MethodGet, "/douyin/user/", url.Values{"token": {adminLogin(t)}}); r.code() == 0 {
		t.Errorf("an admin token was accepted as an app token: %s", r.Raw)
	}
	// The console page is served.
	resp, err := client.Get(baseURL + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("<html")) {
		t.Errorf("GET /admin/: %d", resp.StatusCode)
	}
}

func TestAdminReview(t *testing.T) {
	tok := adminLogin(t)
	alice := register(t, uniqueName("ralice"), "secret-1")
	bob := register(t, uniqueName("rbob"), "secret-2")
	vid := newVideo(t, alice, testenv.Clip(t))
	word := "彩虹" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	held := postComment(t, bob, vid, 0, "有"+heldWord+"的评论")
	shown := postComment(t, bob, vid, 0, "今天的"+word+"很美")
	reply := postComment(t, alice, vid, id(shown), "回复一下")

	// The held comment waits in the review queue; searchable within seconds.
	_, took := adminSearchUntil(t, tok, url.Values{"state": {"pending"}, "video_id": {strconv.FormatInt(vid, 10)}}, "review queue", hasComment(id(held)))
	t.Logf("a held comment reached the review queue %v after its publish answered", took.Round(time.Millisecond))
	items, _ := adminSearchUntil(t, tok, url.Values{"q": {word}}, "search by a Chinese word", hasComment(id(shown)))
	if len(items) != 1 || items[0]["user_name"] != bob.Name || items[0]["state"] != "visible" || num(items[0], "video_id") != vid {
		t.Fatalf("search for %q: %v", word, items)
	}
	// Combined filters narrow it down.
	if items, _ := adminSearchUntil(t, tok, url.Values{"user_id": {strconv.FormatInt(alice.ID, 10)}, "video_id": {strconv.FormatInt(vid, 10)}},
		"filter by user and video", hasComment(id(reply))); len(items) != 1 {
		t.Fatalf("alice's comments on the video: %v", commentIDs(items))
	}

	review := func(cid int64, action string) adminReply {
		return adminCall(t, http.MethodPost, "/admin/api/comments/"+strconv.FormatInt(cid, 10)+"/"+action, tok, nil)
	}
	if r := review(id(held), "approve"); r.HTTP != http.StatusOK || r.Body["old_state"] != "pending" || r.Body["new_state"] != "visible" {
		t.Fatalf("approve: %d %s", r.HTTP, r.Raw)
	}
	if r := review(id(held), "approve"); r.HTTP != http.StatusConflict || r.Body["error"] == "" {
		t.Fatalf("approving a visible comment: %d %s", r.HTTP, r.Raw)
	}
	if cs := list(comments(t, alice, vid, nil), "comment_list"); !slices.Contains(commentIDs(cs), id(held)) {
		t.Fatalf("an approved comment is not shown to others: %v", commentIDs(cs))
	}
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 3 {
		t.Fatalf("comment_count after approval = %d, want 3", n)
	}
	// Rejecting a thread takes it and its reply out of the app and the counts.
	if r := review(id(shown), "reject"); r.HTTP != http.StatusOK || r.Body["new_state"] != "rejected" {
		t.Fatalf("reject: %d %s", r.HTTP, r.Raw)
	}
	if cs := list(comments(t, bob, vid, nil), "comment_list"); slices.Contains(commentIDs(cs), id(shown)) {
		t.Fatalf("a rejected comment is still listed: %v", commentIDs(cs))
	}
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 1 {
		t.Fatalf("comment_count after rejecting a thread with a reply = %d, want 1", n)
	}
	if r := review(id(shown), "restore"); r.HTTP != http.StatusConflict {
		t.Fatalf("restoring a rejected (not deleted) comment: %d %s", r.HTTP, r.Raw)
	}
	if r := review(id(shown), "delete"); r.HTTP != http.StatusOK || r.Body["old_state"] != "rejected" {
		t.Fatalf("delete: %d %s", r.HTTP, r.Raw)
	}
	if r := review(id(shown), "restore"); r.HTTP != http.StatusOK || r.Body["new_state"] != "visible" {
		t.Fatalf("restore: %d %s", r.HTTP, r.Raw)
	}
	if n := videoCommentCount(t, alice, alice.ID, vid); n != 3 {
		t.Fatalf("comment_count after restoring the thread = %d, want 3", n)
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{"/admin/api/comments/123456789/approve", http.StatusNotFound},
		{"/admin/api/comments/abc/approve", http.StatusBadRequest},
		{"/admin/api/comments/-1/approve", http.StatusBadRequest},
		{"/admin/api/comments/" + strconv.FormatInt(id(held), 10) + "/promote", http.StatusNotFound},
	} {
		if r := adminCall(t, http.MethodPost, c.path, tok, nil); r.HTTP != c.code || r.Body["error"] == "" {
			t.Errorf("POST %s: %d %s, want %d", c.path, r.HTTP, r.Raw, c.code)
		}
	}

	// The detail view: the comment, its whole thread, its video.
	d := adminCall(t, http.MethodGet, "/admin/api/comments/"+strconv.FormatInt(id(reply), 10), tok, nil)
	thread, _ := d.Body["thread"].([]any)
	video, _ := d.Body["video"].(map[string]any)
	if d.HTTP != http.StatusOK || len(thread) != 2 || video == nil || num(video, "id") != vid || video["play_url"] == "" {
		t.Fatalf("detail: %d %s", d.HTTP, d.Raw)
	}
	if r := adminCall(t, http.MethodGet, "/admin/api/comments/123456789", tok, nil); r.HTTP != http.StatusNotFound {
		t.Fatalf("detail of an unknown comment: %d", r.HTTP)
	}
	// Every action is in the audit log, newest first.
	a := adminCall(t, http.MethodGet, "/admin/api/audit?limit=500", tok, nil)
	var mine []string
	for _, e := range adminItems(a) {
		if cid := num(e, "comment_id"); cid == id(held) || cid == id(shown) {
			mine = append(mine, e["action"].(string)+":"+e["old_state"].(string)+">"+e["new_state"].(string))
		}
	}
	want := []string{"restore:deleted>visible", "delete:rejected>deleted", "reject:visible>rejected", "approve:pending>visible"}
	if !slices.Equal(mine, want) {
		t.Fatalf("audit log = %v, want %v", mine, want)
	}
}

func TestAdminBadFilters(t *testing.T) {
	tok := adminLogin(t)
	for _, q := range []string{"state=bogus", "video_id=abc", "user_id=-3", "limit=0", "limit=101", "offset=-1", "from=x", "from=20&to=10", "offset=20000"} {
		if r := adminCall(t, http.MethodGet, "/admin/api/comments?"+q, tok, nil); r.HTTP != http.StatusBadRequest || r.Body["error"] == "" {
			t.Errorf("filter %s: %d %s", q, r.HTTP, r.Raw)
		}
	}
	// Queries with search operators or odd characters are searched as text.
	for _, q := range []string{`"unbalanced`, `a AND (b OR`, `+-&&||!(){}[]^"~*?:\/`, "\xff\xfe", "   ", "字", "UP主", "*"} {
		r := adminCall(t, http.MethodGet, "/admin/api/comments?"+url.Values{"q": {q}}.Encode(), tok, nil)
		if _, ok := r.Body["total"].(float64); r.HTTP != http.StatusOK || !ok {
			t.Errorf("q=%q: %d %s", q, r.HTTP, r.Raw)
		}
	}
}
