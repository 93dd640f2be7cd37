package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/config"
)

// videoKeys are the keys of every Video object (api.md A.2).
var videoKeys = []string{"id", "author", "play_url", "cover_url", "favorite_count", "comment_count", "is_favorite", "title"}

// vidNeedFFmpeg skips without ffmpeg locally and fails without it in CI.
func vidNeedFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI: apt-get install ffmpeg")
		}
		t.Skip("ffmpeg not installed")
	}
}

// vidClip generates a small video with ffmpeg: extra arguments choose codecs and
// the output's name its container.
func vidClip(t *testing.T, name string, codec ...string) []byte {
	t.Helper()
	vidNeedFFmpeg(t)
	path := filepath.Join(t.TempDir(), name)
	args := append([]string{"-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=15",
		"-f", "lavfi", "-i", "sine=duration=1"}, codec...)
	args = append(args, "-shortest", path)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vidH264(t *testing.T) []byte {
	return vidClip(t, "clip.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac")
}

// vidForm is a multipart form; a nil file leaves the data field out.
type vidForm struct {
	fields map[string]string
	file   []byte
}

func (f vidForm) encode() (*bytes.Buffer, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range f.fields {
		w.WriteField(k, v)
	}
	if f.file != nil {
		p, _ := w.CreateFormFile("data", "video.mp4")
		p.Write(f.file)
	}
	w.Close()
	return &body, w.FormDataContentType()
}

func vidPublish(t *testing.T, query url.Values, f vidForm) reply {
	t.Helper()
	body, ct := f.encode()
	u := baseURL + "/douyin/publish/action/"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return do(t, req)
}

func vidList(t *testing.T, r reply) []map[string]any {
	t.Helper()
	raw, ok := r.Body["video_list"].([]any)
	if !ok {
		t.Fatalf("video_list is not a list: %s", r.Raw)
	}
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		v, _ := x.(map[string]any)
		for _, k := range videoKeys {
			if _, ok := v[k]; !ok {
				t.Fatalf("video lacks %q: %v", k, v)
			}
		}
		author, _ := v["author"].(map[string]any)
		for _, k := range userKeys {
			if _, ok := author[k]; !ok {
				t.Fatalf("video author lacks %q: %v", k, author)
			}
		}
		out = append(out, v)
	}
	return out
}

func vidNum(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }

func vidPublishList(t *testing.T, viewer account, owner int64) []map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {viewer.Token}, "user_id": {strconv.FormatInt(owner, 10)}})
	if r.code() != 0 {
		t.Fatalf("publish list: %s", r.Raw)
	}
	return vidList(t, r)
}

// vidFetch GETs a media URL, optionally with a Range, and returns status, content
// type and body.
func vidFetch(t *testing.T, link, rng string) (int, string, []byte) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		t.Fatalf("%q is not an absolute URL", link)
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestPublishFeedAndMedia(t *testing.T) {
	data := vidH264(t)
	a := register(t, uniqueName("vidA"), "secret-1")
	b := register(t, uniqueName("vidB"), "secret-2")

	// The app's form: data, token and title in the multipart body.
	r := vidPublish(t, nil, vidForm{fields: map[string]string{"token": a.Token, "title": "第一条 first"}, file: data})
	if r.code() != 0 {
		t.Fatalf("publish: %s", r.Raw)
	}
	// The token may also come in the query string, with the title in the form.
	hevc := vidClip(t, "clip.mkv", "-c:v", "libx265", "-x265-params", "log-level=error", "-c:a", "libopus")
	if r := vidPublish(t, url.Values{"token": {a.Token}}, vidForm{fields: map[string]string{"title": "second"}, file: hevc}); r.code() != 0 {
		t.Fatalf("publish with the token in the query: %s", r.Raw)
	}

	// Another user sees both in a's publish list, newest first, with a's counts.
	list := vidPublishList(t, b, a.ID)
	if len(list) != 2 || list[0]["title"] != "second" || list[1]["title"] != "第一条 first" {
		t.Fatalf("publish list: %v", list)
	}
	for _, v := range list {
		author := v["author"].(map[string]any)
		if vidNum(author, "id") != a.ID || vidNum(author, "work_count") != 2 || author["is_follow"] != false {
			t.Fatalf("author in publish list: %v", author)
		}
		if vidNum(v, "favorite_count") != 0 || vidNum(v, "comment_count") != 0 || v["is_favorite"] != false {
			t.Fatalf("counts of a new video: %v", v)
		}
	}
	// user_id absent means the caller's own list.
	own := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {a.Token}})
	if own.code() != 0 || len(vidList(t, own)) != 2 || own.Body["has_more"] != false {
		t.Fatalf("own publish list: %s", own.Raw)
	}
	if u := userOf(t, b, a.ID); vidNum(u, "work_count") != 2 {
		t.Fatalf("work_count: %v", u)
	}

	// The media play: the video with Range, as players fetch it; the cover.
	play, cover := list[1]["play_url"].(string), list[1]["cover_url"].(string)
	status, ct, body := vidFetch(t, play, "")
	if status != 200 || ct != "video/mp4" || !bytes.Equal(body[4:8], []byte("ftyp")) {
		t.Fatalf("GET play_url: %d %s", status, ct)
	}
	status, _, part := vidFetch(t, play, "bytes=0-99")
	if status != 206 || !bytes.Equal(part, body[:100]) {
		t.Fatalf("GET play_url with Range: %d, %d bytes", status, len(part))
	}
	status, _, part = vidFetch(t, play, fmt.Sprintf("bytes=%d-", len(body)-10))
	if status != 206 || !bytes.Equal(part, body[len(body)-10:]) {
		t.Fatalf("GET play_url with an open Range: %d, %d bytes", status, len(part))
	}
	if status, _, _ := vidFetch(t, play, fmt.Sprintf("bytes=%d-", len(body))); status != 416 {
		t.Fatalf("unsatisfiable Range: %d", status)
	}
	if status, ct, img := vidFetch(t, cover, ""); status != 200 || ct != "image/jpeg" || !bytes.HasPrefix(img, []byte{0xFF, 0xD8}) {
		t.Fatalf("GET cover_url: %d %s", status, ct)
	}
	if status, _, _ := vidFetch(t, baseURL+"/media/videos/no/such.mp4", ""); status != 404 {
		t.Fatalf("unknown media: %d", status)
	}

	// The feed shows them, anonymously and with an invalid token alike.
	for _, q := range []url.Values{{}, {"token": {"not-a-token"}}, {"token": {b.Token}}} {
		r := call(t, http.MethodGet, "/douyin/feed/", q)
		if r.code() != 0 {
			t.Fatalf("feed %v: %s", q, r.Raw)
		}
		vs := vidList(t, r)
		if len(vs) == 0 || len(vs) > 30 || r.num("next_time") <= 0 {
			t.Fatalf("feed %v: %d videos, next_time %d", q, len(vs), r.num("next_time"))
		}
		found := 0
		for _, v := range vs {
			if vidNum(v["author"].(map[string]any), "id") == a.ID {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("feed %v shows %d of a's 2 videos", q, found)
		}
	}
	// latest_time in seconds: long ago, nothing; the answer's next_time is the
	// latest_time used, in milliseconds.
	old := call(t, http.MethodGet, "/douyin/feed/", url.Values{"latest_time": {"1000"}})
	if old.code() != 0 || len(vidList(t, old)) != 0 || old.num("next_time") != 1_000_000 {
		t.Fatalf("feed before 1970-01-01T00:16:40: %s", old.Raw)
	}
	// In seconds or milliseconds, a time after the publish shows the video.
	for _, lt := range []string{strconv.FormatInt(time.Now().Unix()+60, 10), strconv.FormatInt(time.Now().UnixMilli()+60_000, 10)} {
		r := call(t, http.MethodGet, "/douyin/feed/", url.Values{"latest_time": {lt}})
		if r.code() != 0 || len(vidList(t, r)) == 0 {
			t.Fatalf("feed before %s: %s", lt, r.Raw)
		}
	}
	if r := call(t, http.MethodGet, "/douyin/feed/", url.Values{"latest_time": {"soon"}}); r.code() == 0 {
		t.Fatalf("feed with a malformed latest_time: %s", r.Raw)
	}
}

// TestFeedPagingNeverRepeats pages through the whole feed with next_time, as the
// app does, and checks no video is shown twice and a's videos all appear.
func TestFeedPagingNeverRepeats(t *testing.T) {
	data := vidH264(t)
	a := register(t, uniqueName("vidPage"), "secret-1")
	mine := map[int64]bool{}
	for i := range 3 {
		if r := vidPublish(t, nil, vidForm{fields: map[string]string{"token": a.Token, "title": fmt.Sprint("page ", i)}, file: data}); r.code() != 0 {
			t.Fatalf("publish: %s", r.Raw)
		}
	}
	for _, v := range vidPublishList(t, a, a.ID) {
		mine[vidNum(v, "id")] = true
	}
	seen := map[int64]bool{}
	latest := int64(0)
	for pages := 0; pages < 10_000; pages++ {
		q := url.Values{}
		if latest != 0 {
			q.Set("latest_time", strconv.FormatInt(latest, 10))
		}
		r := call(t, http.MethodGet, "/douyin/feed/", q)
		if r.code() != 0 {
			t.Fatalf("feed: %s", r.Raw)
		}
		vs := vidList(t, r)
		if len(vs) == 0 {
			break
		}
		for _, v := range vs {
			id := vidNum(v, "id")
			if seen[id] {
				t.Fatalf("video %d shown twice", id)
			}
			seen[id] = true
		}
		if next := r.num("next_time"); next >= latest && latest != 0 {
			t.Fatalf("next_time %d does not move back from %d", next, latest)
		} else {
			latest = next
		}
	}
	for id := range mine {
		if !seen[id] {
			t.Fatalf("video %d never shown while paging the feed", id)
		}
	}
}

func TestPublishRefusedLeavesNothing(t *testing.T) {
	data := vidH264(t)
	a := register(t, uniqueName("vidBad"), "secret-1")
	fake := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{7}, 5000)...)
	noise := make([]byte, 5000)
	rand.Read(noise)
	with := func(title string, file []byte) vidForm {
		return vidForm{fields: map[string]string{"token": a.Token, "title": title}, file: file}
	}
	for what, f := range map[string]vidForm{
		"empty file":          with("empty", []byte{}),
		"missing data":        with("no data", nil),
		"missing title":       {fields: map[string]string{"token": a.Token}, file: data},
		"blank title":         with("   ", data),
		"title over 100":      with(strings.Repeat("长", 101), data),
		"fake video":          with("fake", fake),
		"truncated video":     with("truncated", data[:len(data)/2]),
		"random bytes":        with("noise", noise),
		"missing token":       {fields: map[string]string{"title": "t"}, file: data},
		"invalid token":       {fields: map[string]string{"token": "x.y.z", "title": "t"}, file: data},
		"a text file as data": with("text", []byte("hello, this is not a video\n")),
	} {
		assertFailure(t, what, vidPublish(t, nil, f))
	}
	// Not multipart at all.
	assertFailure(t, "urlencoded publish", callForm(t, "/douyin/publish/action/", url.Values{"token": {a.Token}, "title": {"t"}, "data": {"x"}}))
	assertFailure(t, "publish without a body", call(t, http.MethodPost, "/douyin/publish/action/", url.Values{"token": {a.Token}, "title": {"t"}}))

	if os.Getenv("MDOUYIN_E2E_URL") == "" {
		limit := config.Default().HTTP.MaxUploadBytes
		// A body that declares more than the limit is refused before it is read.
		if r := vidRaw(t, a, limit+1, false); r.code() != 10 { // TooLarge
			t.Errorf("declared oversize upload: HTTP %d %s", r.HTTP, r.Raw)
		}
		// One that does not declare its length is cut off at the limit.
		if !testing.Short() {
			if r := vidRaw(t, a, limit+1<<20, true); r.code() != 10 {
				t.Errorf("chunked oversize upload: HTTP %d %s", r.HTTP, r.Raw)
			}
		}
	}

	if list := vidPublishList(t, a, a.ID); len(list) != 0 {
		t.Fatalf("refused uploads published %d videos", len(list))
	}
	if u := userOf(t, a, a.ID); vidNum(u, "work_count") != 0 {
		t.Fatalf("refused uploads counted: %v", u)
	}
}

// vidRaw sends a multipart publish of size bytes over a raw connection, so the
// server can answer before the body ends: with Content-Length, or chunked. It
// returns the answer.
func vidRaw(t *testing.T, a account, size int64, chunked bool) reply {
	t.Helper()
	u, _ := url.Parse(baseURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const boundary = "vidrawboundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nbig\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"data\"; filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
	req := "POST /douyin/publish/action/?token=" + url.QueryEscape(a.Token) + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nContent-Type: multipart/form-data; boundary=" + boundary + "\r\n"
	if chunked {
		req += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		req += "Content-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n"
	}
	go func() {
		// Write until the size is reached or the server hangs up.
		w := bufio.NewWriterSize(conn, 64<<10)
		w.WriteString(req)
		chunk := make([]byte, 256<<10)
		copy(chunk, head)
		for sent := int64(0); sent < size; sent += int64(len(chunk)) {
			var err error
			if chunked {
				_, err = fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
			} else {
				_, err = w.Write(chunk)
			}
			if err != nil {
				return
			}
			clear(chunk[:len(head)]) // the form's head only once; zeros after it
		}
		if chunked {
			w.WriteString("0\r\n\r\n")
		}
		w.Flush()
	}()
	conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to an oversize upload: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	json.Unmarshal(raw, &r.Body) // a non-JSON answer leaves Body nil, and code() 0
	return r
}
