package e2e

// Feed scenarios: the following timeline a logged-in user gets (push through the
// fan-out consumer, backfill on follow, removal on unfollow), its fall-through
// into the global timeline, and type=following|global.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// feedDeadline bounds how long an event consumer may take to update an inbox.
const feedDeadline = 30 * time.Second

// feedIDs returns the video ids of one feed page and its next_time.
func feedIDs(t *testing.T, params url.Values) ([]int64, int64) {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/feed/", params)
	if r.code() != 0 {
		t.Fatalf("feed %v: %s", params, r.Raw)
	}
	if _, ok := r.Body["video_list"].([]any); !ok {
		t.Fatalf("feed %v: video_list is not a list: %s", params, r.Raw)
	}
	var ids []int64
	for _, v := range list(r, "video_list") {
		ids = append(ids, id(v))
	}
	return ids, r.num("next_time")
}

// pollFeed re-reads a feed page until ok accepts it or the deadline passes.
func pollFeed(t *testing.T, what string, params url.Values, ok func(ids []int64) bool) []int64 {
	t.Helper()
	deadline := time.Now().Add(feedDeadline)
	for {
		ids, _ := feedIDs(t, params)
		if ok(ids) {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after %v", what, ids, feedDeadline)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestFollowingFeed(t *testing.T) {
	author := register(t, uniqueName("fauthor"), "secret-1")
	viewer := register(t, uniqueName("fviewer"), "secret-2")
	stranger := register(t, uniqueName("fstranger"), "secret-3")
	data := testenv.Clip(t)
	relate := func(action string) {
		t.Helper()
		r := call(t, http.MethodPost, "/douyin/relation/action/", url.Values{"token": {viewer.Token},
			"to_user_id": {strconv.FormatInt(author.ID, 10)}, "action_type": {action}})
		if r.code() != 0 {
			t.Fatalf("relation action %s: %s", action, r.Raw)
		}
	}
	pub := func(a account, title string) int64 {
		t.Helper()
		r := publish(t, a, title, data)
		if r.code() != 0 {
			t.Fatalf("publish: %s", r.Raw)
		}
		ids, _ := feedIDs(t, url.Values{"token": {a.Token}, "type": {"following"}})
		if len(ids) == 0 {
			t.Fatalf("the publisher's own following feed is empty after publishing")
		}
		return ids[0] // the publisher's own newest video, at once
	}

	older := pub(stranger, "older, by a stranger")
	relate("1")
	followed := pub(author, "by the followed author")
	newer := pub(stranger, "newer, by a stranger")

	tok := url.Values{"token": {viewer.Token}}
	following := url.Values{"token": {viewer.Token}, "type": {"following"}}
	global := url.Values{"token": {viewer.Token}, "type": {"global"}}

	// Pushed into the viewer's inbox by the fan-out consumer.
	pollFeed(t, "following feed after publish", following, func(ids []int64) bool { return slices.Equal(ids, []int64{followed}) })
	// Logged in without type: the following timeline first, then the global
	// one strictly before it, so the newer stranger video is passed over and
	// the older one follows.
	ids, _ := feedIDs(t, tok)
	if len(ids) < 2 || ids[0] != followed || ids[1] != older {
		t.Fatalf("logged-in feed = %v, want [%d %d ...]", ids, followed, older)
	}
	if slices.Contains(ids, newer) {
		t.Fatalf("logged-in feed %v repeats or reorders the global timeline", ids)
	}
	// type=global and anonymous: plain recency.
	for _, p := range []url.Values{global, nil, {"token": {"not-a-token"}}} {
		if ids, _ := feedIDs(t, p); len(ids) < 3 || !slices.Contains(ids, newer) || slices.Index(ids, newer) > slices.Index(ids, followed) ||
			slices.Index(ids, followed) > slices.Index(ids, older) {
			t.Fatalf("global feed (%v) = %v, want %d before %d before %d", p, ids, newer, followed, older)
		}
	}

	// Paging the logged-in feed by next_time alone never repeats a video.
	seen := map[int64]bool{}
	latest := int64(0)
	for page := 0; page < 50; page++ {
		p := url.Values{"token": {viewer.Token}}
		if latest != 0 {
			p.Set("latest_time", strconv.FormatInt(latest, 10))
		}
		ids, next := feedIDs(t, p)
		if len(ids) == 0 {
			break
		}
		for _, v := range ids {
			if seen[v] {
				t.Fatalf("video %d repeated on page %d", v, page)
			}
			seen[v] = true
		}
		latest = next
	}
	if !seen[followed] || !seen[older] {
		t.Fatalf("paging lost videos: followed %v, older %v", seen[followed], seen[older])
	}

	// Unfollowing removes the author's videos from the following timeline; the
	// logged-in feed is then the global one.
	relate("2")
	pollFeed(t, "following feed after unfollow", following, func(ids []int64) bool { return len(ids) == 0 })
	pollFeed(t, "logged-in feed after unfollow", tok, func(ids []int64) bool { return len(ids) > 0 && ids[0] != followed })

	// Following again backfills the author's recent videos.
	relate("1")
	pollFeed(t, "following feed after follow", following, func(ids []int64) bool { return slices.Equal(ids, []int64{followed}) })

	// Bad type: a business error with the empty list, not a 5xx.
	r := call(t, http.MethodGet, "/douyin/feed/", url.Values{"token": {viewer.Token}, "type": {"friends"}})
	if r.code() == 0 || r.HTTP != http.StatusOK {
		t.Fatalf("type=friends: %d %s", r.HTTP, r.Raw)
	}
	if l, ok := r.Body["video_list"].([]any); !ok || len(l) != 0 {
		t.Fatalf("type=friends: video_list %s", r.Raw)
	}
}
