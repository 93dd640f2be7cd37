//go:build failover

package failover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// account is a registered user.
type account struct {
	id    int64
	token string
	name  string
}

// video is a published video.
type video struct {
	id, author int64
}

// world is what the load acts on: its users, their videos, an admin token.
type world struct {
	users      []account
	videos     []video
	probe      account // a user of the scenarios' own probes, outside the load
	adminToken string
}

const password = "failover-password"

// Status codes the test tells apart: "a role cannot be reached", and the
// generic "something went wrong" that says nothing of the cause.
const (
	codeUnavailable = int64(base.ErrCode_Unavailable)
	codeInternal    = int64(base.ErrCode_Internal)
)

// setupWorld registers users, publishes videos with a real clip and logs the
// admin in, all through the gateways.
func setupWorld(t *testing.T, g *gateways, users, videos int, clip []byte) *world {
	t.Helper()
	w := &world{}
	run := time.Now().UnixNano() % 1e9
	// The gateways find the roles' replicas in etcd within a refresh (1 s) of
	// their registering, so right after start-up a call may find no replica yet:
	// "unavailable" answers are retried for a while. Nothing was sent to a role
	// then, so even a register is safe to repeat.
	retry := func(send func() answer) answer {
		deadline := time.Now().Add(30 * time.Second)
		for {
			a := send()
			if a.ok() || a.code != codeUnavailable || time.Now().After(deadline) {
				return a
			}
			time.Sleep(100 * time.Millisecond) // polling the gateways' discovery
		}
	}
	register := func(name string) account {
		a := retry(func() answer {
			return g.call(http.MethodPost, "/douyin/user/register/", url.Values{"username": {name}, "password": {password}})
		})
		if !a.ok() {
			t.Fatalf("register %s: %s", name, a)
		}
		return account{id: num(a.body, "user_id"), token: str(a.body, "token"), name: name}
	}
	for i := range users {
		w.users = append(w.users, register(fmt.Sprintf("fo%d_%d", run, i)))
	}
	w.probe = register(fmt.Sprintf("fo%d_probe", run))
	for i := range videos {
		author := w.users[i%len(w.users)]
		if a := retry(func() answer { return g.publish(author.token, fmt.Sprintf("failover video %d", i), clip) }); !a.ok() {
			t.Fatalf("publish a video: %s", a)
		}
	}
	// The ids come from the authors' publish lists.
	for i := range videos {
		author := w.users[i%len(w.users)]
		a := retry(func() answer {
			return g.call(http.MethodGet, "/douyin/publish/list/", url.Values{"user_id": {id(author.id)}, "token": {author.token}})
		})
		if !a.ok() {
			t.Fatalf("publish list: %s", a)
		}
		for _, v := range list(a.body, "video_list") {
			w.videos = append(w.videos, video{id: num(v, "id"), author: author.id})
		}
	}
	if len(w.videos) != videos {
		t.Fatalf("published %d videos, the publish lists show %d", videos, len(w.videos))
	}
	a := retry(func() answer {
		return g.admin(http.MethodPost, "/admin/api/login", nil, map[string]string{"username": "admin", "password": adminPassword}, "")
	})
	if !a.ok() || str(a.body, "token") == "" {
		t.Fatalf("admin login: %s", a)
	}
	w.adminToken = str(a.body, "token")
	return w
}

// sample is one request of the load.
type sample struct {
	end     time.Time
	op      string
	read    bool
	outcome outcome
	latency time.Duration
	code    int64
	msg     string
}

// recorder keeps every request of the load, for per-second windows.
type recorder struct {
	mu      sync.Mutex
	samples []sample
	worst   []string // the first few 5xx answers, to show
}

func (r *recorder) add(op string, read bool, a answer) {
	s := sample{end: time.Now(), op: op, read: read, outcome: a.outcome, latency: a.latency, code: a.code}
	if a.outcome != succeeded {
		s.msg = a.msg
		if a.err != nil {
			s.msg = a.err.Error()
		}
	}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	if a.outcome == serverError && len(r.worst) < 10 {
		r.worst = append(r.worst, op+": "+a.String())
	}
	r.mu.Unlock()
}

// between returns the samples that ended in [from, to).
func (r *recorder) between(from, to time.Time) []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(r.samples), func(i int) bool { return !r.samples[i].end.Before(from) })
	var out []sample
	for ; i < len(r.samples) && r.samples[i].end.Before(to); i++ {
		out = append(out, r.samples[i])
	}
	return out
}

// window is one second of load.
type window struct {
	requests, errors, fivexx int
}

func (w window) rate() float64 {
	if w.requests == 0 {
		return 0
	}
	return float64(w.errors) / float64(w.requests)
}

// windows cuts [from, to) into whole seconds from from.
func windows(samples []sample, from, to time.Time) []window {
	n := int(to.Sub(from) / time.Second)
	if n < 0 {
		n = 0
	}
	ws := make([]window, n)
	for _, s := range samples {
		i := int(s.end.Sub(from) / time.Second)
		if i < 0 || i >= n {
			continue
		}
		ws[i].requests++
		if s.outcome != succeeded {
			ws[i].errors++
		}
		if s.outcome == serverError {
			ws[i].fivexx++
		}
	}
	return ws
}

// quietWindows is how many consecutive error-free seconds count as "errors
// are back to zero".
const quietWindows = 3

// quiet reports whether each of the last quietWindows whole seconds before now
// had requests and no error.
func (r *recorder) quiet(now time.Time) bool {
	from := now.Add(-quietWindows * time.Second)
	for _, w := range windows(r.between(from, now), from, now) {
		if w.requests == 0 || w.errors > 0 {
			return false
		}
	}
	return true
}

// waitQuiet polls until the load has run error-free for quietWindows whole
// seconds, all of them after after (a restart, say: the stretch must show the
// cluster as it is now, not as it was before), and returns when that stretch
// began; ok is false after timeout.
func (r *recorder) waitQuiet(after time.Time, timeout time.Duration) (since time.Time, ok bool) {
	deadline := time.Now().Add(timeout)
	for {
		now := time.Now()
		if now.Add(-quietWindows*time.Second).After(after) && r.quiet(now) {
			return now.Add(-quietWindows * time.Second), true
		}
		if now.After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(100 * time.Millisecond) // polling the recorder
	}
}

// state is what the load last learned about a like, a follow or a comment.
type state int8

const (
	// unknown: the last request about it got no success answer, so it may or
	// may not have taken effect.
	unknown state = iota
	on            // acknowledged: liked, followed, or comment published
	off           // acknowledged: unliked, unfollowed, or comment deleted
)

// commentRec is a comment a virtual user published and had acknowledged.
type commentRec struct {
	id, video, root int64
	floor           int64 // 0: acknowledged before its writer applied it
	text            string
	state           state // on: present; off: deleted; unknown: a delete was not answered
}

// messageRec is an acknowledged chat message.
type messageRec struct {
	to      int64
	content string
}

// unacked is a message whose send got no success answer.
type unacked struct {
	to int64
	at time.Time
}

// vuser is one virtual user: a closed loop of requests, one at a time, and a
// ledger of what the cluster acknowledged to it.
type vuser struct {
	w   *world
	g   *gateways
	rec *recorder
	me  account
	rng *rand.Rand
	seq int
	// instead names the request an op sent in its stead (a reply or a delete
	// with no comment to act on publishes a comment).
	instead string

	likes    map[int64]state // by video
	follows  map[int64]state // by followee
	comments []*commentRec
	messages []messageRec
	// Writes that got no success answer, by content: they may have been
	// applied anyway; the summary reports how many were.
	unackedComments map[string]time.Time // content -> when the failure was answered
	unackedMessages map[string]unacked
}

// op is one kind of request and its share of the load.
type op struct {
	name   string
	read   bool
	weight int
	run    func(v *vuser) answer
}

var ops = []op{
	{"feed", true, 12, (*vuser).feed},
	{"publish-list", true, 8, (*vuser).publishList},
	{"comment-list", true, 12, (*vuser).commentList},
	{"user-info", true, 8, (*vuser).userInfo},
	{"favorite-list", true, 6, (*vuser).favoriteList},
	{"follower-list", true, 5, (*vuser).followerList},
	{"chat", true, 5, (*vuser).chat},
	{"admin-search", true, 2, (*vuser).adminSearch},
	{"like", false, 14, (*vuser).like},
	{"follow", false, 10, (*vuser).follow},
	{"comment", false, 6, (*vuser).comment},
	{"reply", false, 2, (*vuser).reply},
	{"comment-delete", false, 2, (*vuser).deleteComment},
	{"message", false, 8, (*vuser).message},
	{"login", false, 1, (*vuser).login},
}

var opsWeight = func() int {
	n := 0
	for _, o := range ops {
		n += o.weight
	}
	return n
}()

// step sends one request of a kind chosen by weight and records it.
func (v *vuser) step() {
	n := v.rng.IntN(opsWeight)
	for _, o := range ops {
		if n < o.weight {
			v.instead = ""
			a := o.run(v)
			name := o.name
			if v.instead != "" {
				name = v.instead
			}
			v.rec.add(name, o.read, a)
			return
		}
		n -= o.weight
	}
}

func (v *vuser) other() account {
	for {
		u := v.w.users[v.rng.IntN(len(v.w.users))]
		if u.id != v.me.id {
			return u
		}
	}
}

func (v *vuser) anyVideo() video { return v.w.videos[v.rng.IntN(len(v.w.videos))] }

func (v *vuser) text(kind string) string {
	v.seq++
	return fmt.Sprintf("failover %s %d-%d", kind, v.me.id, v.seq)
}

func (v *vuser) get(path string, q url.Values) answer { return v.g.call(http.MethodGet, path, q) }

func (v *vuser) post(path string, q url.Values) answer { return v.g.call(http.MethodPost, path, q) }

func (v *vuser) feed() answer {
	q := url.Values{}
	if v.rng.IntN(2) == 0 {
		q.Set("token", v.me.token)
	}
	return v.get("/douyin/feed/", q)
}

func (v *vuser) publishList() answer {
	return v.get("/douyin/publish/list/", url.Values{"user_id": {id(v.anyVideo().author)}, "token": {v.me.token}})
}

func (v *vuser) commentList() answer {
	q := url.Values{"video_id": {id(v.anyVideo().id)}}
	if v.rng.IntN(2) == 0 {
		q.Set("token", v.me.token)
	}
	if v.rng.IntN(4) == 0 {
		q.Set("sort", "hot")
	}
	return v.get("/douyin/comment/list/", q)
}

func (v *vuser) userInfo() answer {
	return v.get("/douyin/user/", url.Values{"user_id": {id(v.other().id)}, "token": {v.me.token}})
}

func (v *vuser) favoriteList() answer {
	return v.get("/douyin/favorite/list/", url.Values{"user_id": {id(v.other().id)}, "token": {v.me.token}})
}

func (v *vuser) followerList() answer {
	return v.get("/douyin/relation/follower/list/", url.Values{"user_id": {id(v.other().id)}, "token": {v.me.token}})
}

func (v *vuser) chat() answer {
	return v.get("/douyin/message/chat/", url.Values{"to_user_id": {id(v.other().id)}, "token": {v.me.token}})
}

func (v *vuser) adminSearch() answer {
	return v.g.admin(http.MethodGet, "/admin/api/comments", url.Values{"q": {"failover"}, "video_id": {id(v.anyVideo().id)}, "limit": {"10"}}, nil, v.w.adminToken)
}

// toggle picks the action that changes a like or follow: on when it is off,
// off when it is on, either when unknown.
func (v *vuser) toggle(s state, known bool) state {
	switch {
	case !known || s == off:
		return on
	case s == on:
		return off
	}
	if v.rng.IntN(2) == 0 {
		return on
	}
	return off
}

func action(s state) string {
	if s == on {
		return "1"
	}
	return "2"
}

func (v *vuser) like() answer {
	vid := v.anyVideo().id
	s, known := v.likes[vid]
	want := v.toggle(s, known)
	a := v.post("/douyin/favorite/action/", url.Values{"token": {v.me.token}, "video_id": {id(vid)}, "action_type": {action(want)}})
	if a.ok() {
		v.likes[vid] = want
	} else {
		v.likes[vid] = unknown
	}
	return a
}

func (v *vuser) follow() answer {
	to := v.other().id
	s, known := v.follows[to]
	want := v.toggle(s, known)
	a := v.post("/douyin/relation/action/", url.Values{"token": {v.me.token}, "to_user_id": {id(to)}, "action_type": {action(want)}})
	if a.ok() {
		v.follows[to] = want
	} else {
		v.follows[to] = unknown
	}
	return a
}

func (v *vuser) publishComment(vid, parent, root int64) answer {
	text := v.text("comment")
	q := url.Values{"token": {v.me.token}, "video_id": {id(vid)}, "action_type": {"1"}, "comment_text": {text}}
	if parent != 0 {
		q.Set("parent_id", id(parent))
	}
	a := v.post("/douyin/comment/action/", q)
	c := obj(a.body, "comment")
	if a.ok() && num(c, "id") != 0 {
		v.comments = append(v.comments, &commentRec{id: num(c, "id"), video: vid, root: root, floor: num(c, "floor"), text: text, state: on})
	} else {
		if a.ok() { // a success without a comment breaks the contract
			a.outcome, a.msg = refused, "comment publish answered without a comment"
		}
		v.unackedComments[text] = time.Now()
	}
	return a
}

func (v *vuser) comment() answer { return v.publishComment(v.anyVideo().id, 0, 0) }

// applied picks one of this user's comments that its writer has applied and that
// is still present, top-level only if asked.
func (v *vuser) applied(topLevel bool) *commentRec {
	var cands []*commentRec
	for _, c := range v.comments {
		if c.floor > 0 && c.state == on && (!topLevel || c.root == 0) && !v.rootGone(c) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[v.rng.IntN(len(cands))]
}

// rootGone reports whether c is a reply whose thread was deleted (or may have been).
func (v *vuser) rootGone(c *commentRec) bool {
	if c.root == 0 {
		return false
	}
	for _, r := range v.comments {
		if r.id == c.root {
			return r.state != on
		}
	}
	return false
}

// reply answers one of this user's own top-level comments (only its own, so no
// other user can delete the thread under it).
func (v *vuser) reply() answer {
	root := v.applied(true)
	if root == nil {
		v.instead = "comment"
		return v.comment()
	}
	return v.publishComment(root.video, root.id, root.id)
}

func (v *vuser) deleteComment() answer {
	c := v.applied(false)
	if c == nil {
		v.instead = "comment"
		return v.comment()
	}
	a := v.post("/douyin/comment/action/", url.Values{"token": {v.me.token}, "video_id": {id(c.video)}, "action_type": {"2"}, "comment_id": {id(c.id)}})
	if a.ok() {
		c.state = off
	} else {
		c.state = unknown
	}
	return a
}

func (v *vuser) message() answer {
	to, content := v.other().id, v.text("message")
	a := v.post("/douyin/message/action/", url.Values{"token": {v.me.token}, "to_user_id": {id(to)}, "action_type": {"1"}, "content": {content}})
	if a.ok() {
		v.messages = append(v.messages, messageRec{to: to, content: content})
	} else {
		v.unackedMessages[content] = unacked{to: to, at: time.Now()}
	}
	return a
}

func (v *vuser) login() answer {
	return v.post("/douyin/user/login/", url.Values{"username": {v.me.name}, "password": {password}})
}

// load runs the virtual users until halt.
type load struct {
	vus    []*vuser
	rec    *recorder
	cancel context.CancelFunc
	wg     sync.WaitGroup
	began  time.Time
	ended  time.Time
}

// startLoad starts one virtual user per account of w, each sending a request
// every interval (or as soon as the previous one answers, when that is later).
func startLoad(w *world, g *gateways, interval time.Duration) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{rec: &recorder{}, cancel: cancel, began: time.Now()}
	for i, u := range w.users {
		v := &vuser{w: w, g: g, rec: l.rec, me: u, rng: rand.New(rand.NewPCG(uint64(u.id), uint64(i))),
			likes: map[int64]state{}, follows: map[int64]state{},
			unackedComments: map[string]time.Time{}, unackedMessages: map[string]unacked{}}
		l.vus = append(l.vus, v)
		// Spread the users' ticks over the interval, so the load is steady
		// rather than in bursts.
		phase := interval * time.Duration(i) / time.Duration(len(w.users))
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(phase):
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				v.step()
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return l
}

// halt stops the load and waits for requests in flight.
func (l *load) halt() {
	l.cancel()
	l.wg.Wait()
	l.ended = time.Now()
}

// figures summarises the samples of one period.
type figures struct {
	requests, errors, fivexx int
	worst                    window
	byOp                     map[string][2]int // op -> requests, errors
	lastError                time.Time
	messages                 map[string]int // "op: status_code message" of failures -> count
}

func summarize(samples []sample, from, to time.Time) figures {
	f := figures{byOp: map[string][2]int{}, messages: map[string]int{}}
	for _, s := range samples {
		f.requests++
		c := f.byOp[s.op]
		c[0]++
		if s.outcome != succeeded {
			f.errors++
			c[1]++
			if s.end.After(f.lastError) {
				f.lastError = s.end
			}
			msg := s.msg
			if len(msg) > 90 {
				msg = msg[:90]
			}
			f.messages[fmt.Sprintf("%s %s %d %q", s.op, s.outcome, s.code, msg)]++
		}
		if s.outcome == serverError {
			f.fivexx++
		}
		f.byOp[s.op] = c
	}
	for _, w := range windows(samples, from, to) {
		if w.rate() > f.worst.rate() {
			f.worst = w
		}
	}
	return f
}

// worstSecond describes the second with the highest share of errors.
func (f figures) worstSecond() string {
	if f.worst.errors == 0 {
		return "no second with errors"
	}
	return fmt.Sprintf("worst second %d/%d (%.0f%%)", f.worst.errors, f.worst.requests, 100*f.worst.rate())
}

func (f figures) rate() float64 {
	if f.requests == 0 {
		return 0
	}
	return float64(f.errors) / float64(f.requests)
}

// errorsByOp lists the ops that failed, with counts: "like 3/40, comment 2/12".
func (f figures) errorsByOp() string {
	var parts []string
	for op, c := range f.byOp {
		if c[1] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", op, c[1], c[0]))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// topMessages lists the most frequent failures.
func (f figures) topMessages(n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range f.messages {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var b strings.Builder
	for i, e := range all {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "\n      %4d x %s", e.v, e.k)
	}
	return b.String()
}
