//go:build crash

package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// video is one of the videos the load likes and comments on.
type video struct {
	id, author int64
}

// world is what the load acts on.
type world struct {
	run    string    // a prefix unique to this run, for usernames
	users  []account // one per virtual user
	probe  account   // reads other users' lists; writes nothing
	videos []video   // published before the load; the targets of likes and comments
	clips  [][]byte  // distinct uploads for the load's publishes
	// publishing bounds the publishes in flight: each takes seconds of
	// ffmpeg, and without a bound the closed loops would all end up queued
	// behind the server's ffmpeg workers.
	publishing chan struct{}
}

// publishSlots is how many publishes may be in flight at once, as many as the
// server's ffmpeg workers (video.ffmpeg_workers, 2 by default; one per video
// replica in the cluster).
const publishSlots = 2

const password = "crash-password"

// retryUnavailable sends until the answer is something other than "a role
// cannot be reached", for up to a minute: right after a cluster starts (or a
// role restarts) the gateways may not have found every role yet, and such an
// answer means nothing was written, so even a register may be sent again.
func retryUnavailable(send func() answer) answer {
	deadline := time.Now().Add(time.Minute)
	for {
		a := send()
		retry := a.outcome == notSent || a.code == int64(base.ErrCode_Unavailable)
		if !retry || time.Now().After(deadline) {
			return a
		}
		time.Sleep(100 * time.Millisecond) // polling the gateways' discovery
	}
}

// setupWorld registers the users and publishes the videos the load works on.
func setupWorld(t *testing.T, c *api, rng *rand.Rand, users, videos int, clips [][]byte) *world {
	t.Helper()
	w := &world{run: fmt.Sprintf("c%06d", rng.IntN(1_000_000)), clips: clips, publishing: make(chan struct{}, publishSlots)}
	register := func(name string) account {
		a := retryUnavailable(func() answer {
			return c.post("/douyin/user/register/", url.Values{"username": {name}, "password": {password}})
		})
		if !a.ok() {
			t.Fatalf("register %s: %s", name, a)
		}
		return account{id: num(a.body, "user_id"), token: str(a.body, "token"), name: name}
	}
	for i := range users {
		w.users = append(w.users, register(fmt.Sprintf("%su%d", w.run, i)))
	}
	w.probe = register(w.run + "probe")
	for i := range videos {
		author := w.users[i%len(w.users)]
		a := retryUnavailable(func() answer { return c.publish(author.token, fmt.Sprintf("crash target %d", i), clips[i%len(clips)]) })
		if !a.ok() {
			t.Fatalf("publish a video: %s", a)
		}
		l := retryUnavailable(func() answer {
			return c.get("/douyin/publish/list/", url.Values{"user_id": {id(author.id)}, "token": {author.token}})
		})
		if !l.ok() || len(list(l.body, "video_list")) == 0 {
			t.Fatalf("publish list of %d: %s", author.id, l)
		}
		w.videos = append(w.videos, video{id: num(list(l.body, "video_list")[0], "id"), author: author.id})
	}
	return w
}

// state is what the ledger knows of a like, a follow, a comment, a video or an
// account.
type state int8

const (
	unknown state = iota // the last write about it got no success answer
	on                   // acknowledged: liked, followed, published, registered
	off                  // acknowledged: unliked, unfollowed, deleted
)

// commentRec is an acknowledged comment.
type commentRec struct {
	id, video, root int64
	text            string
	state           state // on: published; off: deleted; unknown: a delete got no answer
	// applied: its writer has stored it (the publish answered with a floor, or
	// a verification listed it). Only applied comments are replied to or
	// deleted, and an applied comment that goes missing is lost.
	applied bool
	cycle   int // when it was acknowledged
}

// regRec is an account the load registered.
type regRec struct {
	name  string
	id    int64
	state state // on: acknowledged (or resolved by a verification); unknown: no answer yet
	cycle int   // when it was sent
}

// vuser is one virtual user: a closed loop of writes, one at a time, and the
// ledger of what the server acknowledged to it.
type vuser struct {
	w   *world
	c   *api
	n   int // index in w.users
	me  account
	rng *rand.Rand
	seq int

	likes   map[int64]state // by video
	follows map[int64]state // by followee
	// wroteAt is the cycle of the last write of unknown outcome to a like
	// ("like ID"), a follow ("follow ID"), a comment delete ("delete ID") or
	// a message ("message CONTENT"): in a cluster, such a write may still be
	// running in a role whose caller was killed, so it is settled only by a
	// verification in a later cycle.
	wroteAt         map[string]int
	comments        []*commentRec
	unknownComments map[string]bool  // texts of publishes without a success answer
	messages        map[string]int64 // acknowledged: content -> recipient
	unknownMessages map[string]int64
	// unsent are sends that got no success answer and were found not to have
	// happened: they must never appear.
	unsent map[string]int64
	// videos are the titles this user published (on), tried to (unknown), or
	// tried to and found not published (off: must never appear).
	videos   map[string]state
	accounts []*regRec
	cycle    int
	tally    tally
	// instead names the write an op sent in its stead (a reply with no comment
	// to answer sends a comment), for the tally.
	instead string
}

func newVuser(w *world, c *api, n int, seed uint64) *vuser {
	return &vuser{w: w, c: c, n: n, me: w.users[n], rng: rand.New(rand.NewPCG(seed+1, uint64(n))),
		likes: map[int64]state{}, follows: map[int64]state{}, wroteAt: map[string]int{}, unknownComments: map[string]bool{},
		messages: map[string]int64{}, unknownMessages: map[string]int64{}, unsent: map[string]int64{}, videos: map[string]state{},
		tally: newTally()}
}

// ops are the writes of the load, by weight.
var ops = []struct {
	name   string
	weight int
	run    func(*vuser) answer
}{
	{"like", 22, (*vuser).like},
	{"follow", 14, (*vuser).follow},
	{"comment", 14, (*vuser).comment},
	{"reply", 8, (*vuser).reply},
	{"delete", 6, (*vuser).deleteComment},
	{"message", 16, (*vuser).message},
	{"register", 3, (*vuser).register},
	{"publish", 3, (*vuser).publish},
}

func opsMix() string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", o.name, o.weight))
	}
	return strings.Join(parts, ", ")
}

// step sends one write and records what came of it.
func (v *vuser) step() {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := v.rng.IntN(total)
	for _, o := range ops {
		if n < o.weight {
			v.instead = ""
			a := o.run(v)
			name := o.name
			if v.instead != "" {
				name = v.instead
			}
			v.tally.add(name, a)
			return
		}
		n -= o.weight
	}
}

func (v *vuser) other() account {
	for {
		if u := v.w.users[v.rng.IntN(len(v.w.users))]; u.id != v.me.id {
			return u
		}
	}
}

func (v *vuser) text(kind string) string {
	v.seq++
	return fmt.Sprintf("crash %s %d-%d", kind, v.n, v.seq)
}

// settle records the outcome of a write on a key: an acknowledgement sets the
// state, a request never sent leaves it, anything else makes it unknown.
func (v *vuser) settle(m map[int64]state, kind string, key int64, want state, a answer) {
	switch {
	case a.ok():
		m[key] = want
	case a.outcome == notSent:
	default:
		m[key] = unknown
		v.wroteAt[fmt.Sprintf("%s %d", kind, key)] = v.cycle
	}
}

// toggle picks the action that changes a like or follow (either, when unknown).
func (v *vuser) toggle(s state, known bool) state {
	switch {
	case !known || s == off:
		return on
	case s == on:
		return off
	case v.rng.IntN(2) == 0:
		return on
	default:
		return off
	}
}

func action(s state) string {
	if s == on {
		return "1"
	}
	return "2"
}

func (v *vuser) like() answer {
	vid := v.w.videos[v.rng.IntN(len(v.w.videos))].id
	s, known := v.likes[vid]
	want := v.toggle(s, known)
	a := v.c.post("/douyin/favorite/action/", url.Values{"token": {v.me.token}, "video_id": {id(vid)}, "action_type": {action(want)}})
	v.settle(v.likes, "like", vid, want, a)
	return a
}

func (v *vuser) follow() answer {
	to := v.other().id
	s, known := v.follows[to]
	want := v.toggle(s, known)
	a := v.c.post("/douyin/relation/action/", url.Values{"token": {v.me.token}, "to_user_id": {id(to)}, "action_type": {action(want)}})
	v.settle(v.follows, "follow", to, want, a)
	return a
}

func (v *vuser) publishComment(vid, root int64) answer {
	text := v.text("comment")
	q := url.Values{"token": {v.me.token}, "video_id": {id(vid)}, "action_type": {"1"}, "comment_text": {text}}
	if root != 0 {
		q.Set("parent_id", id(root))
	}
	a := v.c.post("/douyin/comment/action/", q)
	c := obj(a.body, "comment")
	switch {
	case a.ok() && num(c, "id") != 0:
		v.comments = append(v.comments, &commentRec{id: num(c, "id"), video: vid, root: root, text: text, state: on,
			applied: num(c, "floor") > 0, cycle: v.cycle})
	case a.outcome == notSent:
	default:
		if a.ok() { // a success without its comment breaks the contract
			a.outcome = refused
		}
		v.unknownComments[text] = true
	}
	return a
}

func (v *vuser) comment() answer {
	return v.publishComment(v.w.videos[v.rng.IntN(len(v.w.videos))].id, 0)
}

// pickComment picks one of this user's applied, present comments (top-level
// only if asked) whose thread is present.
func (v *vuser) pickComment(topLevel bool) *commentRec {
	var cands []*commentRec
	for _, c := range v.comments {
		if c.applied && c.state == on && (!topLevel || c.root == 0) && !v.threadGone(c) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[v.rng.IntN(len(cands))]
}

// threadGone reports whether c is a reply whose thread is (or may be) deleted.
func (v *vuser) threadGone(c *commentRec) bool {
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

// reply answers one of this user's own top-level comments: only its own, so no
// other user's delete can take the thread away under it.
func (v *vuser) reply() answer {
	root := v.pickComment(true)
	if root == nil {
		v.instead = "comment"
		return v.comment()
	}
	return v.publishComment(root.video, root.id)
}

func (v *vuser) deleteComment() answer {
	c := v.pickComment(false)
	if c == nil {
		v.instead = "comment"
		return v.comment()
	}
	a := v.c.post("/douyin/comment/action/", url.Values{"token": {v.me.token}, "video_id": {id(c.video)}, "action_type": {"2"}, "comment_id": {id(c.id)}})
	switch {
	case a.ok():
		c.state = off
	case a.outcome == notSent:
	default:
		c.state = unknown
		v.wroteAt[fmt.Sprintf("delete %d", c.id)] = v.cycle
	}
	return a
}

func (v *vuser) message() answer {
	to, content := v.other().id, v.text("message")
	a := v.c.post("/douyin/message/action/", url.Values{"token": {v.me.token}, "to_user_id": {id(to)}, "action_type": {"1"}, "content": {content}})
	switch {
	case a.ok():
		v.messages[content] = to
	case a.outcome == notSent:
	default:
		v.unknownMessages[content] = to
		v.wroteAt["message "+content] = v.cycle
	}
	return a
}

func (v *vuser) register() answer {
	v.seq++
	name := fmt.Sprintf("%sr%d_%d", v.w.run, v.n, v.seq)
	a := v.c.post("/douyin/user/register/", url.Values{"username": {name}, "password": {password}})
	switch {
	case a.ok() && num(a.body, "user_id") != 0:
		v.accounts = append(v.accounts, &regRec{name: name, id: num(a.body, "user_id"), state: on, cycle: v.cycle})
	case a.outcome == notSent:
	default:
		if a.ok() {
			a.outcome = refused
		}
		v.accounts = append(v.accounts, &regRec{name: name, state: unknown, cycle: v.cycle})
	}
	return a
}

func (v *vuser) publish() answer {
	select {
	case v.w.publishing <- struct{}{}:
		defer func() { <-v.w.publishing }()
	default:
		v.instead = "like" // every slot is taken
		return v.like()
	}
	v.seq++
	title := fmt.Sprintf("crash video %d-%d", v.n, v.seq)
	a := v.c.publish(v.me.token, title, v.w.clips[v.rng.IntN(len(v.w.clips))])
	switch {
	case a.ok():
		v.videos[title] = on
	case a.outcome == notSent:
	default:
		v.videos[title] = unknown
	}
	return a
}

// tally counts the writes of one cycle by outcome.
type tally struct {
	n        [serverError + 1]int
	byOp     map[string][serverError + 1]int
	refusals map[string]int // "op: status_code message" -> count
}

func newTally() tally {
	return tally{byOp: map[string][serverError + 1]int{}, refusals: map[string]int{}}
}

func (t *tally) add(op string, a answer) {
	t.n[a.outcome]++
	c := t.byOp[op]
	c[a.outcome]++
	t.byOp[op] = c
	if a.outcome == refused || a.outcome == serverError {
		msg := str(a.body, "status_msg")
		if a.body == nil {
			msg = a.raw
		}
		if len(msg) > 80 {
			msg = msg[:80]
		}
		t.refusals[fmt.Sprintf("%s: HTTP %d, status_code %d %q", op, a.http, a.code, msg)]++
	}
}

func (t *tally) merge(o tally) {
	for i, n := range o.n {
		t.n[i] += n
	}
	for op, c := range o.byOp {
		m := t.byOp[op]
		for i, n := range c {
			m[i] += n
		}
		t.byOp[op] = m
	}
	for k, n := range o.refusals {
		t.refusals[k] += n
	}
}

func (t tally) unknowns() int { return t.n[refused] + t.n[unanswered] + t.n[serverError] }

// byOutcome lists, per op, the count of one outcome: "like 40, follow 12".
func (t tally) byOutcome(pick func(c [serverError + 1]int) int) string {
	var parts []string
	for _, o := range ops {
		if n := pick(t.byOp[o.name]); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o.name, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// topRefusals lists the most frequent refusals.
func (t tally) topRefusals(n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range t.refusals {
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

// load runs the virtual users until halt.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startLoad starts every virtual user's closed loop: a write, then the next as
// soon as it is answered.
func startLoad(vus []*vuser, cycle int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	for _, v := range vus {
		v.cycle, v.tally = cycle, newTally()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				v.step()
			}
		}()
	}
	return l
}

// halt stops sending new writes and waits for those in flight to be answered
// (or to fail); it never cancels a request the server may be working on.
func (l *load) halt() {
	l.cancel()
	l.wg.Wait()
}
