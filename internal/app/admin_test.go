package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// adminDo sends an operations API request and decodes the JSON answer.
func adminDo(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func adminLoginStatus(t *testing.T, base, password string) (int, string) {
	t.Helper()
	code, body := adminDo(t, http.MethodPost, base+"/admin/api/login", "", map[string]string{"username": "admin", "password": password})
	tok, _ := body["token"].(string)
	return code, tok
}

func TestAdminClosedWithoutPassword(t *testing.T) {
	p := start(t, testConfig(t), "", nil)
	if code, _ := adminLoginStatus(t, p.http, ""); code != http.StatusServiceUnavailable {
		t.Fatalf("login without a configured password: HTTP %d, want 503", code)
	}
	if code, _ := adminDo(t, http.MethodGet, p.http+"/admin/api/comments", "anything", nil); code != http.StatusUnauthorized {
		t.Fatalf("search without a configured password: HTTP %d, want 401", code)
	}
}

func TestAdminLoginRateLimited(t *testing.T) {
	cfg := testConfig(t)
	cfg.Admin.Password = "right-password"
	cfg.RateLimit.Rules = "admin=1/h:2"
	p := start(t, cfg, "", nil)
	var codes []int
	for _, pw := range []string{"wrong", "right-password", "right-password"} {
		code, _ := adminLoginStatus(t, p.http, pw)
		codes = append(codes, code)
	}
	if codes[0] != http.StatusUnauthorized || codes[1] != http.StatusOK || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("login codes %v, want [401 200 429]", codes)
	}
}

// TestSearchIndexSurvivesRestartAndReindex fills the search index through the
// event stream, rebuilds it with Reindex (refused while the server holds it), and
// checks that a restarted server serves the rebuilt index and keeps indexing new
// comments through the same durable consumer.
func TestSearchIndexSurvivesRestartAndReindex(t *testing.T) {
	clip := testenv.Clip(t)
	cfg := testConfig(t)
	cfg.Admin.Password = "index-password"
	cfg.JWT.Secret = strings.Repeat("reindex-secret!", 3)
	p := start(t, cfg, "", nil)

	reg := post(t, p.http, "/douyin/user/register/", url.Values{"username": {"indexer"}, "password": {"secret-1"}})
	token := reg["token"].(string)
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
	comment := func(base, text string) {
		t.Helper()
		c := post(t, base, "/douyin/comment/action/", url.Values{"token": {token}, "video_id": {vid}, "action_type": {"1"}, "comment_text": {text}})
		if c["status_code"].(float64) != 0 {
			t.Fatalf("comment: %v", c)
		}
	}
	for i := range 5 {
		comment(p.http, "索引测试 "+strconv.Itoa(i))
	}
	total := func(base string, want float64) {
		t.Helper()
		_, tok := adminLoginStatus(t, base, cfg.Admin.Password)
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, res := adminDo(t, http.MethodGet, base+"/admin/api/comments?q="+url.QueryEscape("索引"), tok, nil)
			if code == http.StatusOK && res["total"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("search total = %v (HTTP %d), want %v", res["total"], code, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	total(p.http, 5)

	// The running server holds the index: a rebuild is refused, not forced.
	var progress bytes.Buffer
	if _, err := Reindex(context.Background(), Options{Config: cfg, Log: quiet}, &progress, false); err == nil ||
		!strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("reindex under a running server: %v", err)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	n, err := Reindex(context.Background(), Options{Config: cfg, Log: quiet}, &progress, false)
	if err != nil || n != 5 {
		t.Fatalf("reindex = %d, %v; want 5", n, err)
	}
	if !strings.Contains(progress.String(), "comments indexed") {
		t.Errorf("reindex printed no progress: %q", progress.String())
	}

	again := start(t, cfg, "", nil)
	total(again.http, 5)
	comment(again.http, "索引测试 重启之后")
	total(again.http, 6)
}
