// Package fuzz fuzzes the gateway as a whole: every role in one process, driven
// over HTTP. It lives apart from package gateway, whose request parsers have
// fuzz targets of their own: fuzzing instruments every package in the test
// binary, and a whole server linked into theirs slows them twentyfold.
package fuzz

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/cursor"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/internal/token"
)

// FuzzGateway drives the whole server, every role in this process on its
// embedded stores, with requests built from fuzz data: one of the real routes
// or a random path, any method, a query string, a form, multipart or raw body
// with random parts, file names and content types, random headers, and a token
// that is valid, expired, forged with alg none, signed with a wrong key,
// tampered with, an admin token, or random bytes. Placeholders in the data
// ({me}, {video}, {comment}, {token}, ...) stand for things that exist in the
// server, so the fuzzer reaches past the id checks into the services.
//
// Every answer must come within bound() (8 s in a fuzzing worker, where the
// engine allows a call 10 s; 2 min when the seeds run as a test), with an
// HTTP status below 500;
// every JSON answer must parse, and every app route must answer JSON with a
// status_code that is not Internal or Unavailable (nothing is down here, so
// either would mean a fault on our side), whose numbers are all safe in
// JavaScript. The server must log no error while it answers: a handler that
// panicked, or a failure the client was told nothing about, logs one.
//
// Each process that runs inputs (the test itself, or each fuzzing worker)
// starts one server and stops it at its end. After the seed corpus the stored
// counts are compared with their facts (`mdouyin check`), since hostile input
// must not make them disagree either.
func FuzzGateway(f *testing.F) {
	w := &world{}
	f.Cleanup(func() { w.close(f) })
	// The fuzzing engine gives each call of the fuzz function 10 s, so the
	// server starts here, before the first call. Under -fuzz this function
	// also runs in the coordinating process, which only hands inputs to its
	// workers: it needs no server.
	if !fuzzCoordinator() {
		if err := w.start(); err != nil {
			if fuzzWorker() {
				// The engine discards a worker's output and reports only
				// that it ended: leave the reason for the coordinator.
				os.WriteFile(setupFailureFile(os.Getpid()), []byte(err.Error()), 0o600)
			}
			f.Fatalf("the server under fuzz did not start: %v", err)
		}
	} else {
		start := time.Now()
		f.Cleanup(func() { reportSetupFailures(f, start) })
	}
	f.Fuzz(func(t *testing.T, route, method uint8, rawPath, query string, bodyKind uint8, body []byte, tok uint8, headers string) {
		w.exercise(t, route, method, rawPath, query, bodyKind, body, tok, headers)
	})
}

// setupFailurePrefix names the files, in the temporary directory, where
// fuzzing workers whose server did not start leave the reason.
const setupFailurePrefix = "mdouyin-fuzzsetup-"

func setupFailureFile(pid int) string {
	return filepath.Join(os.TempDir(), setupFailurePrefix+strconv.Itoa(pid)+".err")
}

// reportSetupFailures logs (and removes) the reasons left by workers whose
// server did not start since start.
func reportSetupFailures(f *testing.F, start time.Time) {
	files, _ := filepath.Glob(filepath.Join(os.TempDir(), setupFailurePrefix+"*.err"))
	for _, file := range files {
		if fi, err := os.Stat(file); err != nil || fi.ModTime().Before(start) {
			continue
		}
		b, _ := os.ReadFile(file)
		f.Logf("a fuzzing worker's server did not start: %s", b)
		os.Remove(file)
	}
}

// fuzzCoordinator reports whether this process coordinates fuzzing workers
// (go test -fuzz) rather than running inputs itself.
func fuzzCoordinator() bool {
	fuzz := flag.Lookup("test.fuzz")
	return fuzz != nil && fuzz.Value.String() != "" && !fuzzWorker()
}

// fuzzWorker reports whether this process is a fuzzing worker.
func fuzzWorker() bool {
	w := flag.Lookup("test.fuzzworker")
	return w != nil && w.Value.String() == "true"
}

// answerBound is how long any answer may take in a fuzzing worker. The
// fuzzing engine gives each call 10 s and reports a longer one as a hang
// without its request; this bound, below that, reports it with its request.
// Work is bounded by the server's own limits (a comment waits at most its
// publish wait, 1 s here), and in a worker {clip} is only the head of the
// clip, which the video role refuses after one short probe: a real
// transcode on a loaded two-core machine can take most of 10 s, which would
// make every publish a false hang.
const answerBound = 8 * time.Second

// seedBound is the bound outside fuzzing, when the seed corpus runs as a test
// (go test, make test). There the whole clip is published and transcoded,
// and no engine limit applies, so only a hang takes this long.
const seedBound = 2 * time.Minute

// clipHead is how much of the clip {clip} stands for in a fuzzing worker.
const clipHead = 2048

func bound() time.Duration {
	if fuzzWorker() {
		return answerBound
	}
	return seedBound
}

// maxJSSafe is 2^53: every number the app reads must stay below it.
const maxJSSafe = 1 << 53

// The token kinds a fuzzed tok selects (tok % tokenKinds).
const (
	tokNone = iota
	tokAlice
	tokBob
	tokExpired
	tokAlgNone
	tokWrongKey
	tokTampered
	tokAdmin
	tokUnknownUser
	tokRandom // the raw value of the header X-Fuzz-Token, or of the whole headers text
	tokenKinds
)

// routes are the request targets a fuzzed route selects (route % 32); {seg} is
// the fuzzed path, and the last ones send the fuzzed path alone.
var routes = []struct{ method, path string }{
	{"GET", "/douyin/feed/"},
	{"POST", "/douyin/user/register/"},
	{"POST", "/douyin/user/login/"},
	{"GET", "/douyin/user/"},
	{"POST", "/douyin/publish/action/"},
	{"GET", "/douyin/publish/list/"},
	{"POST", "/douyin/favorite/action/"},
	{"GET", "/douyin/favorite/list/"},
	{"POST", "/douyin/comment/action/"},
	{"GET", "/douyin/comment/list/"},
	{"POST", "/douyin/relation/action/"},
	{"GET", "/douyin/relation/follow/list/"},
	{"GET", "/douyin/relation/follower/list/"},
	{"GET", "/douyin/relation/friend/list/"},
	{"POST", "/douyin/message/action/"},
	{"GET", "/douyin/message/chat/"},
	{"POST", "/douyin/comment/like/"},
	{"POST", "/douyin/comment/pin/"},
	{"GET", "/static/avatar/{seg}"},
	{"GET", "/static/background/{seg}"},
	{"GET", "/media/{seg}"},
	{"POST", "/admin/api/login"},
	{"GET", "/admin/api/comments"},
	{"GET", "/admin/api/comments/{seg}"},
	{"POST", "/admin/api/comments/{seg}"},
	{"GET", "/admin/api/audit"},
	{"GET", "/admin/{seg}"},
	{"GET", "/healthz"},
	{"GET", "/readyz"},
	{"GET", "/metrics"},
}

// methods are what a fuzzed method selects (method % 8); "" is the route's own.
var methods = []string{"", "", "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"}

// world is the server under fuzz and what exists in it.
type world struct {
	dir    string
	cfg    config.Config
	base   string
	client *http.Client
	logs   *errorLog
	cancel context.CancelFunc
	done   chan error

	tokens  [tokenKinds]string
	values  map[string]string // placeholder -> value
	clip    []byte            // a small valid video, when ffmpeg is installed
	hasClip bool
}

const (
	fuzzSecret        = "fuzz-jwt-secret-fuzz-jwt-secret-0123"
	fuzzAdminPassword = "fuzz-admin-password"
	fuzzUserPassword  = "fuzz-password-1"
)

func (w *world) start() error {
	dir, err := dataDir()
	if err != nil {
		return err
	}
	w.dir = dir
	env := map[string]string{
		"MDOUYIN_DATA_DIR":               dir,
		"MDOUYIN_JWT_SECRET":             fuzzSecret,
		"MDOUYIN_ADMIN_PASSWORD":         fuzzAdminPassword,
		"MDOUYIN_RATE_LIMITS":            "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB":    "8192",
		"MDOUYIN_PASSWORD_MAX_IN_FLIGHT": "2",
		"MDOUYIN_SENSITIVE_WORDS":        "赌博,spam",
		"MDOUYIN_COMMENT_PUBLISH_WAIT":   "1s",
		"MDOUYIN_FFMPEG_TIMEOUT":         "5s",
		// Small limits, so that fuzzed bodies cross them.
		"MDOUYIN_HTTP_MAX_BODY_BYTES": "4096",
		"MDOUYIN_MAX_UPLOAD_BYTES":    strconv.Itoa(512 << 10),
		// Loopback is a trusted proxy, so fuzzed X-Forwarded-For headers are read.
		"MDOUYIN_TRUSTED_PROXIES": "127.0.0.1",
	}
	if w.cfg, err = config.Load("", func(k string) string { return env[k] }); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	w.cfg.HTTPAddr = ln.Addr().String()
	w.base = "http://" + w.cfg.HTTPAddr
	w.logs = &errorLog{}
	logger := slog.New(w.logs)
	// Hertz logs client faults at error level (a chunked body cut short, say);
	// only the server's own errors mean something here.
	obs.InstallFrameworkLoggers(slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		w.done <- app.Run(ctx, app.Options{Config: w.cfg, Log: logger, HTTPListener: ln, OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-w.done:
		w.done <- err
		return fmt.Errorf("server stopped at start: %w", err)
	case <-time.After(2 * time.Minute):
		return errors.New("server not ready after 2 minutes")
	}
	w.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
		Timeout:   time.Minute, // the setup's calls; each fuzzed one has bound()
		// Redirects are answers in their own right (/admin -> /admin/).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w.populate()
}

// populate makes the things placeholders name: two users who follow each
// other, a video of alice's (when ffmpeg is installed) with a comment, a reply
// and a like, a chat message, and the tokens of every kind.
func (w *world) populate() error {
	alice, aliceToken, err := w.register("fuzz_alice")
	if err != nil {
		return err
	}
	bob, bobToken, err := w.register("fuzz_bob")
	if err != nil {
		return err
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	w.values = map[string]string{"{me}": id(alice), "{other}": id(bob), "{video}": "1", "{comment}": "1", "{reply}": "1",
		"{media}": "none", "{cover}": "none", "{cursor}": cursor.Encode(time.Now().UnixMilli(), alice)}

	if _, err := exec.LookPath("ffmpeg"); err == nil {
		if err := w.publishClip(aliceToken, alice); err != nil {
			return err
		}
	} else if os.Getenv("CI") == "true" {
		return errors.New("ffmpeg is required in CI (apt-get install ffmpeg): the fuzzer publishes videos")
	}
	post := func(path string, q url.Values) (map[string]any, error) {
		r, err := w.call("POST", path, q)
		if err == nil && r["status_code"] != float64(0) {
			err = fmt.Errorf("%s %v: %v", path, q, r)
		}
		return r, err
	}
	if w.hasClip {
		r, err := post("/douyin/comment/action/", url.Values{"token": {aliceToken}, "video_id": {w.values["{video}"]}, "action_type": {"1"}, "comment_text": {"first!"}})
		if err != nil {
			return err
		}
		cid := int64(r["comment"].(map[string]any)["id"].(float64))
		// The comment is applied by its video's writer, perhaps after its
		// publish has answered (on a loaded machine): until then a reply to
		// it is refused.
		err = eventually(func() error {
			r, err = post("/douyin/comment/action/", url.Values{"token": {bobToken}, "video_id": {w.values["{video}"]}, "action_type": {"1"}, "comment_text": {"a reply"}, "parent_id": {id(cid)}})
			return err
		})
		if err != nil {
			return err
		}
		w.values["{comment}"] = id(cid)
		w.values["{reply}"] = id(int64(r["comment"].(map[string]any)["id"].(float64)))
		// A second top-level comment, so that a page of one has a next cursor.
		if _, err := post("/douyin/comment/action/", url.Values{"token": {bobToken}, "video_id": {w.values["{video}"]}, "action_type": {"1"}, "comment_text": {"second"}}); err != nil {
			return err
		}
		err = eventually(func() error {
			r, err := w.call("GET", "/douyin/comment/list/", url.Values{"video_id": {w.values["{video}"]}, "count": {"1"}})
			c, _ := r["next_cursor"].(string)
			if err != nil || c == "" {
				return fmt.Errorf("comment list without a next cursor: %v %v", r, err)
			}
			w.values["{cursor}"] = c
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := post("/douyin/favorite/action/", url.Values{"token": {bobToken}, "video_id": {w.values["{video}"]}, "action_type": {"1"}}); err != nil {
			return err
		}
	}
	for _, p := range [][2]string{{bobToken, id(alice)}, {aliceToken, id(bob)}} {
		if _, err := post("/douyin/relation/action/", url.Values{"token": {p[0]}, "to_user_id": {p[1]}, "action_type": {"1"}}); err != nil {
			return err
		}
	}
	if _, err := post("/douyin/message/action/", url.Values{"token": {aliceToken}, "to_user_id": {id(bob)}, "action_type": {"1"}, "content": {"hello"}}); err != nil {
		return err
	}

	// Tokens of every kind.
	key := token.KeyFromSecret([]byte(fuzzSecret))
	expired, err := token.NewManager(token.AudienceApp, key, nil, time.Hour, token.WithClock(func() time.Time { return time.Now().Add(-3 * time.Hour) }))
	if err != nil {
		return err
	}
	current, err := token.NewManager(token.AudienceApp, key, nil, time.Hour)
	if err != nil {
		return err
	}
	wrong, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("not the server's secret ", 2))), nil, time.Hour)
	if err != nil {
		return err
	}
	w.tokens[tokAlice], w.tokens[tokBob] = aliceToken, bobToken
	if w.tokens[tokExpired], err = expired.Issue(alice); err != nil {
		return err
	}
	if w.tokens[tokWrongKey], err = wrong.Issue(alice); err != nil {
		return err
	}
	if w.tokens[tokUnknownUser], err = current.Issue(alice + 1000); err != nil {
		return err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	aliceParts, bobParts := strings.Split(aliceToken, "."), strings.Split(bobToken, ".")
	w.tokens[tokAlgNone] = b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + aliceParts[1] + "."
	w.tokens[tokTampered] = aliceParts[0] + "." + bobParts[1] + "." + aliceParts[2]
	req, _ := http.NewRequest("POST", w.base+"/admin/api/login", strings.NewReader(`{"username":"admin","password":"`+fuzzAdminPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	admin, err := w.do(req)
	if err != nil {
		return err
	}
	if w.tokens[tokAdmin], _ = admin["token"].(string); w.tokens[tokAdmin] == "" {
		return fmt.Errorf("admin login: %v", admin)
	}
	return nil
}

// eventually retries step until it succeeds, for up to a minute.
func eventually(step func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := step()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) register(name string) (int64, string, error) {
	r, err := w.call("POST", "/douyin/user/register/", url.Values{"username": {name}, "password": {fuzzUserPassword}})
	if err != nil {
		return 0, "", err
	}
	tok, _ := r["token"].(string)
	id, _ := r["user_id"].(float64)
	if tok == "" || id == 0 {
		return 0, "", fmt.Errorf("register %s: %v", name, r)
	}
	return int64(id), tok, nil
}

// publishClip publishes a one-second video as alice and reads back its id and
// media keys.
func (w *world) publishClip(aliceToken string, alice int64) error {
	out := filepath.Join(w.dir, "clip.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=duration=1:size=96x64:rate=10",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg: %v: %s", err, b)
	}
	clip, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("token", aliceToken)
	mw.WriteField("title", "fuzz clip")
	fw, _ := mw.CreateFormFile("data", "clip.mp4")
	fw.Write(clip)
	mw.Close()
	req, _ := http.NewRequest("POST", w.base+"/douyin/publish/action/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r, err := w.do(req); err != nil || r["status_code"] != float64(0) {
		return fmt.Errorf("publish: %v %v", r, err)
	}
	r, err := w.call("GET", "/douyin/publish/list/", url.Values{"token": {aliceToken}, "user_id": {strconv.FormatInt(alice, 10)}})
	if err != nil {
		return err
	}
	list, _ := r["video_list"].([]any)
	if len(list) != 1 {
		return fmt.Errorf("publish list: %v", r)
	}
	v := list[0].(map[string]any)
	w.values["{video}"] = strconv.FormatInt(int64(v["id"].(float64)), 10)
	for k, field := range map[string]string{"{media}": "play_url", "{cover}": "cover_url"} {
		s, _ := v[field].(string)
		if _, key, ok := strings.Cut(s, "/media/"); ok {
			w.values[k] = key
		}
	}
	if fuzzWorker() {
		clip = clip[:min(len(clip), clipHead)]
	}
	w.clip, w.hasClip = clip, true
	return nil
}

func (w *world) call(method, p string, q url.Values) (map[string]any, error) {
	req, err := http.NewRequest(method, w.base+p+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return w.do(req)
}

func (w *world) do(req *http.Request) (map[string]any, error) {
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d %q", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return m, nil
}

// close stops the server and compares every stored count with its facts. A
// fuzzing worker is killed a second after it is told to stop, too soon for a
// graceful stop and a check: it only removes its data (the seed corpus run
// checks the counts; so does every run of the e2e suite).
func (w *world) close(f *testing.F) {
	defer os.RemoveAll(w.dir)
	if w.cancel == nil {
		return
	}
	if w.client != nil {
		w.client.CloseIdleConnections()
	}
	w.cancel()
	if fuzzWorker() {
		return
	}
	if err := <-w.done; err != nil {
		f.Errorf("the server under fuzz stopped with: %v", err)
	}
	var diffs []string
	if _, err := app.Check(context.Background(), app.Options{Config: w.cfg}, false, func(d db.CounterDiff) {
		diffs = append(diffs, fmt.Sprintf("%s key=%d stored=%d actual=%d", d.Counter, d.Key, d.Stored, d.Actual))
	}, nil, false); err != nil {
		f.Errorf("check after fuzzing: %v", err)
	}
	if len(diffs) > 0 {
		f.Errorf("after fuzzing %d stored counts differ from their facts:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
}

// dataDir makes this process's data directory, named by its process id, and
// removes those of earlier fuzzing processes that are gone, which were killed
// before they could.
func dataDir() (string, error) {
	parent := os.TempDir()
	old, _ := filepath.Glob(filepath.Join(parent, "mdouyin-fuzz-*"))
	for _, d := range old {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "mdouyin-fuzz-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			continue // still running
		}
		os.RemoveAll(d)
	}
	dir := filepath.Join(parent, "mdouyin-fuzz-"+strconv.Itoa(os.Getpid()))
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.Mkdir(dir, 0o700)
}

// exercise sends one fuzzed request and checks its answer.
func (w *world) exercise(t *testing.T, route, method uint8, rawPath, query string, bodyKind uint8, body []byte, tok uint8, headers string) {
	kind := int(tok) % tokenKinds
	tokenValue := w.tokens[kind]
	hdrs := parseHeaders(headers)
	if kind == tokRandom {
		tokenValue = headers
		if v, ok := hdrs["X-Fuzz-Token"]; ok {
			tokenValue = v
		}
	}
	expand := func(s string) string {
		if !strings.Contains(s, "{") {
			return s
		}
		for k, v := range w.values {
			s = strings.ReplaceAll(s, k, v)
		}
		return strings.ReplaceAll(s, "{token}", tokenValue)
	}

	// The target.
	var m, target string
	if r := int(route) % 32; r < len(routes) {
		m, target = routes[r].method, strings.ReplaceAll(routes[r].path, "{seg}", expand(rawPath))
		if route&0x80 != 0 && strings.HasSuffix(target, "/") && len(target) > 1 {
			target = target[:len(target)-1] // the app's routes are served without the slash too
		}
	} else {
		m, target = "GET", expand(rawPath)
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if x := methods[int(method)%len(methods)]; x != "" {
		m = x
	}
	target = escapeTarget(target, false)
	if q := expand(query); q != "" {
		target += "?" + escapeTarget(q, true)
	}

	// The body.
	var (
		reader      io.Reader
		contentType string
	)
	switch int(bodyKind&0x7f) % 5 {
	case 1:
		reader, contentType = strings.NewReader(expand(string(body))), "application/x-www-form-urlencoded"
	case 2:
		b, ct := w.multipartBody(expand, body)
		reader, contentType = bytes.NewReader(b), ct
	case 3:
		reader = strings.NewReader(expand(string(body)))
	case 4:
		reader, contentType = strings.NewReader(w.expandClip(expand(string(body)))), "multipart/form-data; boundary=fuzzboundary"
	}
	limit := bound()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, m, w.base, reader)
	if err != nil {
		return // a method net/http cannot send
	}
	req.URL = &url.URL{Scheme: "http", Host: w.cfg.HTTPAddr, Opaque: target}
	if reader != nil && bodyKind&0x80 != 0 {
		req.ContentLength = -1 // chunked
		req.Body = io.NopCloser(reader)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdrs {
		v = expand(v)
		switch k {
		case "Host":
			req.Host = v
		case "Content-Length", "Transfer-Encoding", "Connection", "X-Fuzz-Token":
		default:
			req.Header.Set(k, v)
		}
	}

	w.logs.reset()
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s %s: no answer within %v (hang)", m, target, limit)
		}
		if clientRefused(err) {
			return
		}
		t.Fatalf("%s %s: the connection failed without an answer after %v: %v", m, target, time.Since(start), err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s %s: the body did not arrive within %v (hang)", m, target, limit)
		}
		t.Fatalf("%s %s: HTTP %d, reading the body: %v", m, target, resp.StatusCode, err)
	}
	w.check(t, req, resp, raw)
}

// check judges one answer.
func (w *world) check(t *testing.T, req *http.Request, resp *http.Response, raw []byte) {
	t.Helper()
	what := fmt.Sprintf("%s %s", req.Method, req.URL.Opaque)
	show := raw[:min(len(raw), 512)]
	if testing.Verbose() {
		t.Logf("%s: HTTP %d %q", what, resp.StatusCode, raw[:min(len(raw), 160)])
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s: HTTP %d %q", what, resp.StatusCode, show)
	}
	if errs := w.logs.take(); len(errs) > 0 {
		t.Fatalf("%s: HTTP %d %q; the server logged errors:\n  %s", what, resp.StatusCode, show, strings.Join(errs, "\n  "))
	}
	if req.Method == "HEAD" {
		return
	}
	p, _ := url.PathUnescape(req.URL.Opaque)
	appRoute := strings.HasPrefix(req.URL.Opaque, "/douyin/") && strings.HasPrefix(path.Clean(p), "/douyin/")
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	if appRoute && !isJSON {
		t.Fatalf("%s: an app route answered HTTP %d %q, %q", what, resp.StatusCode, resp.Header.Get("Content-Type"), show)
	}
	if !isJSON {
		return
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var body any
	if err := d.Decode(&body); err != nil || d.More() {
		t.Fatalf("%s: HTTP %d, JSON that does not parse (%v): %q", what, resp.StatusCode, err, show)
	}
	if bad := unsafeNumber(body); bad != "" {
		t.Fatalf("%s: the answer holds %s, not safe in JavaScript: %q", what, bad, show)
	}
	obj, _ := body.(map[string]any)
	code, hasCode := obj["status_code"].(json.Number)
	if appRoute && !hasCode {
		t.Fatalf("%s: an app route answered without status_code: %q", what, show)
	}
	if hasCode {
		switch code.String() {
		case "1", "8": // Internal, Unavailable
			t.Fatalf("%s: status_code %s: %q", what, code, show)
		}
	}
}

// unsafeNumber returns a number in v that is not an integer of magnitude below
// 2^53, or "".
func unsafeNumber(v any) string {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err != nil || n >= maxJSSafe || n <= -maxJSSafe {
			if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < maxJSSafe {
				return ""
			}
			return x.String()
		}
	case map[string]any:
		for _, e := range x {
			if s := unsafeNumber(e); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := unsafeNumber(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// multipartBody builds a multipart form from spec: parts separated by NUL, each
// a line "name|filename|content type" and then its content. {clip} in a
// content is the valid video.
func (w *world) multipartBody(expand func(string) string, spec []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, part := range bytes.Split(spec, []byte{0}) {
		head, content, _ := strings.Cut(string(part), "\n")
		fields := strings.SplitN(head, "|", 3)
		for len(fields) < 3 {
			fields = append(fields, "")
		}
		cd := `form-data; name="` + quoteEscaper.Replace(expand(fields[0])) + `"`
		if fields[1] != "" {
			cd += `; filename="` + quoteEscaper.Replace(expand(fields[1])) + `"`
		}
		h := textproto.MIMEHeader{"Content-Disposition": {cd}}
		if fields[2] != "" {
			h.Set("Content-Type", fields[2])
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			break
		}
		pw.Write([]byte(w.expandClip(expand(content))))
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func (w *world) expandClip(s string) string {
	if !strings.Contains(s, "{clip}") {
		return s
	}
	return strings.ReplaceAll(s, "{clip}", string(w.clip))
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// escapeTarget percent-encodes what cannot travel in a request line (control
// bytes, space, '#', and '?' in a path), leaving everything else as fuzzed,
// invalid escapes included.
func escapeTarget(s string, query bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '#' || (c == '?' && !query) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseHeaders reads "Name: value" lines, keeping those net/http can send.
func parseHeaders(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName(name) {
			continue
		}
		value = strings.TrimSpace(value)
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			continue
		}
		out[textproto.CanonicalMIMEHeaderKey(name)] = value
	}
	return out
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// clientRefused reports whether net/http refused to send the request, which
// says nothing about the server.
func clientRefused(err error) bool {
	s := err.Error()
	return strings.Contains(s, "net/http: invalid") || strings.Contains(s, "invalid header") ||
		strings.Contains(s, "invalid Host") || strings.Contains(s, "can't write control character") ||
		strings.Contains(s, "invalid method")
}

// errorLog is a slog handler that keeps the records of level error: the server
// logs one for every panic it recovers and every failure it answers with a
// generic message.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	})
	l.mu.Lock()
	l.errs = append(l.errs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) reset() {
	l.mu.Lock()
	l.errs = nil
	l.mu.Unlock()
}

func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.errs
	l.errs = nil
	return out
}
