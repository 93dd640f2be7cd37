//go:build failover

package failover

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// facts is what the cluster shows once the load has stopped: every list that
// holds a fact the load wrote, and every count derived from them.
type facts struct {
	favs      map[int64]map[int64]bool // user -> liked videos (favorite lists)
	following map[int64]map[int64]bool // user -> whom they follow
	followers map[int64]map[int64]bool // user -> who follows them
	info      map[int64]map[string]any // user -> User object (/douyin/user/)
	works     map[int64][]map[string]any
	top       map[int64][]map[string]any // video -> top-level comments
	replies   map[int64][]map[string]any // top-level comment -> its replies
	chats     map[[2]int64]map[string]bool
}

// page is the page size the verification reads with (the comment list's largest).
const page = "100"

// pages reads every page of a list route.
func pages(g *gateways, path string, q url.Values, key string) ([]map[string]any, error) {
	q.Set("count", page)
	var all []map[string]any
	for range 10_000 {
		a := g.call(http.MethodGet, path, q)
		if !a.ok() {
			return nil, fmt.Errorf("GET %s?%s: %s", path, q.Encode(), a)
		}
		all = append(all, list(a.body, key)...)
		next := str(a.body, "next_cursor")
		if has, _ := a.body["has_more"].(bool); !has || next == "" {
			return all, nil
		}
		q.Set("cursor", next)
	}
	return nil, fmt.Errorf("GET %s: pages without end", path)
}

func ids(items []map[string]any, key string) map[int64]bool {
	m := map[int64]bool{}
	for _, it := range items {
		if key != "" {
			it = obj(it, key)
		}
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

// collect reads the facts through the gateways. Any failed read is an error:
// the caller polls again.
func collect(g *gateways, w *world, vus []*vuser) (*facts, error) {
	f := &facts{favs: map[int64]map[int64]bool{}, following: map[int64]map[int64]bool{}, followers: map[int64]map[int64]bool{},
		info: map[int64]map[string]any{}, works: map[int64][]map[string]any{}, top: map[int64][]map[string]any{},
		replies: map[int64][]map[string]any{}, chats: map[[2]int64]map[string]bool{}}
	everyone := append(append([]account{}, w.users...), w.probe)
	for _, u := range everyone {
		q := func() url.Values { return url.Values{"user_id": {id(u.id)}, "token": {w.probe.token}} }
		favs, err := pages(g, "/douyin/favorite/list/", q(), "video_list")
		if err != nil {
			return nil, err
		}
		f.favs[u.id] = ids(favs, "")
		following, err := pages(g, "/douyin/relation/follow/list/", q(), "user_list")
		if err != nil {
			return nil, err
		}
		f.following[u.id] = ids(following, "")
		followers, err := pages(g, "/douyin/relation/follower/list/", q(), "user_list")
		if err != nil {
			return nil, err
		}
		f.followers[u.id] = ids(followers, "")
		if f.works[u.id], err = pages(g, "/douyin/publish/list/", q(), "video_list"); err != nil {
			return nil, err
		}
		a := g.call(http.MethodGet, "/douyin/user/", q())
		if !a.ok() {
			return nil, fmt.Errorf("user %d: %s", u.id, a)
		}
		f.info[u.id] = obj(a.body, "user")
	}
	// Replies are read for every thread that has some, and for every thread
	// the load replied to (in case reply_count is what went wrong).
	repliedTo := map[int64]bool{}
	for _, v := range vus {
		for _, c := range v.comments {
			if c.root != 0 {
				repliedTo[c.root] = true
			}
		}
	}
	for _, vd := range w.videos {
		top, err := pages(g, "/douyin/comment/list/", url.Values{"video_id": {id(vd.id)}}, "comment_list")
		if err != nil {
			return nil, err
		}
		f.top[vd.id] = top
		for _, c := range top {
			cid := num(c, "id")
			if num(c, "reply_count") == 0 && !repliedTo[cid] {
				continue
			}
			if f.replies[cid], err = pages(g, "/douyin/comment/list/", url.Values{"video_id": {id(vd.id)}, "root_id": {id(cid)}}, "comment_list"); err != nil {
				return nil, err
			}
		}
	}
	// Chats between every pair the load sent messages between, acknowledged or not.
	tokens := map[int64]string{}
	for _, u := range w.users {
		tokens[u.id] = u.token
	}
	want := map[[2]int64]bool{}
	for _, v := range vus {
		for _, m := range v.messages {
			want[pair(v.me.id, m.to)] = true
		}
		for _, m := range v.unackedMessages {
			want[pair(v.me.id, m.to)] = true
		}
	}
	for p := range want {
		msgs, err := pages(g, "/douyin/message/chat/", url.Values{"token": {tokens[p[0]]}, "to_user_id": {id(p[1])}}, "message_list")
		if err != nil {
			return nil, err
		}
		f.chats[p] = map[string]bool{}
		for _, m := range msgs {
			f.chats[p][str(m, "content")] = true
		}
	}
	return f, nil
}

// check compares the facts with what the load had acknowledged, and every count
// with the facts it counts. It returns every disagreement.
func check(f *facts, w *world, vus []*vuser) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Acknowledged writes are present; acknowledged removals are absent.
	for _, v := range vus {
		u := v.me.id
		for vid, s := range v.likes {
			if s == on && !f.favs[u][vid] {
				bad("user %d: acknowledged like of video %d is missing from their favorite list", u, vid)
			}
			if s == off && f.favs[u][vid] {
				bad("user %d: acknowledged unlike of video %d, but it is in their favorite list", u, vid)
			}
		}
		for vid := range f.favs[u] {
			if _, touched := v.likes[vid]; !touched {
				bad("user %d: video %d is in their favorite list but was never liked", u, vid)
			}
		}
		for to, s := range v.follows {
			if s == on && (!f.following[u][to] || !f.followers[to][u]) {
				bad("user %d: acknowledged follow of %d is missing (follow list %v, follower list %v)", u, to, f.following[u][to], f.followers[to][u])
			}
			if s == off && (f.following[u][to] || f.followers[to][u]) {
				bad("user %d: acknowledged unfollow of %d, but it is still listed (follow list %v, follower list %v)", u, to, f.following[u][to], f.followers[to][u])
			}
		}
		for to := range f.following[u] {
			if _, touched := v.follows[to]; !touched {
				bad("user %d follows %d, which the load never asked for", u, to)
			}
		}
		byID := map[int64]*commentRec{}
		for _, c := range v.comments {
			byID[c.id] = c
		}
		for _, c := range v.comments {
			where := f.top[c.video]
			if c.root != 0 {
				where = f.replies[c.root]
			}
			present := ids(where, "")[c.id]
			expect := c.state
			if r := byID[c.root]; c.root != 0 && r != nil && r.state != on && expect == on {
				expect = r.state // a deleted thread takes its replies with it
			}
			switch {
			case expect == on && !present:
				bad("user %d: acknowledged comment %d (%q, video %d, root %d, floor %d) is missing", u, c.id, c.text, c.video, c.root, c.floor)
			case expect == off && present:
				bad("user %d: comment %d (video %d, root %d) was deleted (or its thread was) but is still listed", u, c.id, c.video, c.root)
			}
		}
		for _, m := range v.messages {
			if !f.chats[pair(u, m.to)][m.content] {
				bad("user %d: acknowledged message %q to %d is missing from their chat", u, m.content, m.to)
			}
		}
	}

	// Follow lists agree with each other.
	for u, set := range f.following {
		for to := range set {
			if !f.followers[to][u] {
				bad("%d's follow list has %d, but %d's follower list lacks %d", u, to, to, u)
			}
		}
	}
	for u, set := range f.followers {
		for from := range set {
			if !f.following[from][u] {
				bad("%d's follower list has %d, but %d's follow list lacks %d", u, from, from, u)
			}
		}
	}

	// Every count equals its facts.
	likers := map[int64]int64{}
	for _, set := range f.favs {
		for vid := range set {
			likers[vid]++
		}
	}
	for _, vd := range w.videos {
		var listed map[string]any
		for _, x := range f.works[vd.author] {
			if num(x, "id") == vd.id {
				listed = x
			}
		}
		if listed == nil {
			bad("video %d is missing from its author's publish list", vd.id)
			continue
		}
		if got := num(listed, "favorite_count"); got != likers[vd.id] {
			bad("video %d: favorite_count %d, but %d users' favorite lists have it", vd.id, got, likers[vd.id])
		}
		visible := int64(len(f.top[vd.id]))
		for _, c := range f.top[vd.id] {
			n := int64(len(f.replies[num(c, "id")]))
			visible += n
			if got := num(c, "reply_count"); got != n {
				bad("comment %d on video %d: reply_count %d, but its thread lists %d replies", num(c, "id"), vd.id, got, n)
			}
		}
		if got := num(listed, "comment_count"); got != visible {
			bad("video %d: comment_count %d, but %d visible comments are listed", vd.id, got, visible)
		}
	}
	users := make([]int64, 0, len(f.info))
	for u := range f.info {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	for _, u := range users {
		info := f.info[u]
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
			if got := num(info, c.key); got != c.want {
				bad("user %d: %s %d, but the facts say %d", u, c.key, got, c.want)
			}
		}
	}
	return problems
}

// appliedAnyway returns when each write that got no success answer, but is
// present, was answered: allowed (the cluster may apply a write whose answer
// was lost, or that it reported as failed), and worth knowing, since a client
// that retries it makes a duplicate.
func appliedAnyway(f *facts, vus []*vuser) (comments, messages []time.Time) {
	texts := map[string]bool{}
	for _, top := range f.top {
		for _, c := range top {
			texts[str(c, "content")] = true
		}
	}
	for _, rs := range f.replies {
		for _, c := range rs {
			texts[str(c, "content")] = true
		}
	}
	chat := map[string]bool{}
	for _, msgs := range f.chats {
		for m := range msgs {
			chat[m] = true
		}
	}
	for _, v := range vus {
		for t, at := range v.unackedComments {
			if texts[t] {
				comments = append(comments, at)
			}
		}
		for m, u := range v.unackedMessages {
			if chat[m] {
				messages = append(messages, u.at)
			}
		}
	}
	return comments, messages
}
