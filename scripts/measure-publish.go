//go:build ignore

// measure-publish is the client half of scripts/measure-publish.sh: against a
// server holding a seeded dataset, it measures
//
//   - publish latency (request sent to success answer) of an author in pull mode
//     (1,000,000 followers) and of one with a handful of followers, interleaved so
//     that drift on the machine hits both alike;
//   - publish-to-inbox latency of an author in push mode (10,000 followers): from
//     the publish answer (the video row has committed) until the video is in the
//     following timeline of each follower of a sample spread over the whole
//     follower list, polled through GET /douyin/feed/?type=following.
//
// It prints the figures and writes the token of one sampled follower to -token-out
// for the logged-in feed load that follows. It asserts nothing about time.
//
//	go run scripts/measure-publish.go -base http://127.0.0.1:18192 -pull seed_000001 ...
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

var (
	base     = flag.String("base", "http://127.0.0.1:18192", "server")
	password = flag.String("password", "seed-password", "the seeded users' password")
	pullName = flag.String("pull", "", "author in pull mode (1,000,000 followers)")
	fewName  = flag.String("few", "", "author with a handful of followers")
	pushName = flag.String("push", "", "author in push mode (10,000 followers)")
	n        = flag.Int("n", 20, "videos each author publishes")
	sample   = flag.Int("sample", 10, "followers of the push author whose feeds are polled")
	poll     = flag.Duration("poll", 20*time.Millisecond, "pause between two polls of one follower's feed")
	deadline = flag.Duration("deadline", time.Minute, "how long a video may take to reach every sampled feed")
	clip     = flag.String("clip", "", "the small video file to publish")
	tokenOut = flag.String("token-out", "", "file to write one sampled follower's token to")
)

var client = &http.Client{Timeout: time.Minute}

type envelope struct {
	StatusCode int64  `json:"status_code"`
	StatusMsg  string `json:"status_msg"`
	UserID     int64  `json:"user_id"`
	Token      string `json:"token"`
	UserList   []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"user_list"`
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor"`
	VideoList  []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	} `json:"video_list"`
}

func call(req *http.Request) (envelope, error) {
	var e envelope
	resp, err := client.Do(req)
	if err != nil {
		return e, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("%s: HTTP %d %q", req.URL.Path, resp.StatusCode, raw)
	}
	if e.StatusCode != 0 {
		return e, fmt.Errorf("%s: status %d %s", req.URL.Path, e.StatusCode, e.StatusMsg)
	}
	return e, nil
}

func get(path string, q url.Values) (envelope, error) {
	req, err := http.NewRequest(http.MethodGet, *base+path+"?"+q.Encode(), nil)
	if err != nil {
		return envelope{}, err
	}
	return call(req)
}

type account struct {
	id    int64
	token string
	name  string
}

func login(name string) account {
	req, err := http.NewRequest(http.MethodPost, *base+"/douyin/user/login/?"+url.Values{"username": {name}, "password": {*password}}.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
	e, err := call(req)
	if err != nil {
		log.Fatalf("login %s: %v", name, err)
	}
	return account{id: e.UserID, token: e.Token, name: name}
}

// publish uploads the clip and returns how long the request took.
func publish(a account, title string, data []byte) time.Duration {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", a.token)
	w.WriteField("title", title)
	part, err := w.CreateFormFile("data", "clip.mp4")
	if err != nil {
		log.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req, err := http.NewRequest(http.MethodPost, *base+"/douyin/publish/action/", &body)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	start := time.Now()
	if _, err := call(req); err != nil {
		log.Fatalf("publish as %s: %v", a.name, err)
	}
	return time.Since(start)
}

// followers returns every follower's name, paging through the list.
func followers(a account) []string {
	var names []string
	cursor := ""
	for {
		e, err := get("/douyin/relation/follower/list/", url.Values{"user_id": {strconv.FormatInt(a.id, 10)}, "token": {a.token},
			"count": {"1000"}, "cursor": {cursor}})
		if err != nil {
			log.Fatalf("follower list of %s: %v", a.name, err)
		}
		for _, u := range e.UserList {
			names = append(names, u.Name)
		}
		if !e.HasMore || e.NextCursor == "" {
			return names
		}
		cursor = e.NextCursor
	}
}

// waitInFeed polls f's following timeline until a video titled title is on its
// first page, and returns when it first saw it.
func waitInFeed(f account, title string, until time.Time) (time.Time, error) {
	q := url.Values{"token": {f.token}, "type": {"following"}}
	for {
		e, err := get("/douyin/feed/", q)
		seen := time.Now()
		if err != nil {
			return seen, err
		}
		for _, v := range e.VideoList {
			if v.Title == title {
				return seen, nil
			}
		}
		if seen.After(until) {
			return seen, fmt.Errorf("%s: %q not in the following feed after %s", f.name, title, *deadline)
		}
		time.Sleep(*poll)
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func summary(what string, ds []time.Duration) {
	fmt.Printf("%-58s n=%-4d p50 %-10s p99 %-10s min %-10s max %s\n", what, len(ds), ms(pct(ds, 0.5)), ms(pct(ds, 0.99)), ms(slices.Min(ds)), ms(slices.Max(ds)))
}

func main() {
	flag.Parse()
	if *pullName == "" || *fewName == "" || *pushName == "" || *clip == "" {
		log.Fatal("need -pull, -few, -push and -clip")
	}
	data, err := os.ReadFile(*clip)
	if err != nil {
		log.Fatal(err)
	}
	pull, few, push := login(*pullName), login(*fewName), login(*pushName)

	// Publish latency, pull mode against a handful of followers. One warm-up
	// publish each is left out of the figures.
	publish(pull, "warm-up pull", data)
	publish(few, "warm-up few", data)
	var pullLat, fewLat []time.Duration
	for i := range *n {
		pullLat = append(pullLat, publish(pull, fmt.Sprintf("pull %d", i), data))
		fewLat = append(fewLat, publish(few, fmt.Sprintf("few %d", i), data))
	}

	// Publish-to-inbox latency: a sample spread evenly over the follower list
	// (the fan-out goes through the list page by page, so the first page alone
	// would flatter it).
	names := followers(push)
	if len(names) < *sample {
		log.Fatalf("%s has %d followers, fewer than the sample of %d", push.name, len(names), *sample)
	}
	var sampled []account
	for i := range *sample {
		sampled = append(sampled, login(names[i*len(names)/(*sample)]))
	}
	if *tokenOut != "" {
		if err := os.WriteFile(*tokenOut, []byte(sampled[0].token), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	var pubLat, lastLat, allLat []time.Duration
	for i := range *n {
		title := fmt.Sprintf("push %d at %d", i, time.Now().UnixNano())
		pubLat = append(pubLat, publish(push, title, data))
		answered := time.Now()
		seen := make([]time.Duration, len(sampled))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed error
		for j, f := range sampled {
			wg.Add(1)
			go func() {
				defer wg.Done()
				at, err := waitInFeed(f, title, answered.Add(*deadline))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed = err
				}
				seen[j] = at.Sub(answered)
			}()
		}
		wg.Wait()
		if failed != nil {
			log.Fatal(failed)
		}
		allLat = append(allLat, seen...)
		lastLat = append(lastLat, slices.Max(seen))
	}

	fmt.Printf("\npublish latency (request to answer), %d videos each after one warm-up, interleaved:\n", *n)
	summary(fmt.Sprintf("  %s, pull mode (%d followers)", pull.name, followerCount(pull)), pullLat)
	summary(fmt.Sprintf("  %s (%d followers)", few.name, followerCount(few)), fewLat)
	summary(fmt.Sprintf("  %s, push mode (%d followers)", push.name, len(names)), pubLat)
	fmt.Printf("publish-to-inbox latency of %s, from the publish answer, %d sampled followers polled every %s:\n", push.name, len(sampled), *poll)
	summary("  last sampled follower to see each video", lastLat)
	summary("  every (video, sampled follower)", allLat)
}

// followerCount reads the author's follower_count from the user route.
func followerCount(a account) int64 {
	req, err := http.NewRequest(http.MethodGet, *base+"/douyin/user/?"+url.Values{"user_id": {strconv.FormatInt(a.id, 10)}, "token": {a.token}}.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		User struct {
			FollowerCount int64 `json:"follower_count"`
		} `json:"user"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		log.Fatal(err)
	}
	return body.User.FollowerCount
}
