// Package console drives the admin console (web/admin) in headless Chromium
// against a whole mdouyin server, the way a moderator uses it, and checks the
// results through the app's API, the way users see them.
//
// By default TestMain starts every role in this process on a free loopback port
// with a fresh data directory and the embedded stores, configured with an admin
// password and the sensitive word heldWord. With MDOUYIN_CONSOLE_URL set it
// targets that server instead, which must list heldWord among its sensitive words
// and whose admin password must be in MDOUYIN_ADMIN_PASSWORD.
//
// The browser is the system's: chromium, chromium-browser or google-chrome on
// PATH (.ci/run installs Debian's chromium). Without one the browser tests skip,
// except under CI=true, where a missing browser fails them.
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mdouyin/mdouyin/internal/app/apptest"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// heldWord is the sensitive word of the server under test: a comment containing
// it is held (pending) for review.
const heldWord = "控制台屏蔽词"

var (
	baseURL       string
	adminPassword string
	client        = &http.Client{Timeout: 30 * time.Second}
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if u := os.Getenv("MDOUYIN_CONSOLE_URL"); u != "" {
		baseURL = strings.TrimRight(u, "/")
		adminPassword = os.Getenv("MDOUYIN_ADMIN_PASSWORD")
		if adminPassword == "" {
			fmt.Fprintln(os.Stderr, "console: MDOUYIN_CONSOLE_URL needs MDOUYIN_ADMIN_PASSWORD, the server's admin password")
			return 1
		}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "mdouyin-console-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	adminPassword = "console-admin-password"
	env := map[string]string{
		"MDOUYIN_DATA_DIR":               dir,
		"MDOUYIN_JWT_SECRET":             strings.Repeat("console-secret-", 3),
		"MDOUYIN_RATE_LIMITS":            "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB":    "8192",
		"MDOUYIN_PASSWORD_MAX_IN_FLIGHT": "4",
		"MDOUYIN_SENSITIVE_WORDS":        heldWord,
		"MDOUYIN_ADMIN_PASSWORD":         adminPassword,
	}
	var stop func() error
	baseURL, stop, err = apptest.Serve(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	// Hertz waits for keep-alive connections during a graceful shutdown; close ours.
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// ---------------------------------------------------------------- HTTP

// reply is a decoded JSON answer, with its HTTP status. Numbers stay
// json.Numbers, so ids are compared as the exact strings the page shows.
type reply struct {
	HTTP int
	Body map[string]any
	Raw  string
}

func (r reply) code() string { return str(r.Body, "status_code") }

func str(obj map[string]any, key string) string {
	switch v := obj[key].(type) {
	case json.Number:
		return v.String()
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func list(obj map[string]any, key string) []map[string]any {
	raw, _ := obj[key].([]any)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = str(it, "id")
	}
	return out
}

// call sends a request with the parameters in the query string, as the app does.
func call(t *testing.T, method, path string, params url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(method, baseURL+path+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.Body); err != nil {
			t.Fatalf("%s %s: invalid JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return r
}

var (
	adminMu    sync.Mutex
	adminToken string
)

// admin calls the admin API with a token of its own, logging in once per run:
// the browser logs in separately, as a moderator would.
func admin(t *testing.T, method, path string, params url.Values) reply {
	t.Helper()
	adminMu.Lock()
	if adminToken == "" {
		body := fmt.Sprintf(`{"username":"admin","password":%q}`, adminPassword)
		req, _ := http.NewRequest(http.MethodPost, baseURL+"/admin/api/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r := do(t, req)
		if r.HTTP != http.StatusOK || str(r.Body, "token") == "" {
			adminMu.Unlock()
			t.Fatalf("admin login: HTTP %d %s", r.HTTP, r.Raw)
		}
		adminToken = str(r.Body, "token")
	}
	tok := adminToken
	adminMu.Unlock()
	req, err := http.NewRequest(method, baseURL+path+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return do(t, req)
}

var nameSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

type account struct{ ID, Token, Name string }

func register(t *testing.T, prefix string) account {
	t.Helper()
	name := uniqueName(prefix)
	r := call(t, http.MethodPost, "/douyin/user/register/", url.Values{"username": {name}, "password": {"secret-1"}})
	if r.code() != "0" {
		t.Fatalf("register %q: %s", name, r.Raw)
	}
	return account{ID: str(r.Body, "user_id"), Token: str(r.Body, "token"), Name: name}
}

// publish uploads a clip as a and returns the new video as the publish list
// shows it.
func publish(t *testing.T, a account, title string) map[string]any {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", a.Token)
	w.WriteField("title", title)
	f, _ := w.CreateFormFile("data", "video.mp4")
	f.Write(testenv.Clip(t))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/douyin/publish/action/", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if r := do(t, req); r.code() != "0" {
		t.Fatalf("publish: %s", r.Raw)
	}
	r := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {a.Token}, "user_id": {a.ID}})
	vs := list(r.Body, "video_list")
	if len(vs) == 0 {
		t.Fatalf("publish list after publishing: %s", r.Raw)
	}
	return vs[0]
}

// postComment comments on a video and returns the answer's comment object.
func postComment(t *testing.T, a account, videoID, text string) map[string]any {
	t.Helper()
	r := call(t, http.MethodPost, "/douyin/comment/action/", url.Values{"token": {a.Token}, "video_id": {videoID},
		"action_type": {"1"}, "comment_text": {text}})
	c, _ := r.Body["comment"].(map[string]any)
	if r.code() != "0" || str(c, "id") == "" {
		t.Fatalf("comment %q: %s", text, r.Raw)
	}
	return c
}

// publicComments lists the top-level comments of a video as a guest sees them.
func publicComments(t *testing.T, videoID string) []string {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/comment/list/", url.Values{"video_id": {videoID}})
	if r.code() != "0" {
		t.Fatalf("comment list of %s: %s", videoID, r.Raw)
	}
	return ids(list(r.Body, "comment_list"))
}

// searchable waits until the admin search, with filters, finds the comment id:
// the index is fed asynchronously. It returns how long that took.
func searchable(t *testing.T, id string, filters url.Values) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := admin(t, http.MethodGet, "/admin/api/comments", filters)
		if r.HTTP != http.StatusOK {
			t.Fatalf("admin search %v: HTTP %d %s", filters, r.HTTP, r.Raw)
		}
		for _, got := range ids(list(r.Body, "items")) {
			if got == id {
				return time.Since(start)
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("comment %s never found by the admin search %v: %s", id, filters, r.Raw)
		}
		time.Sleep(50 * time.Millisecond) // polling the index with a deadline
	}
}

// ---------------------------------------------------------------- browser

// browser is one headless Chromium tab and what went wrong in its page.
type browser struct {
	ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	problems []string
}

// viewport sizes the emulated screen.
type viewport struct {
	width, height int64
	phone         bool
}

var (
	laptop = viewport{1280, 800, false}
	phone  = viewport{390, 844, true}
)

func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a browser for one test, with the emulated screen vp. Uncaught
// exceptions and console errors in the page fail the test at its end.
func newBrowser(t *testing.T, vp viewport) *browser {
	t.Helper()
	path := browserPath()
	if path == "" {
		const msg = "no chromium, chromium-browser or google-chrome on PATH (on Debian: apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := chromedp.NewContext(context.Background(),
		// The sandbox needs user namespaces, which CI containers running as
		// root often lack; the page under test is our own.
		chromedp.WithAllocatorOptions(chromedp.ExecPath(path), chromedp.NoSandbox))
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)

	b := &browser{ctx: ctx, t: t}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	opts := []chromedp.EmulateViewportOption{}
	if vp.phone {
		opts = append(opts, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	b.do(chromedp.EmulateViewport(vp.width, vp.height, opts...))
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("in the page: %s", p)
		}
	})
	return b
}

func (b *browser) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "uncaught: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			p = "console.error:"
			for _, a := range ev.Args {
				p += " " + string(a.Value) + a.Description
			}
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

// stepTimeout bounds one step in the page: a wait for an element or a state.
const stepTimeout = 30 * time.Second

// do runs actions as one step.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.step("browser", actions...)
}

// step runs actions, failing the test with what the step was and what the page
// showed.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal("%s: %v", what, err)
	}
}

// fatal fails the test, adding the address and the text of the page.
func (b *browser) fatal(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 3000)`))
	if err != nil {
		page = "(unreadable: " + err.Error() + ")"
	}
	b.t.Fatalf(format+"\n--- the page:\n%s", append(args, page)...)
}

// eval evaluates a JavaScript expression, awaiting it if it is a promise, and
// decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatal("browser: %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true; what says what is awaited.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.fatal("waiting for %s (%s): %v", what, predicate, err)
	}
}

// visible waits until the element matched by the CSS selector is shown.
func (b *browser) visible(sel string) {
	b.t.Helper()
	b.step("waiting for "+sel+" to show", chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.fatal("browser: text of %s: %v", sel, err)
	}
	return s
}

// typeInto empties an input and types text into it, as a user does. (Clear
// resets the value attribute, which a field already typed in no longer shows.)
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	b.step("typing into "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ''`, q)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.step("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// login opens the console and logs in as admin.
func (b *browser) login(password string) {
	b.t.Helper()
	b.do(chromedp.Navigate(baseURL + "/admin/"))
	b.visible("#login-form")
	b.typeInto("#login-password", password)
	b.click(`#login-form button[type=submit]`)
}

// row is the CSS selector of a comment's row in a list.
func row(list, id string) string { return fmt.Sprintf(`#%s tr[data-id="%s"]`, list, id) }
