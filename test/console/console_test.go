package console

// The moderator's scenarios (issue 5, items 5 and 6): review the held queue,
// search Chinese text, act on comments, see a comment's thread and video, and
// recover from a stale page; a wrong password; the console on a phone.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// scene is a video with one held and one visible comment, both already found by
// the admin search.
type scene struct {
	video             map[string]any
	videoID           string
	heldID, rainbowID string
	heldText, rainbow string
}

// hostile is markup in a comment: the console must show it as text.
const hostile = `<img src=x onerror="document.title='pwned'">`

func newScene(t *testing.T) scene {
	t.Helper()
	author, commenter := register(t, "cauthor"), register(t, "cuser")
	s := scene{video: publish(t, author, "控制台测试视频")}
	s.videoID = str(s.video, "id")
	s.heldText = "这里有" + heldWord + "哦 " + hostile
	held := postComment(t, commenter, s.videoID, s.heldText)
	if str(held, "state") != "pending" {
		t.Fatalf("a comment with %q is %q, want pending", heldWord, str(held, "state"))
	}
	s.heldID = str(held, "id")
	s.rainbow = "雨后的彩虹真好看 " + uniqueName("r")
	s.rainbowID = str(postComment(t, commenter, s.videoID, s.rainbow), "id")

	// The index is fed asynchronously, so wait for it here: the page shows what
	// the search finds when it loads.
	lagHeld := searchable(t, s.heldID, url.Values{"state": {"pending"}, "video_id": {s.videoID}})
	lagRainbow := searchable(t, s.rainbowID, url.Values{"q": {"彩虹"}, "video_id": {s.videoID}})
	t.Logf("the admin search found the held comment %v after it was posted, and the 彩虹 one %v after that", lagHeld, lagRainbow)
	return s
}

// TestModeration walks a moderator through the queue, a search, the actions,
// a comment's detail and the audit log, checking the app's API after each
// decision.
func TestModeration(t *testing.T) {
	b := newBrowser(t, laptop)
	s := newScene(t)
	b.login(adminPassword)

	// The queue holds the comment, its markup shown as text; it lists pending
	// comments only, newest first.
	held := row("queue-list", s.heldID)
	b.visible(held)
	if !eval[bool](b, `[...document.querySelectorAll('#queue-list tr[data-id]')].every(r => r.dataset.state === 'pending')`) {
		t.Error("the queue lists comments that are not pending")
	}
	if !eval[bool](b, `[...document.querySelectorAll('#queue-list tr[data-id] time')].map(t => Date.parse(t.dateTime)).every((v, i, a) => i === 0 || a[i-1] >= v)`) {
		t.Error("the queue is not newest first")
	}
	if got := b.text(held + " .content"); got != s.heldText {
		t.Errorf("held comment shows %q, want %q", got, s.heldText)
	}
	if n := eval[int](b, `document.querySelectorAll('#queue-list img').length`); n != 0 {
		t.Errorf("the comment's markup made %d <img> elements", n)
	}
	if title := eval[string](b, `document.title`); title == "pwned" {
		t.Error("the comment's markup ran")
	}
	if d := eval[string](b, `getComputedStyle(document.querySelector('#queue-list thead')).display`); d == "none" {
		t.Error("on a laptop the queue is not a table")
	}

	// Approve: the row says so at once, and a message confirms it.
	b.click(held + ` button[data-action="approve"]`)
	b.visible(held + `[data-state="visible"]`)
	b.visible(`.toast.ok`)
	if got := publicComments(t, s.videoID); !slices.Contains(got, s.heldID) {
		t.Errorf("after approving, a guest sees %v, want %s among them", got, s.heldID)
	}

	// Search a Chinese word on the video, then reject the one result.
	b.click(`.tabs a[data-view="search"]`)
	b.visible(`#search-form`)
	b.typeInto(`#f-q`, "彩虹")
	b.typeInto(`#f-video`, s.videoID)
	b.click(`#search-form button[type=submit]`)
	rainbow := row("search-list", s.rainbowID)
	b.waitFor("the search to find exactly the 彩虹 comment", fmt.Sprintf(
		`!document.querySelector('#search-list[aria-busy]') && document.querySelectorAll('#search-list tr[data-id]').length === 1 && document.querySelector('%s') !== null`,
		rainbow))
	if got := b.text(rainbow + " .content"); got != s.rainbow {
		t.Errorf("search result shows %q, want %q", got, s.rainbow)
	}
	if hash := eval[string](b, `decodeURIComponent(location.hash)`); !strings.Contains(hash, "q=彩虹") || !strings.Contains(hash, "video_id="+s.videoID) {
		t.Errorf("the search is not in the address: %q", hash)
	}
	b.click(rainbow + ` button[data-action="reject"]`)
	b.visible(rainbow + `[data-state="rejected"]`)

	// The app shows the approved comment and no longer the rejected one.
	got := publicComments(t, s.videoID)
	if !slices.Contains(got, s.heldID) || slices.Contains(got, s.rainbowID) {
		t.Errorf("a guest sees %v: want %s (approved) and not %s (rejected)", got, s.heldID, s.rainbowID)
	}

	// The detail: the comment, its thread, its video.
	b.click(rainbow + ` td[data-label="ID"] a`)
	subject := fmt.Sprintf(`#detail .subject[data-id="%s"]`, s.rainbowID)
	b.visible(subject + `[data-state="rejected"]`)
	b.visible(fmt.Sprintf(`#detail .thread li.current[data-id="%s"]`, s.rainbowID))
	if src := eval[string](b, `document.querySelector('#detail video').src`); src != str(s.video, "play_url") {
		t.Errorf("video src = %q, want the play_url %q", src, str(s.video, "play_url"))
	}
	if poster := eval[string](b, `document.querySelector('#detail video').poster`); poster != str(s.video, "cover_url") {
		t.Errorf("video poster = %q, want the cover_url %q", poster, str(s.video, "cover_url"))
	}
	b.waitFor("the video's metadata to load from its play_url", `document.querySelector('#detail video').readyState >= 1`)

	// A stale page: another moderator deletes the comment meanwhile. Approving
	// it is refused with the server's message, and the page shows the real state.
	if r := admin(t, http.MethodPost, "/admin/api/comments/"+s.rainbowID+"/delete", nil); r.HTTP != http.StatusOK {
		t.Fatalf("delete through the API: HTTP %d %s", r.HTTP, r.Raw)
	}
	b.click(subject + ` button[data-action="approve"]`)
	b.visible(`.toast.error`)
	if msg := b.text(`.toast.error`); !strings.HasPrefix(msg, "通过失败：") || len(msg) <= len("通过失败：") {
		t.Errorf("the refusal says %q, want the server's message", msg)
	}
	b.visible(subject + `[data-state="deleted"]`)
	b.click(subject + ` button[data-action="restore"]`)
	b.visible(subject + `[data-state="visible"]`)
	if got := publicComments(t, s.videoID); !slices.Contains(got, s.rainbowID) {
		t.Errorf("after restoring, a guest sees %v, want %s among them", got, s.rainbowID)
	}

	// Closing the detail returns to the search, as it was.
	b.click(`#detail-close`)
	b.waitFor("the detail to close", `!document.getElementById('detail').open`)
	b.visible(rainbow)

	// The audit log has every decision, newest first.
	b.click(`.tabs a[data-view="audit"]`)
	for _, want := range []struct{ id, from, to string }{
		{s.heldID, "pending", "visible"},
		{s.rainbowID, "visible", "rejected"},
		{s.rainbowID, "rejected", "deleted"},
		{s.rainbowID, "deleted", "visible"},
	} {
		b.waitFor(fmt.Sprintf("the audit entry %s %s→%s", want.id, want.from, want.to), fmt.Sprintf(
			`[...document.querySelectorAll('#audit-list tr[data-comment-id="%s"]')].some(r => r.querySelector('td[data-label="状态变化"] .badge.%s:first-child') && r.querySelector('td[data-label="状态变化"] .badge.%s:last-child'))`,
			want.id, want.from, want.to))
	}
}

// TestWrongPassword: a wrong password is refused with a message, and a token
// the server no longer accepts brings the login form back.
func TestWrongPassword(t *testing.T) {
	b := newBrowser(t, laptop)
	b.login("not-" + adminPassword)
	b.visible(`#login-error`)
	if msg := b.text(`#login-error`); !strings.Contains(msg, "用户名或密码错误") {
		t.Errorf("login error says %q", msg)
	}
	if eval[bool](b, `document.getElementById('app').hidden`) == false {
		t.Error("the console opened after a wrong password")
	}
	if tok := eval[string](b, `sessionStorage.getItem('mdouyin.admin.token') || ''`); tok != "" {
		t.Errorf("a token %q was kept after a wrong password", tok)
	}

	b.do(chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('mdouyin.admin.token', 'no-such-token')`), chromedp.Reload())
	b.waitFor("the login form after a 401", `!document.getElementById('login').hidden && document.getElementById('app').hidden`)
	if msg := b.text(`#login-error`); !strings.Contains(msg, "登录已过期") {
		t.Errorf("after a 401 the login form says %q", msg)
	}
	if tok := eval[string](b, `sessionStorage.getItem('mdouyin.admin.token') || ''`); tok != "" {
		t.Errorf("the refused token %q is still kept", tok)
	}
}

// TestPhone: on a 390×844 phone screen the queue is a column of cards that
// fits the screen, and a comment's detail takes the whole screen.
func TestPhone(t *testing.T) {
	b := newBrowser(t, phone)
	s := newScene(t)
	b.login(adminPassword)

	held := row("queue-list", s.heldID)
	b.visible(held)
	if w := eval[int](b, `window.innerWidth`); w != 390 {
		t.Fatalf("viewport is %d wide, want 390", w)
	}
	if d := eval[string](b, `getComputedStyle(document.querySelector('#queue-list thead')).display`); d != "none" {
		t.Errorf("table header display = %q on a phone, want none (cards)", d)
	}
	if d := eval[string](b, fmt.Sprintf(`getComputedStyle(document.querySelector('%s')).display`, held)); d != "block" {
		t.Errorf("a queue row's display = %q on a phone, want block (a card)", d)
	}
	if over := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the page is %dpx wider than the screen", over)
	}
	if right := eval[float64](b, fmt.Sprintf(`Math.max(...[...document.querySelectorAll('%s button')].map(e => e.getBoundingClientRect().right))`, held)); right > 390 {
		t.Errorf("an action button reaches x=%v, past the screen", right)
	}

	b.click(held + ` td[data-label="ID"] a`)
	b.visible(fmt.Sprintf(`#detail .subject[data-id="%s"]`, s.heldID))
	if w := eval[float64](b, `document.getElementById('detail').getBoundingClientRect().width`); w != 390 {
		t.Errorf("the detail is %vpx wide on a 390px screen, want all of it", w)
	}
	b.click(fmt.Sprintf(`#detail .subject[data-id="%s"] button[data-action="reject"]`, s.heldID))
	b.visible(fmt.Sprintf(`#detail .subject[data-id="%s"][data-state="rejected"]`, s.heldID))
	if st := eval[string](b, fmt.Sprintf(`document.querySelector('%s').dataset.state`, held)); st != "rejected" {
		t.Errorf("the queue's card under the detail says %q, want rejected", st)
	}
	b.click(`#detail-close`)
	b.waitFor("the queue after closing the detail", `!document.getElementById('detail').open && !document.getElementById('queue').hidden`)
}

// TestIDsStayExact checks the page's JSON decoding in the browser: ids beyond
// 2^53 stay exact, every id becomes a string, an `x_str` field wins over `x`,
// and digits inside strings and other numbers are left alone.
func TestIDsStayExact(t *testing.T) {
	b := newBrowser(t, laptop)
	b.do(chromedp.Navigate(baseURL + "/admin/"))
	b.visible(`#login-form`)
	const in = `{"id": 1234567890123456789, "total": 2, "items": [{"video_id": 42, "user_id": 9007199254740992,` +
		` "user_id_str": "9007199254740993", "content": "12345678901234567890 \" 1234567890123456789", "score": 1.2345678901234567e3}]}`
	got := eval[string](b, fmt.Sprintf(`import('./api.js').then(m => JSON.stringify(m.parseJSON(%q)))`, in))
	const want = `{"id":"1234567890123456789","total":2,"items":[{"video_id":"42","user_id":"9007199254740993",` +
		`"user_id_str":"9007199254740993","content":"12345678901234567890 \" 1234567890123456789","score":1234.5678901234567}]}`
	if got != want {
		t.Errorf("parseJSON(%s)\n = %s\nwant %s", in, got, want)
	}
}
