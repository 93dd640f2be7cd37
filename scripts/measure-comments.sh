#!/usr/bin/env bash
# Measures the comment role of the one-process server (issue 4, "Measure and report"):
#   1. first page of a hot video's comments with wrk (64 connections), with the hot-key
#      page cache on and then off (MDOUYIN_COMMENT_HOT_PAGES=false, same data dir):
#      anonymous, logged in, sort=hot, and anonymous while one client keeps commenting
#      on the video (up to 20/s); every body is checked for "status_code":0;
#   2. sustained comment writes on one video and spread over many, with exact
#      accounting: afterwards comment_count must equal the successful publishes and the
#      floors must be exactly 1..N;
#   3. time from a publish's answer until another user sees the comment, quiet and
#      under read load.
# The hot video gets BENCH_COMMENTS top-level comments (with replies, likes and a pin)
# through the HTTP API. A small Go client (standard library only, written to the temp
# dir) does the seeding, the writes, the checks and the visibility probe. Loopback
# only; cleans up its temp dir and processes even on failure. Needs go, ffmpeg, curl,
# wrk. Prints a markdown summary at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${BENCH_PORT:-18092}
COMMENTS=${BENCH_COMMENTS:-1000}          # top-level comments on the hot video
WRITE_VIDEOS=${BENCH_WRITE_VIDEOS:-100}   # videos the spread-out writes go to
DURATION=${BENCH_DURATION:-15s}           # each wrk run and each write run
CONNS=${BENCH_CONNECTIONS:-64}            # wrk connections and concurrent writers
TRIES=${BENCH_VISIBLE_TRIES:-50}
base="http://127.0.0.1:$PORT"
work=$(mktemp -d)
pid=""
bg=""
cleanup() {
  local rc=$?
  set +e # a process that is already gone must not stop the clean-up
  [ -n "$bg" ] && kill "$bg" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  if [ "$rc" -ne 0 ] && [ -s "$work/server.log" ]; then
    echo "measure-comments: failed; the end of the server's log:" >&2
    tail -40 "$work/server.log" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
for tool in go ffmpeg curl wrk; do
  command -v "$tool" >/dev/null || { echo "measure-comments: $tool is required" >&2; exit 1; }
done
if curl -s -o /dev/null "$base/readyz"; then
  echo "measure-comments: something already listens on port $PORT; set BENCH_PORT" >&2
  exit 1
fi

go build -o bin/mdouyin ./cmd/mdouyin
mkdir "$work/cload"
cat >"$work/cload/go.mod" <<'MOD'
module cload

go 1.26
MOD
cat >"$work/cload/main.go" <<'GO'
// cload drives the comment routes of a running server for scripts/measure-comments.sh:
// seed a hot video, sustained writes with exact accounting, the count and floor
// check, and the answer-to-visible probe. Standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}

type commentJSON struct {
	ID    int64 `json:"id"`
	Floor int64 `json:"floor"`
}

type answer struct {
	StatusCode  int           `json:"status_code"`
	StatusMsg   string        `json:"status_msg"`
	Comment     *commentJSON  `json:"comment"`
	CommentList []commentJSON `json:"comment_list"`
	HasMore     bool          `json:"has_more"`
	NextCursor  string        `json:"next_cursor"`
	VideoList   []struct {
		ID           int64 `json:"id"`
		CommentCount int64 `json:"comment_count"`
	} `json:"video_list"`
}

// call sends one request (form body for POST) and decodes the envelope.
func call(method, base, path string, form url.Values) (answer, error) {
	var a answer
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, base+path+"?"+form.Encode(), nil)
	}
	if err != nil {
		return a, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("%w: %.200s", err, body)
	}
	return a, nil
}

// mustOK fails the run on a transport error or a non-zero status.
func mustOK(a answer, err error) answer {
	if err != nil {
		fatal(err)
	}
	if a.StatusCode != 0 {
		fatal(fmt.Errorf("status_code %d: %s", a.StatusCode, a.StatusMsg))
	}
	return a
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "cload:", err)
	os.Exit(1)
}

// parallel runs fn(i) for i in [0, n) on c workers.
func parallel(n, c int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

func publish(base, token string, video, parent int64, text string) (answer, error) {
	f := url.Values{"token": {token}, "video_id": {strconv.FormatInt(video, 10)}, "action_type": {"1"}, "comment_text": {text}}
	if parent != 0 {
		f.Set("parent_id", strconv.FormatInt(parent, 10))
	}
	return call(http.MethodPost, base, "/douyin/comment/action/", f)
}

func ids(s string) []int64 {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				fatal(err)
			}
			out = append(out, id)
		}
	}
	return out
}

// pct is the nearest-rank percentile of sorted durations.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// seed gives a video n top-level comments from several users, replies on every
// tenth (1 to 5, some answering a reply), likes on every fifth (by the reader and
// 1 to 8 of the users), and one pin.
func seed(args []string) {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	base := fs.String("base", "", "server URL")
	video := fs.Int64("video", 0, "video id")
	tokens := fs.String("tokens", "", "comma-separated user tokens")
	author := fs.String("author", "", "the video author's token (pins one comment)")
	reader := fs.String("reader", "", "a reader's token: likes every fifth comment, writes none")
	n := fs.Int("n", 1000, "top-level comments")
	c := fs.Int("c", 16, "concurrent clients")
	_ = fs.Parse(args)
	toks := strings.Split(*tokens, ",")
	start := time.Now()
	roots := make([]int64, *n)
	parallel(*n, *c, func(i int) {
		a := mustOK(publish(*base, toks[i%len(toks)], *video, 0, fmt.Sprintf("top-level comment %d, seeded for the hot video", i)))
		roots[i] = a.Comment.ID
	})
	var replies, likes atomic.Int64
	threads := make([]int, 0, *n/10)
	for i := 0; i < *n; i += 10 {
		threads = append(threads, i)
	}
	parallel(len(threads), *c, func(k int) {
		i := threads[k]
		parent := roots[i]
		for j := range 1 + k%5 {
			a := mustOK(publish(*base, toks[(i+j+1)%len(toks)], *video, parent, fmt.Sprintf("reply %d to comment %d", j, i)))
			replies.Add(1)
			if j%2 == 1 {
				parent = a.Comment.ID // the next reply answers this one
			}
		}
	})
	parallel((*n+4)/5, *c, func(k int) {
		id := roots[k*5]
		for _, t := range append([]string{*reader}, toks[:1+k%len(toks)]...) {
			mustOK(call(http.MethodPost, *base, "/douyin/comment/like/", url.Values{"token": {t},
				"comment_id": {strconv.FormatInt(id, 10)}, "action_type": {"1"}}))
			likes.Add(1)
		}
	})
	pinned := roots[*n/2]
	mustOK(call(http.MethodPost, *base, "/douyin/comment/pin/", url.Values{"token": {*author},
		"video_id": {strconv.FormatInt(*video, 10)}, "comment_id": {strconv.FormatInt(pinned, 10)}, "action_type": {"1"}}))
	fmt.Printf("seeded video %d: %d top-level comments, %d replies in %d threads, %d likes, pinned %d, in %.1f s\n",
		*video, *n, replies.Load(), len(threads), likes.Load(), pinned, time.Since(start).Seconds())
}

// write posts unique comments from c clients, round-robin over videos and tokens,
// for a duration (back to back, or paced by -every); every request started is waited for, so the successes counted
// are exactly the comments the server accepted. It writes the successes per video
// as JSON to -out.
func write(args []string) {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	base := fs.String("base", "", "server URL")
	videos := fs.String("videos", "", "comma-separated video ids")
	tokens := fs.String("tokens", "", "comma-separated user tokens")
	c := fs.Int("c", 64, "concurrent clients")
	d := fs.Duration("d", 15*time.Second, "duration")
	tag := fs.String("tag", "w", "text prefix, unique per run")
	out := fs.String("out", "", "file for the successes per video (JSON)")
	every := fs.Duration("every", 0, "each client starts a request at most this often (0: back to back)")
	_ = fs.Parse(args)
	vids, toks := ids(*videos), strings.Split(*tokens, ",")
	type result struct {
		lat   time.Duration
		video int64
		ok    bool
		late  bool // answered with floor 0: applied after the bound
		err   string
	}
	var (
		next    atomic.Int64
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(*d)
	start := time.Now()
	for w := range *c {
		wg.Go(func() {
			var mine []result
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				v := vids[int(i)%len(vids)]
				t0 := time.Now()
				a, err := publish(*base, toks[(int(i)/len(vids)+w)%len(toks)], v, 0, fmt.Sprintf("%s comment %d from client %d", *tag, i, w))
				r := result{lat: time.Since(t0), video: v}
				switch {
				case err != nil:
					r.err = err.Error()
				case a.StatusCode != 0:
					r.err = fmt.Sprintf("status_code %d: %s", a.StatusCode, a.StatusMsg)
				default:
					r.ok, r.late = true, a.Comment == nil || a.Comment.Floor == 0
				}
				mine = append(mine, r)
				time.Sleep(time.Until(t0.Add(*every)))
			}
			mu.Lock()
			results = append(results, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	var lats []time.Duration
	ok, late := 0, 0
	per := map[int64]int{}
	errsSeen := map[string]int{}
	for _, r := range results {
		lats = append(lats, r.lat)
		if r.ok {
			ok++
			per[r.video]++
			if r.late {
				late++
			}
		} else {
			errsSeen[r.err]++
		}
	}
	slices.Sort(lats)
	fmt.Printf("requests %d, ok %d, errors %d, answered with floor 0 (past the bound) %d, wall %.2f s\n",
		len(results), ok, len(results)-ok, late, wall.Seconds())
	fmt.Printf("RESULT ok_per_s=%.0f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s errors=%d floor0=%d\n",
		float64(ok)/wall.Seconds(), ms(pct(lats, .5)), ms(pct(lats, .9)), ms(pct(lats, .99)), ms(pct(lats, 1)),
		len(results)-ok, late)
	for e, n := range errsSeen {
		fmt.Printf("  error x%d: %s\n", n, e)
	}
	raw, _ := json.Marshal(per)
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		fatal(err)
	}
}

// check waits until every video's comment_count (from the author's publish list)
// equals the successes recorded by write, then pages each video's comments by
// 100 and checks the floors are exactly 1..N.
func check(args []string) {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	base := fs.String("base", "", "server URL")
	token := fs.String("token", "", "the author's token")
	expectFile := fs.String("expect", "", "write's JSON output")
	wait := fs.Duration("wait", 60*time.Second, "how long counts may take to settle")
	_ = fs.Parse(args)
	raw, err := os.ReadFile(*expectFile)
	if err != nil {
		fatal(err)
	}
	expect := map[int64]int{}
	if err := json.Unmarshal(raw, &expect); err != nil {
		fatal(err)
	}
	counts := func() map[int64]int64 {
		out := map[int64]int64{}
		cursor := ""
		for {
			a := mustOK(call(http.MethodGet, *base, "/douyin/publish/list/", url.Values{"token": {*token}, "count": {"100"}, "cursor": {cursor}}))
			for _, v := range a.VideoList {
				out[v.ID] = v.CommentCount
			}
			if !a.HasMore || a.NextCursor == "" {
				return out
			}
			cursor = a.NextCursor
		}
	}
	start := time.Now()
	var bad []string
	for {
		got := counts()
		bad = bad[:0]
		for v, n := range expect {
			if got[v] != int64(n) {
				bad = append(bad, fmt.Sprintf("video %d: comment_count %d, successes %d", v, got[v], n))
			}
		}
		if len(bad) == 0 || time.Since(start) > *wait {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := 0
	for _, n := range expect {
		total += n
	}
	if len(bad) > 0 {
		fmt.Printf("COUNTS MISMATCH on %d of %d videos after %.1f s, e.g. %s\n", len(bad), len(expect), time.Since(start).Seconds(), bad[0])
	} else {
		fmt.Printf("comment_count equals the successes on all %d videos (%d comments), settled after %.1f s\n",
			len(expect), total, time.Since(start).Seconds())
	}
	floorBad := 0
	for v, n := range expect {
		var floors []int64
		cursor := ""
		for {
			a := mustOK(call(http.MethodGet, *base, "/douyin/comment/list/", url.Values{"video_id": {strconv.FormatInt(v, 10)},
				"count": {"100"}, "cursor": {cursor}}))
			for _, c := range a.CommentList {
				floors = append(floors, c.Floor)
			}
			if !a.HasMore {
				break
			}
			if a.NextCursor == "" {
				fmt.Printf("video %d: has_more without next_cursor after %d comments\n", v, len(floors))
				break
			}
			cursor = a.NextCursor
		}
		ok := len(floors) == n
		for i := range floors {
			ok = ok && floors[i] == int64(n-i) // newest first: N, N-1, ..., 1
		}
		if !ok {
			floorBad++
			if floorBad <= 3 {
				fmt.Printf("video %d: %d listed, want floors %d..1 exactly\n", v, len(floors), n)
			}
		}
	}
	if floorBad == 0 {
		fmt.Printf("floors are exactly 1..N on all %d videos\n", len(expect))
	}
	if len(bad) > 0 || floorBad > 0 {
		fmt.Println("CHECK FAILED")
		os.Exit(2)
	}
	fmt.Println("CHECK OK")
}

// visible publishes as A and polls the first page as B until the comment is listed.
func visible(args []string) {
	fs := flag.NewFlagSet("visible", flag.ExitOnError)
	base := fs.String("base", "", "server URL")
	video := fs.Int64("video", 0, "video id")
	tokenA := fs.String("a", "", "the publisher's token")
	tokenB := fs.String("b", "", "the reader's token")
	n := fs.Int("n", 50, "tries")
	tag := fs.String("tag", "v", "text prefix, unique per run")
	gap := fs.Duration("gap", 50*time.Millisecond, "pause between tries")
	_ = fs.Parse(args)
	var pub, vis []time.Duration
	polls, firstPoll := 0, 0
	for i := range *n {
		t0 := time.Now()
		a := mustOK(publish(*base, *tokenA, *video, 0, fmt.Sprintf("%s visibility probe %d", *tag, i)))
		t1 := time.Now()
		id := a.Comment.ID
		deadline := t1.Add(10 * time.Second)
		for k := 1; ; k++ {
			l := mustOK(call(http.MethodGet, *base, "/douyin/comment/list/", url.Values{"video_id": {strconv.FormatInt(*video, 10)}, "token": {*tokenB}}))
			if slices.ContainsFunc(l.CommentList, func(c commentJSON) bool { return c.ID == id }) {
				pub, vis = append(pub, t1.Sub(t0)), append(vis, time.Since(t1))
				polls += k
				if k == 1 {
					firstPoll++
				}
				break
			}
			if time.Now().After(deadline) {
				fatal(fmt.Errorf("comment %d not visible to another user after 10 s", id))
			}
		}
		time.Sleep(*gap)
	}
	slices.Sort(pub)
	slices.Sort(vis)
	fmt.Printf("RESULT tries=%d visible_p50_ms=%s visible_p99_ms=%s visible_max_ms=%s first_poll=%d mean_polls=%.2f publish_p50_ms=%s publish_p99_ms=%s\n",
		len(vis), ms(pct(vis, .5)), ms(pct(vis, .99)), ms(pct(vis, 1)), firstPoll, float64(polls)/float64(len(vis)),
		ms(pct(pub, .5)), ms(pct(pub, .99)))
}

// videos prints the ids of the token's user's videos, comma-separated, leaving
// out -exclude.
func videos(args []string) {
	fs := flag.NewFlagSet("videos", flag.ExitOnError)
	base := fs.String("base", "", "server URL")
	token := fs.String("token", "", "the author's token")
	exclude := fs.Int64("exclude", 0, "a video id to leave out")
	_ = fs.Parse(args)
	var out []string
	cursor := ""
	for {
		a := mustOK(call(http.MethodGet, *base, "/douyin/publish/list/", url.Values{"token": {*token}, "count": {"100"}, "cursor": {cursor}}))
		for _, v := range a.VideoList {
			if v.ID != *exclude {
				out = append(out, strconv.FormatInt(v.ID, 10))
			}
		}
		if !a.HasMore || a.NextCursor == "" {
			break
		}
		cursor = a.NextCursor
	}
	fmt.Println(strings.Join(out, ","))
}

func main() {
	if len(os.Args) < 2 {
		fatal(fmt.Errorf("usage: cload videos|seed|write|check|visible [flags]"))
	}
	switch os.Args[1] {
	case "seed":
		seed(os.Args[2:])
	case "write":
		write(os.Args[2:])
	case "check":
		check(os.Args[2:])
	case "visible":
		visible(os.Args[2:])
	case "videos":
		videos(os.Args[2:])
	default:
		fatal(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
GO
(cd "$work/cload" && GOWORK=off GOFLAGS= go build -o ../cload-bin .)
cload="$work/cload-bin"

# start_server starts bin/mdouyin on the data dir with extra MDOUYIN_* settings
# given as arguments, and waits for /readyz.
start_server() {
  env -i PATH="$PATH" HOME="$HOME" MDOUYIN_HTTP_ADDR="127.0.0.1:$PORT" MDOUYIN_DATA_DIR="$work/data" \
    MDOUYIN_RATE_LIMITS=off MDOUYIN_LOG_LEVEL=warn "$@" ./bin/mdouyin >>"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 500); do
    curl -sf "$base/readyz" >/dev/null && return 0
    sleep 0.02
  done
  echo "measure-comments: the server did not become ready" >&2
  cat "$work/server.log" >&2
  exit 1
}
stop_server() {
  kill "$pid"
  wait "$pid" || true
  pid=""
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
alive() {
  kill -0 "$pid" 2>/dev/null && return 0
  wait "$pid" && rc=0 || rc=$?
  echo "measure-comments: the server exited during the run (status $rc)" >&2
  exit 1
}
# cpu_mark prints the server's user+system CPU clock ticks and the time in ns;
# busy MARK prints the share of one CPU the server used since the mark.
cpu_mark() { echo "$(awk '{print $14 + $15}' "/proc/$pid/stat") $(date +%s%N)"; }
busy() {
  awk -v a="$1" -v b="$(cpu_mark)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f%%", 100 * (y[1] - x[1]) / hz / ((y[2] - x[2]) / 1e9) }'
}
register() {
  curl -sf -X POST "$base/douyin/user/register/?username=$1&password=secret-1" | sed -E 's/.*"token":"([^"]+)".*/\1/'
}

start_server
ffmpeg -v error -nostdin -y -f lavfi -i testsrc=duration=1:size=320x240:rate=15 -f lavfi -i sine=duration=1 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"
author=$(register author)
tokens=""
for i in 1 2 3 4 5 6 7 8; do tokens+="${tokens:+,}$(register "user$i")"; done
reader=$(register reader) # the logged-in reader: likes comments, writes none
other=${tokens%%,*}       # user1: publishes in the visibility probe
upload() {
  curl -sf -o /dev/null -F "token=$author" -F "title=$1" -F "data=@$work/clip.mp4;type=video/mp4" \
    "$base/douyin/publish/action/"
}
upload "the hot video"
hot=$("$cload" videos -base "$base" -token "$author")
seq "$WRITE_VIDEOS" | xargs -P 4 -I{} curl -sf -o /dev/null -F "token=$author" -F "title=write target {}" \
  -F "data=@$work/clip.mp4;type=video/mp4" "$base/douyin/publish/action/"
upload "the one-video write target"
targets=$("$cload" videos -base "$base" -token "$author" -exclude "$hot")
one=${targets%%,*}                          # newest first: the one uploaded last
many=${targets#*,}
[ "$(tr ',' '\n' <<<"$many" | wc -l)" -eq "$WRITE_VIDEOS" ] || { echo "measure-comments: uploads failed" >&2; exit 1; }
"$cload" seed -base "$base" -video "$hot" -tokens "$tokens" -author "$author" -reader "$reader" -n "$COMMENTS"

cat >"$work/check.lua" <<'LUA'
-- Counts answers that are not a success. response() runs in each thread's own Lua
-- state, so done() adds up the threads' counters.
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
sample = ""
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status_code":0', 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  end
end
function done(summary, latency, requests)
  local total, example = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    if example == "" then example = t:get("sample") end
  end
  io.write(string.format("non-success answers: %d %s\n", total, example))
end
LUA
summary="$work/summary.md"
{
  echo "| run | req/s | p50 | p99 | non-success | KB/answer | hot-page hits | server CPU (of one core) | load (1/5/15 min) |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$summary"
# sample prints one answer's status and the floors on it, as a spot check.
sample() {
  { curl -s "$1" | grep -o '"status_code":[0-9]*\|"floor":[0-9]*' | tr '\n' ' ' | cut -c1-160; } || true
  echo
}
# hot_counts prints the hot-page cache's hits and misses so far.
hot_counts() {
  curl -s "$base/metrics" | awk '$1 == "mdouyin_hot_cache_hits_total{name=\"comment_pages\"}" {h = $2}
    $1 == "mdouyin_hot_cache_misses_total{name=\"comment_pages\"}" {m = $2} END {printf "%d %d", h, m}'
}
# read_run NAME URL [paced]: a 3 s warm-up (the hot-key detector needs a few
# hundred reads to call the video hot), then the measured wrk run; with "paced",
# one client posts comments on the video during the measured run, one at most
# every 50 ms (its achieved rate is printed).
read_run() {
  echo "== $1"
  sample "$2"
  wrk -t2 -c"$CONNS" -d3s -s "$work/check.lua" "$2" >/dev/null
  local mark cpu before after
  if [ "${3:-}" = paced ]; then
    "$cload" write -base "$base" -videos "$hot" -tokens "$tokens" -c 1 -every 50ms -d "$DURATION" \
      -tag "paced$RANDOM" -out "$work/paced.json" >"$work/paced.txt" &
    bg=$!
  fi
  before=$(hot_counts)
  mark=$(cpu_mark)
  wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$work/check.lua" "$2" | tee "$work/wrk.txt"
  alive
  cpu=$(busy "$mark")
  after=$(hot_counts)
  if [ -n "$bg" ]; then
    wait "$bg"
    bg=""
    echo "paced writer: $(head -1 "$work/paced.txt")"
  fi
  sample "$2"
  local rps p50 p99 bad hits kb
  rps=$(awk '$1 == "Requests/sec:" {print $2}' "$work/wrk.txt")
  kb=$(awk '$2 == "requests" && $3 == "in" { n = $5 + 0; u = substr($5, length($5) - 1)
    f = u == "GB" ? 1048576 : u == "MB" ? 1024 : u == "KB" ? 1 : 1 / 1024; printf "%.1f", n * f / $1 }' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  bad=$(awk '$1 == "non-success" {print $3}' "$work/wrk.txt")
  hits=$(awk -v a="$before" -v b="$after" 'BEGIN { split(a, x, " "); split(b, y, " ")
    h = y[1] - x[1]; n = h + y[2] - x[2]; if (n == 0) print "-"; else printf "%.1f%%", 100 * h / n }')
  echo "hot-page cache hits during the run: $hits"
  echo "| $1 | $rps | $p50 | $p99 | $bad | $kb | $hits | $cpu | $(load) |" >>"$summary"
}
list="$base/douyin/comment/list/?video_id=$hot"
# The paced runs come last: the comments they add (without replies) change the
# first page, so the runs before them all read the same page.
read_run "(a) anonymous, hot pages on" "$list"
read_run "(c) logged in, hot pages on" "$list&token=$reader"
read_run "sort=hot, anonymous, hot pages on" "$list&sort=hot"
stop_server
start_server MDOUYIN_COMMENT_HOT_PAGES=false
read_run "(b) anonymous, hot pages off" "$list"
read_run "logged in, hot pages off" "$list&token=$reader"
read_run "sort=hot, anonymous, hot pages off" "$list&sort=hot"
read_run "anonymous, hot pages off, one client commenting on the video" "$list" paced
stop_server
start_server
read_run "anonymous, hot pages on, one client commenting on the video" "$list" paced

{
  echo
  echo "| writes | ok/s | p50 ms | p90 ms | p99 ms | max ms | errors | floor 0 answers | server CPU | load |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >>"$summary"
write_run() { # NAME VIDEOS TAG
  echo "== writes: $1"
  local mark cpu l
  mark=$(cpu_mark)
  "$cload" write -base "$base" -videos "$2" -tokens "$tokens" -c "$CONNS" -d "$DURATION" -tag "$3" \
    -out "$work/$3.json" | tee "$work/write.txt"
  alive
  cpu=$(busy "$mark")
  l=$(load)
  "$cload" check -base "$base" -token "$author" -expect "$work/$3.json"
  awk -v name="$1" -v l="$l" -v cpu="$cpu" '$1 == "RESULT" {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, v["ok_per_s"], v["p50_ms"], v["p90_ms"],
      v["p99_ms"], v["max_ms"], v["errors"], v["floor0"], cpu, l }' "$work/write.txt" >>"$summary"
}
write_run "one video, $CONNS writers" "$one" one
write_run "$WRITE_VIDEOS videos, $CONNS writers" "$many" many

{
  echo
  echo "| answer to visible for another user ($TRIES tries) | p50 ms | p99 ms | max ms | seen on 1st poll | mean polls | publish p50 ms | publish p99 ms | load |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >>"$summary"
visible_run() { # NAME TAG
  echo "== visibility: $1"
  "$cload" visible -base "$base" -video "$hot" -a "$other" -b "$reader" -n "$TRIES" -tag "$2" | tee "$work/visible.txt"
  awk -v name="$1" -v l="$(load)" '$1 == "RESULT" {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s/%s | %s | %s | %s | %s |\n", name, v["visible_p50_ms"], v["visible_p99_ms"],
      v["visible_max_ms"], v["first_poll"], v["tries"], v["mean_polls"], v["publish_p50_ms"], v["publish_p99_ms"], l }' \
    "$work/visible.txt" >>"$summary"
}
visible_run "quiet server" quiet
wrk -t1 -c32 -d600s "$list" >/dev/null &
bg=$!
sleep 3 # the readers make the video hot before the probe starts
visible_run "32 anonymous readers on the same video" loaded
kill "$bg"
wait "$bg" 2>/dev/null || true
bg=""

echo
echo "server log: $(wc -l <"$work/server.log") lines at level warn or above"
sed -E 's/time=[^ ]+ //' "$work/server.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5 || true
awk '$1 == "VmHWM:" || $1 == "VmRSS:" {print}' "/proc/$pid/status"
echo
rev=$(git rev-parse --short HEAD 2>/dev/null || echo "(no git)")
dirty=$({ git status --porcelain 2>/dev/null || true; } | wc -l)
echo "commit $rev with $dirty changed files in the tree, $(nproc) CPUs, load $(load) at the end"
cat "$summary"
