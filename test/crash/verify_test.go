//go:build crash

package crash

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// facts is what the server shows once the load has stopped: every list that
// holds a fact the load wrote, and every count derived from them.
type facts struct {
	favs      map[int64]map[int64]bool // user -> liked videos (favorite lists)
	following map[int64]map[int64]bool // user -> whom they follow
	followers map[int64]map[int64]bool // user -> who follows them
	info      map[int64]map[string]any // user -> User object (/douyin/user/)
	works     map[int64][]map[string]any
	top       map[int64][]map[string]any // video -> top-level comments
	replies   map[int64][]map[string]any // top-level comment -> its replies
	chats     map[[2]int64][]string      // pair of users -> message contents, repeats kept
	// flags are disagreements seen while reading: a list item whose
	// is_favorite or is_follow contradicts the lists.
	flags []string
}

func set(items []map[string]any) map[int64]bool {
	m := map[int64]bool{}
	for _, it := range items {
		m[num(it, "id")] = true
	}
	return m
}

func pair(a, b int64) [2]int64 {
	if a > b {
		a, b = b, a
	}
	return [2]int64{a, b}
}

// collect reads the facts through the API. Any failed read is an error: the
// caller polls again. spot is a user whose view of every publish list is read
// too, to compare each is_favorite with their favorite list.
func collect(c *api, w *world, vus []*vuser, spot account) (*facts, error) {
	f := &facts{favs: map[int64]map[int64]bool{}, following: map[int64]map[int64]bool{}, followers: map[int64]map[int64]bool{},
		info: map[int64]map[string]any{}, works: map[int64][]map[string]any{}, top: map[int64][]map[string]any{},
		replies: map[int64][]map[string]any{}, chats: map[[2]int64][]string{}}
	flag := func(format string, args ...any) { f.flags = append(f.flags, fmt.Sprintf(format, args...)) }
	everyone := append(append([]account{}, w.users...), w.probe)
	for _, u := range everyone {
		// Each user's own lists with their own token: is_favorite and
		// is_follow are then theirs.
		q := func() url.Values { return url.Values{"user_id": {id(u.id)}, "token": {u.token}} }
		favs, err := c.pages("/douyin/favorite/list/", q(), "video_list")
		if err != nil {
			return nil, err
		}
		f.favs[u.id] = set(favs)
		for _, v := range favs {
			if !isTrue(v, "is_favorite") {
				flag("user %d: video %d is in their favorite list with is_favorite false", u.id, num(v, "id"))
			}
		}
		following, err := c.pages("/douyin/relation/follow/list/", q(), "user_list")
		if err != nil {
			return nil, err
		}
		f.following[u.id] = set(following)
		for _, x := range following {
			if !isTrue(x, "is_follow") {
				flag("user %d: %d is in their follow list with is_follow false", u.id, num(x, "id"))
			}
		}
		followers, err := c.pages("/douyin/relation/follower/list/", q(), "user_list")
		if err != nil {
			return nil, err
		}
		f.followers[u.id] = set(followers)
		for _, x := range followers {
			if got, want := isTrue(x, "is_follow"), f.following[u.id][num(x, "id")]; got != want {
				flag("user %d: follower %d shown with is_follow %v, but their follow list says %v", u.id, num(x, "id"), got, want)
			}
		}
		if f.works[u.id], err = c.pages("/douyin/publish/list/", q(), "video_list"); err != nil {
			return nil, err
		}
		a := c.get("/douyin/user/", url.Values{"user_id": {id(u.id)}, "token": {w.probe.token}})
		if !a.ok() {
			return nil, fmt.Errorf("user %d: %s", u.id, a)
		}
		f.info[u.id] = obj(a.body, "user")
	}
	// One user's view of every publish list.
	for _, u := range everyone {
		if len(f.works[u.id]) == 0 {
			continue
		}
		vs, err := c.pages("/douyin/publish/list/", url.Values{"user_id": {id(u.id)}, "token": {spot.token}}, "video_list")
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if got, want := isTrue(v, "is_favorite"), f.favs[spot.id][num(v, "id")]; got != want {
				flag("user %d sees video %d with is_favorite %v, but their favorite list says %v", spot.id, num(v, "id"), got, want)
			}
		}
	}
	// Comments: every thread that has replies, and every thread the load
	// replied to (in case reply_count is what went wrong).
	repliedTo := map[int64]bool{}
	for _, v := range vus {
		for _, cm := range v.comments {
			if cm.root != 0 {
				repliedTo[cm.root] = true
			}
		}
	}
	for _, vd := range w.videos {
		top, err := c.pages("/douyin/comment/list/", url.Values{"video_id": {id(vd.id)}}, "comment_list")
		if err != nil {
			return nil, err
		}
		f.top[vd.id] = top
		for _, cm := range top {
			cid := num(cm, "id")
			if num(cm, "reply_count") == 0 && !repliedTo[cid] {
				continue
			}
			if f.replies[cid], err = c.pages("/douyin/comment/list/", url.Values{"video_id": {id(vd.id)}, "root_id": {id(cid)}}, "comment_list"); err != nil {
				return nil, err
			}
		}
	}
	// Comments applied while this read ran (a write stream catching up after
	// the restart) would show as counts that disagree with the lists: the
	// counts are read again, and a change means "not settled yet".
	for _, vd := range w.videos {
		vs, err := c.pages("/douyin/publish/list/", url.Values{"user_id": {id(vd.author)}, "token": {w.probe.token}}, "video_list")
		if err != nil {
			return nil, err
		}
		for _, x := range vs {
			for _, y := range f.works[vd.author] {
				if num(x, "id") == num(y, "id") && num(x, "comment_count") != num(y, "comment_count") {
					return nil, fmt.Errorf("comments are still being applied: video %d's comment_count went from %d to %d while reading",
						num(x, "id"), num(y, "comment_count"), num(x, "comment_count"))
				}
			}
		}
	}

	// Chats between every pair the load sent messages between.
	tokens := map[int64]string{}
	for _, u := range w.users {
		tokens[u.id] = u.token
	}
	pairs := map[[2]int64]bool{}
	for _, v := range vus {
		for _, to := range v.messages {
			pairs[pair(v.me.id, to)] = true
		}
		for _, to := range v.unknownMessages {
			pairs[pair(v.me.id, to)] = true
		}
	}
	for p := range pairs {
		msgs, err := c.pages("/douyin/message/chat/", url.Values{"token": {tokens[p[0]]}, "to_user_id": {id(p[1])}}, "message_list")
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			f.chats[p] = append(f.chats[p], str(m, "content"))
		}
	}
	return f, nil
}

// verdict is what one comparison of the facts with the ledger found.
type verdict struct {
	problems []string
	// awaiting are acknowledged comments not listed yet that no verification
	// has seen and whose publish answer had no floor: still in the write
	// stream, not lost (a writer killed mid-message holds its partition until
	// the stream redelivers). Each must appear by the end of the run.
	awaiting []*commentRec
	// checked counts the ledger's facts compared (acknowledged states of
	// likes, follows, comments, messages, videos) and the counts compared.
	checked int
	// resolved is how the writes of unknown outcome turned out.
	resolved resolution
	// waited says what the verification waited for, when it took a while.
	waited string
}

// compare checks the facts against the ledger, and every count against the
// facts it counts. It marks every acknowledged comment it finds as applied.
func compare(f *facts, w *world, vus []*vuser) verdict {
	var out verdict
	bad := func(format string, args ...any) { out.problems = append(out.problems, fmt.Sprintf(format, args...)) }
	out.problems = append(out.problems, f.flags...)

	// Every comment listed, by id and by text, to count occurrences.
	listed := map[int64]int{}
	texts := map[string]int{}
	var all []map[string]any
	for _, top := range f.top {
		all = append(all, top...)
	}
	for _, rs := range f.replies {
		all = append(all, rs...)
	}
	for _, cm := range all {
		listed[num(cm, "id")]++
		texts[str(cm, "content")]++
	}
	known := map[string]bool{}
	chatTexts := map[string]bool{}

	for _, v := range vus {
		u := v.me.id
		for vid, s := range v.likes {
			switch {
			case s == on && !f.favs[u][vid]:
				bad("user %d: acknowledged like of video %d is missing from their favorite list", u, vid)
			case s == off && f.favs[u][vid]:
				bad("user %d: acknowledged unlike of video %d, but the video is in their favorite list", u, vid)
			}
			if s != unknown {
				out.checked++
			}
		}
		for vid := range f.favs[u] {
			if _, touched := v.likes[vid]; !touched {
				bad("user %d: video %d is in their favorite list, but was never liked", u, vid)
			}
		}
		for to, s := range v.follows {
			switch {
			case s == on && (!f.following[u][to] || !f.followers[to][u]):
				bad("user %d: acknowledged follow of %d is missing (in follow list %v, in follower list %v)", u, to, f.following[u][to], f.followers[to][u])
			case s == off && (f.following[u][to] || f.followers[to][u]):
				bad("user %d: acknowledged unfollow of %d, but it is still listed (in follow list %v, in follower list %v)", u, to, f.following[u][to], f.followers[to][u])
			}
			if s != unknown {
				out.checked++
			}
		}
		for to := range f.following[u] {
			if _, touched := v.follows[to]; !touched {
				bad("user %d follows %d, which the load never asked for", u, to)
			}
		}

		byID := map[int64]*commentRec{}
		for _, cm := range v.comments {
			byID[cm.id] = cm
		}
		for _, cm := range v.comments {
			known[cm.text] = true
			n := listed[cm.id]
			expect := cm.state
			if r := byID[cm.root]; cm.root != 0 && r != nil && r.state != on && expect == on {
				expect = r.state // a deleted thread takes its replies with it
			}
			switch {
			case n > 1:
				bad("user %d: comment %d is listed %d times", u, cm.id, n)
			case expect == on && n == 0 && !cm.applied:
				out.awaiting = append(out.awaiting, cm)
			case expect == on && n == 0:
				bad("user %d: acknowledged comment %d (%q, video %d, root %d, cycle %d) is missing, though it was stored", u, cm.id, cm.text, cm.video, cm.root, cm.cycle)
			case expect == off && n > 0:
				bad("user %d: comment %d (video %d, root %d) was deleted (or its thread was), but is listed", u, cm.id, cm.video, cm.root)
			}
			if n > 0 {
				cm.applied = true
			}
			if expect != unknown {
				out.checked++
			}
		}
		for text := range v.unknownComments {
			known[text] = true
			if texts[text] > 1 {
				bad("user %d: comment %q, whose publish got no answer, is listed %d times", u, text, texts[text])
			}
		}

		for content, to := range v.messages {
			chatTexts[content] = true
			if n := count(f.chats[pair(u, to)], content); n != 1 {
				bad("user %d: acknowledged message %q to %d is in their chat %d times", u, content, to, n)
			}
			out.checked++
		}
		for content, to := range v.unknownMessages {
			chatTexts[content] = true
			if n := count(f.chats[pair(u, to)], content); n > 1 {
				bad("user %d: message %q to %d, whose send got no answer, is in their chat %d times", u, content, to, n)
			}
		}
		for content, to := range v.unsent {
			if n := count(f.chats[pair(u, to)], content); n > 0 {
				bad("user %d: message %q to %d was found not sent after its crash, but is now in their chat %d times", u, content, to, n)
			}
			out.checked++
		}

		// Videos: the targets published before the load, and each title
		// the load published exactly once (or, unanswered, at most once).
		titles := map[string]int{}
		for _, x := range f.works[u] {
			titles[str(x, "title")]++
		}
		for title, s := range v.videos {
			switch n := titles[title]; {
			case s == on && n != 1:
				bad("user %d: acknowledged video %q is in their publish list %d times", u, title, n)
			case s == unknown && n > 1:
				bad("user %d: video %q, whose publish got no answer, is in their publish list %d times", u, title, n)
			case s == off && n > 0:
				bad("user %d: video %q was found not published after its crash, but is now in their publish list %d times", u, title, n)
			}
			if s != unknown {
				out.checked++
			}
		}
		for title := range titles {
			if _, ok := v.videos[title]; !ok && !strings.HasPrefix(title, "crash target ") {
				bad("user %d: video %q is in their publish list, but was never published", u, title)
			}
		}
	}
	for _, cm := range all {
		if !known[str(cm, "content")] {
			bad("comment %d (%q) is listed, but the load never wrote it", num(cm, "id"), str(cm, "content"))
		}
	}
	for p, msgs := range f.chats {
		for _, m := range msgs {
			if !chatTexts[m] {
				bad("chat of %d and %d holds %q, which the load never sent", p[0], p[1], m)
			}
		}
	}

	// Follow lists agree with each other.
	for u, s := range f.following {
		for to := range s {
			if !f.followers[to][u] {
				bad("%d's follow list has %d, but %d's follower list lacks %d", u, to, to, u)
			}
		}
	}
	for u, s := range f.followers {
		for from := range s {
			if !f.following[from][u] {
				bad("%d's follower list has %d, but %d's follow list lacks %d", u, from, from, u)
			}
		}
	}

	// Every count equals its facts.
	likers := map[int64]int64{}
	for _, s := range f.favs {
		for vid := range s {
			likers[vid]++
		}
	}
	targets := map[int64]bool{}
	for _, vd := range w.videos {
		targets[vd.id] = true
	}
	for author, works := range f.works {
		for _, x := range works {
			vid := num(x, "id")
			out.checked += 2
			if got := num(x, "favorite_count"); got != likers[vid] {
				bad("video %d (author %d): favorite_count %d, but %d users' favorite lists have it", vid, author, got, likers[vid])
			}
			visible := int64(len(f.top[vid]))
			for _, cm := range f.top[vid] {
				n := int64(len(f.replies[num(cm, "id")]))
				visible += n
				out.checked++
				if got := num(cm, "reply_count"); got != n {
					bad("comment %d on video %d: reply_count %d, but its thread lists %d replies", num(cm, "id"), vid, got, n)
				}
			}
			if got := num(x, "comment_count"); got != visible {
				bad("video %d: comment_count %d, but %d visible comments are listed", vid, got, visible)
			}
		}
	}
	for _, vd := range w.videos {
		found := false
		for _, x := range f.works[vd.author] {
			found = found || num(x, "id") == vd.id
		}
		if !found {
			bad("video %d is missing from its author %d's publish list", vd.id, vd.author)
		}
	}
	users := make([]int64, 0, len(f.info))
	for u := range f.info {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	for _, u := range users {
		var received int64
		for _, x := range f.works[u] {
			received += likers[num(x, "id")]
		}
		for _, c := range []struct {
			key  string
			want int64
		}{
			{"favorite_count", int64(len(f.favs[u]))},
			{"follow_count", int64(len(f.following[u]))},
			{"follower_count", int64(len(f.followers[u]))},
			{"work_count", int64(len(f.works[u]))},
			{"total_favorited", received},
		} {
			out.checked++
			if got := num(f.info[u], c.key); got != c.want {
				bad("user %d: %s %d, but the facts say %d", u, c.key, got, c.want)
			}
		}
	}
	return out
}

// resolution counts how writes of unknown outcome turned out.
type resolution struct {
	applied, absent int
}

func (r resolution) String() string {
	return fmt.Sprintf("%d found applied, %d found not applied", r.applied, r.absent)
}

// resolve settles the ledger's writes of unknown outcome by what the facts
// show, once they agree with it: from then on each must stay as found. A
// comment publish found absent stays unknown, since it may still wait in the
// write stream.
//
// With orphans (a cluster), a write whose caller was killed may still be
// running in the role it reached (a gateway killed mid-request does not stop
// the favorite role's work on it): such a write is settled only by a
// verification in a later cycle than its own, long after it ended, unless it
// is found applied; a publish found absent stays unknown (ffmpeg may still be
// working on it).
func resolve(f *facts, vus []*vuser, orphans bool, cycle int) resolution {
	var r resolution
	type place struct {
		c     map[string]any
		video int64
	}
	byText := map[string]place{}
	rootVideo := map[int64]int64{}
	for vid, top := range f.top {
		for _, c := range top {
			byText[str(c, "content")] = place{c, vid}
			rootVideo[num(c, "id")] = vid
		}
	}
	for root, rs := range f.replies {
		for _, c := range rs {
			byText[str(c, "content")] = place{c, rootVideo[root]}
		}
	}
	note := func(applied bool) {
		if applied {
			r.applied++
		} else {
			r.absent++
		}
	}
	toState := func(present bool) state {
		if present {
			return on
		}
		return off
	}
	for _, v := range vus {
		u := v.me.id
		// settled reports whether the write of unknown outcome named key
		// has surely ended, and forgets when it was sent.
		settled := func(key string) bool {
			if orphans && v.wroteAt[key] >= cycle {
				return false
			}
			delete(v.wroteAt, key)
			return true
		}
		for vid, s := range v.likes {
			if s == unknown && settled(fmt.Sprintf("like %d", vid)) {
				v.likes[vid] = toState(f.favs[u][vid])
				note(f.favs[u][vid])
			}
		}
		for to, s := range v.follows {
			if s == unknown && settled(fmt.Sprintf("follow %d", to)) {
				v.follows[to] = toState(f.following[u][to])
				note(f.following[u][to])
			}
		}
		byID := map[int64]*commentRec{}
		for _, c := range v.comments {
			byID[c.id] = c
		}
		for _, c := range v.comments {
			if c.state != unknown || (c.root != 0 && (byID[c.root] == nil || byID[c.root].state != on)) ||
				!settled(fmt.Sprintf("delete %d", c.id)) {
				continue
			}
			_, listed := byText[c.text]
			c.state = toState(listed) // a delete that happened leaves it off
			note(!listed)
		}
		for text := range v.unknownComments {
			p, ok := byText[text]
			if !ok {
				continue
			}
			v.comments = append(v.comments, &commentRec{id: num(p.c, "id"), video: p.video, root: num(p.c, "root_id"), text: text,
				state: on, applied: true, cycle: v.cycle})
			delete(v.unknownComments, text)
			note(true)
		}
		for content, to := range v.unknownMessages {
			n := count(f.chats[pair(u, to)], content)
			switch {
			case n == 1:
				v.messages[content] = to
				delete(v.wroteAt, "message "+content)
			case settled("message " + content):
				v.unsent[content] = to
			default:
				continue
			}
			delete(v.unknownMessages, content)
			note(n == 1)
		}
		titles := map[string]bool{}
		for _, x := range f.works[u] {
			titles[str(x, "title")] = true
		}
		for title, s := range v.videos {
			if s == unknown && (titles[title] || !orphans) {
				v.videos[title] = toState(titles[title])
				note(titles[title])
			}
		}
	}
	return r
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "  ...")
	}
	return strings.Join(lines, "\n        ")
}

func count(items []string, s string) int {
	n := 0
	for _, it := range items {
		if it == s {
			n++
		}
	}
	return n
}

// verifier checks, after each restart, what the server shows against the ledger.
type verifier struct {
	c   *api
	w   *world
	vus []*vuser
	tmp string
	// orphans: a write whose caller was killed may still be running (see
	// resolve); cycle is the cycle being verified.
	orphans bool
	cycle   int
	// media holds the media files already fetched and decoded, by URL path
	// (uploads are stored by content, so the same clip is the same file).
	media map[string]bool
}

// settle polls until the facts agree with the ledger and every count with its
// facts, failing after timeout with the last disagreements. Acknowledged
// comments still in the write stream are allowed after grace, unless final.
func (vf *verifier) settle(rng *rand.Rand, timeout, grace time.Duration, final bool) (verdict, error) {
	began := time.Now()
	spot := vf.w.users[rng.IntN(len(vf.w.users))]
	var last string
	for {
		f, err := collect(vf.c, vf.w, vf.vus, spot)
		if err == nil {
			v := compare(f, vf.w, vf.vus)
			if len(v.problems) == 0 && (len(v.awaiting) == 0 || !final && time.Since(began) > grace) {
				if p := vf.checkMedia(f); len(p) > 0 {
					return v, fmt.Errorf("media:\n  %s", strings.Join(p, "\n  "))
				}
				v.resolved = resolve(f, vf.vus, vf.orphans, vf.cycle)
				if time.Since(began) > 3*time.Second && last != "" {
					v.waited = fmt.Sprintf("waited %v for: %s", time.Since(began).Round(100*time.Millisecond), firstLines(last, 5))
				}
				return v, nil
			}
			last = fmt.Sprintf("%d disagreements, %d acknowledged comments not listed yet", len(v.problems), len(v.awaiting))
			if len(v.problems) > 0 {
				shown := v.problems
				if len(shown) > 30 {
					shown = shown[:30]
				}
				last += ":\n  " + strings.Join(shown, "\n  ")
			}
			for i, cm := range v.awaiting {
				if i == 10 {
					break
				}
				last += fmt.Sprintf("\n  not listed yet: comment %d (%q, video %d, root %d, acknowledged in cycle %d)", cm.id, cm.text, cm.video, cm.root, cm.cycle)
			}
		} else {
			last = "reading the facts: " + err.Error()
		}
		if time.Since(began) > timeout {
			return verdict{}, fmt.Errorf("not settled within %v: %s", timeout, last)
		}
		time.Sleep(200 * time.Millisecond) // polling the server
	}
}

// checkMedia fetches every video and cover not fetched before: the video must
// decode whole with ffmpeg and the cover must be a JPEG.
func (vf *verifier) checkMedia(f *facts) []string {
	var problems []string
	for _, works := range f.works {
		for _, x := range works {
			for _, m := range []struct{ key, kind string }{{"play_url", "video"}, {"cover_url", "cover"}} {
				u := str(x, m.key)
				pu, err := url.Parse(u)
				if err != nil || u == "" {
					problems = append(problems, fmt.Sprintf("video %d: %s %q is not a URL", num(x, "id"), m.key, u))
					continue
				}
				if vf.media[pu.Path] {
					continue
				}
				if p := vf.fetchMedia(u, m.kind); p != "" {
					problems = append(problems, fmt.Sprintf("video %d (%q): %s", num(x, "id"), str(x, "title"), p))
					continue
				}
				vf.media[pu.Path] = true
			}
		}
	}
	return problems
}

func (vf *verifier) fetchMedia(u, kind string) string {
	code, body, err := vf.c.fetch(u)
	switch {
	case err != nil:
		return fmt.Sprintf("GET %s: %v", u, err)
	case code != 200:
		return fmt.Sprintf("GET %s: HTTP %d", u, code)
	case kind == "cover" && !bytes.HasPrefix(body, []byte{0xFF, 0xD8}):
		return fmt.Sprintf("cover %s is not a JPEG (%d bytes)", u, len(body))
	case kind == "cover":
		return ""
	}
	path := filepath.Join(vf.tmp, "media.mp4")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return err.Error()
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("video %s (%d bytes) does not decode: %v %s", u, len(body), err, out)
	}
	return ""
}

// checkAccounts logs in every account the run registered, and settles each
// registration that got no answer: it either happened (the login works) or left
// nothing behind (the name can be registered now). A name that is taken but
// cannot log in is a registration done by half.
func (vf *verifier) checkAccounts() (problems []string, checked int, res resolution) {
	type job struct {
		acc   account
		rec   *regRec // nil for the world's own accounts
		owner int
	}
	var jobs []job
	for _, u := range append(append([]account{}, vf.w.users...), vf.w.probe) {
		jobs = append(jobs, job{acc: u})
	}
	for _, v := range vf.vus {
		for _, r := range v.accounts {
			jobs = append(jobs, job{acc: account{name: r.name, id: r.id}, rec: r, owner: v.n})
		}
	}
	var mu sync.Mutex
	bad := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range 4 { // the server hashes a few passwords at once (password.max_in_flight)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				login := retryUnavailable(func() answer {
					return vf.c.post("/douyin/user/login/", url.Values{"username": {j.acc.name}, "password": {password}})
				})
				known := j.rec == nil || j.rec.state == on
				switch {
				case login.ok() && known && num(login.body, "user_id") != j.acc.id:
					bad("account %q: login answers user %d, registered as %d", j.acc.name, num(login.body, "user_id"), j.acc.id)
				case login.ok() && !known:
					j.rec.id, j.rec.state = num(login.body, "user_id"), on // the registration happened
					mu.Lock()
					res.applied++
					mu.Unlock()
				case login.ok():
				case known:
					bad("account %q (user %d): acknowledged registration, but login fails: %s", j.acc.name, j.acc.id, login)
				case login.code != int64(base.ErrCode_UserBadCredentials):
					bad("account %q: login after a registration without answer: %s", j.acc.name, login)
				case vf.orphans && j.rec.cycle >= vf.cycle:
					// It may still be hashing its password in the user
					// role; settled in a later cycle.
					continue
				default:
					// Not there: the name must be free.
					again := retryUnavailable(func() answer {
						return vf.c.post("/douyin/user/register/", url.Values{"username": {j.acc.name}, "password": {password}})
					})
					if !again.ok() {
						bad("account %q: registration without answer left the name unusable: login refused, register again: %s", j.acc.name, again)
						continue
					}
					j.rec.id, j.rec.state = num(again.body, "user_id"), on
					mu.Lock()
					res.absent++
					mu.Unlock()
				}
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	sort.Strings(problems)
	return problems, checked, res
}
