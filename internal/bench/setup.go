package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// SetupOptions say how to prepare the target for the scenarios.
type SetupOptions struct {
	Accounts       int    // new accounts to register (unique names per invocation)
	SeededUsers    int    // seeded accounts to log in: seed_000001 … (mdouyin seed)
	SeededPassword string // their password
	Videos         int    // discover up to this many videos from the guest feed
	HotComments    int    // make sure the hot video has at least this many comments
	Clip           string // the video file publish uploads; empty: rendered with ffmpeg
	FFmpeg         string // the ffmpeg binary
	Scenarios      []string
}

// setupVideos is how many videos Setup publishes into a target whose feed is
// empty, so the like and comment scenarios have something to act on.
const setupVideos = 2

// Setup prepares what the scenarios need from the target at base: accounts,
// video ids (from the guest feed), the hot video's first comment page, the clip.
// Writes happen only when needed: into an empty feed it publishes a few videos,
// and it tops the hot video up to o.HotComments comments.
func Setup(ctx context.Context, client *http.Client, base string, o SetupOptions, log io.Writer) (*Env, error) {
	e := &Env{Base: strings.TrimRight(base, "/"), RunID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	needs := needsOf(o.Scenarios)
	api := apiClient{client: client, base: e.Base}

	if needs&needPeer != 0 && o.Accounts+o.SeededUsers < 2 {
		return nil, fmt.Errorf("the scenarios need two accounts: raise --accounts or --seeded-users")
	}
	if needs&(needAccount|needVideo|needClip) != 0 && o.Accounts+o.SeededUsers < 1 {
		return nil, fmt.Errorf("the scenarios need an account: raise --accounts or --seeded-users")
	}
	if needs&(needAccount|needPeer|needVideo|needClip) != 0 {
		if err := e.login(ctx, api, o, log); err != nil {
			return nil, err
		}
	}
	if needs&needClip != 0 {
		if err := e.loadClip(ctx, o); err != nil {
			return nil, err
		}
	}
	if err := e.discover(ctx, api, o.Videos); err != nil {
		return nil, err
	}
	if len(e.Videos) == 0 && needs&needVideo != 0 {
		fmt.Fprintf(log, "the feed is empty: publishing %d videos\n", setupVideos)
		if len(e.Clip) == 0 {
			if err := e.loadClip(ctx, o); err != nil {
				return nil, err
			}
		}
		for i := range setupVideos {
			if err := api.publish(ctx, e.Accounts[0].Token, fmt.Sprintf("bench setup %s #%d", e.RunID, i+1), e.Clip); err != nil {
				return nil, fmt.Errorf("publishing a setup video: %w", err)
			}
		}
		if err := e.discover(ctx, api, o.Videos); err != nil {
			return nil, err
		}
		if len(e.Videos) == 0 {
			return nil, fmt.Errorf("published %d videos but the guest feed shows none", setupVideos)
		}
	}
	for _, v := range e.Videos {
		if v.Comments > e.Hot.Comments || e.Hot.ID == 0 {
			e.Hot = v
		}
	}
	hotRead := slices.Contains(o.Scenarios, "comment_list_hot") || slices.Contains(o.Scenarios, "comment_list_hot_guest")
	if hotRead && e.Hot.ID != 0 && e.Hot.Comments < int64(o.HotComments) {
		n := int64(o.HotComments) - e.Hot.Comments
		fmt.Fprintf(log, "video %d (the hot one) has %d comments: posting %d more\n", e.Hot.ID, e.Hot.Comments, n)
		for i := range n {
			a := e.Accounts[int(i)%len(e.Accounts)]
			q := url.Values{"token": {a.Token}, "video_id": {strconv.FormatInt(e.Hot.ID, 10)}, "action_type": {"1"},
				"comment_text": {e.text("comment")}}
			if err := api.call(ctx, http.MethodPost, "/douyin/comment/action/", q, nil); err != nil {
				return nil, fmt.Errorf("commenting on the hot video: %w", err)
			}
		}
		e.Hot.Comments += n
	}
	seen := map[int64]bool{}
	for _, v := range e.Videos {
		if !seen[v.Author] {
			seen[v.Author] = true
			e.Users = append(e.Users, v.Author)
		}
	}
	for _, a := range e.Accounts {
		if !seen[a.ID] {
			seen[a.ID] = true
			e.Users = append(e.Users, a.ID)
		}
	}
	fmt.Fprintf(log, "setup: %d accounts, %d videos, %d users; hot video %d with %d comments\n",
		len(e.Accounts), len(e.Videos), len(e.Users), e.Hot.ID, e.Hot.Comments)
	return e, nil
}

// login registers o.Accounts new accounts and logs the seeded ones in, a few
// at a time: every one costs the server an Argon2id hash.
func (e *Env) login(ctx context.Context, api apiClient, o SetupOptions, log io.Writer) error {
	fmt.Fprintf(log, "setup: registering %d accounts, logging in %d seeded ones\n", o.Accounts, o.SeededUsers)
	e.Accounts = make([]Account, o.SeededUsers+o.Accounts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range e.Accounts {
		g.Go(func() error {
			var a Account
			var route, password string
			if i < o.SeededUsers {
				a.Name, route, password = fmt.Sprintf("seed_%06d", i+1), "/douyin/user/login/", o.SeededPassword
			} else {
				a.Name, route, password = fmt.Sprintf("bench_%s_%d", e.RunID, i-o.SeededUsers+1), "/douyin/user/register/", "bench-"+e.RunID
			}
			var r struct {
				UserID int64  `json:"user_id"`
				Token  string `json:"token"`
			}
			q := url.Values{"username": {a.Name}, "password": {password}}
			call := func() error { return api.call(gctx, http.MethodPost, route, q, &r) }
			if err := retryLogin(gctx, i < o.SeededUsers, setupPause, call); err != nil {
				return fmt.Errorf("%s %s: %w", route, a.Name, err)
			}
			a.ID, a.Token = r.UserID, r.Token
			e.Accounts[i] = a
			return nil
		})
	}
	return g.Wait()
}

// discover pages through the guest feed for up to max videos.
func (e *Env) discover(ctx context.Context, api apiClient, max int) error {
	e.Videos = e.Videos[:0]
	seen := map[int64]bool{}
	var latest int64
	for len(e.Videos) < max {
		q := url.Values{}
		if latest > 0 {
			q.Set("latest_time", strconv.FormatInt(latest, 10))
		}
		var r struct {
			NextTime  int64 `json:"next_time"`
			VideoList []struct {
				ID     int64 `json:"id"`
				Author struct {
					ID int64 `json:"id"`
				} `json:"author"`
				CommentCount int64 `json:"comment_count"`
			} `json:"video_list"`
		}
		if err := api.call(ctx, http.MethodGet, "/douyin/feed/", q, &r); err != nil {
			return fmt.Errorf("reading the feed: %w", err)
		}
		for _, v := range r.VideoList {
			if !seen[v.ID] && len(e.Videos) < max {
				seen[v.ID] = true
				e.Videos = append(e.Videos, Video{ID: v.ID, Author: v.Author.ID, Comments: v.CommentCount})
			}
		}
		if len(r.VideoList) == 0 || r.NextTime == latest {
			break
		}
		latest = r.NextTime
	}
	return nil
}

// loadClip reads o.Clip, or renders a one-second 160×120 H.264/AAC MP4.
func (e *Env) loadClip(ctx context.Context, o SetupOptions) error {
	if o.Clip != "" {
		b, err := os.ReadFile(o.Clip)
		if err != nil {
			return fmt.Errorf("--clip: %w", err)
		}
		e.Clip = b
		return nil
	}
	dir, err := os.MkdirTemp("", "mdouyin-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clip.mp4")
	ffmpeg := o.FFmpeg
	if ffmpeg == "" {
		ffmpeg = "ffmpeg"
	}
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=15", "-f", "lavfi", "-i", "sine=duration=1",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rendering the clip with ffmpeg (or give --clip): %w: %s", err, strings.TrimSpace(string(out)))
	}
	e.Clip, err = os.ReadFile(path)
	return err
}

// apiClient makes the setup's calls, decoding whole answers: speed does not
// matter here, clear errors do.
type apiClient struct {
	client *http.Client
	base   string
}

// call sends q in the query string, as the app does, and decodes the answer
// into out (when not nil) once it says status_code 0.
func (a apiClient) call(ctx context.Context, method, path string, q url.Values, out any) error {
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	return a.do(req, out)
}

func (a apiClient) publish(ctx context.Context, token, title string, clip []byte) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("token", token)
		mw.WriteField("title", title)
		fw, err := mw.CreateFormFile("data", "bench.mp4")
		if err == nil {
			_, err = fw.Write(clip)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/douyin/publish/action/", pr)
	if err != nil {
		pr.Close()
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return a.do(req, nil)
}

func (a apiClient) do(req *http.Request, out any) error {
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	var env struct {
		Code *int64 `json:"status_code"`
		Msg  string `json:"status_msg"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Code == nil {
		return fmt.Errorf("not an API answer: %.200s", body)
	}
	if *env.Code != 0 {
		return &statusError{code: base.ErrCode(*env.Code), msg: env.Msg}
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// statusError is an API answer with a status_code other than 0.
type statusError struct {
	code base.ErrCode
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("status_code %d: %s", e.code, e.msg) }

// Retries of a login the server answered as unavailable: for up to a minute,
// while a cluster that has just started indexes and catches up.
const (
	setupTries = 30
	setupPause = 2 * time.Second
)

// retryLogin runs call, and when it is a login (not a registration, which a
// timed-out attempt may have made) again after a pause while the server
// answers that it is unavailable: a cluster that has just started may take
// seconds per login (each an Argon2id hash on cores shared by every role) and
// time out its first ones. A login changes nothing, so trying again is safe.
// It tries up to setupTries times, pause apart.
func retryLogin(ctx context.Context, login bool, pause time.Duration, call func() error) error {
	var se *statusError
	for try := 1; ; try++ {
		err := call()
		if !login || !errors.As(err, &se) || se.code != base.ErrCode_Unavailable || try == setupTries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}
