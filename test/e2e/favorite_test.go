package e2e

// Favorite scenarios: likes, the favorite list and the counts likes feed. The
// scenarios over published videos (favScenario, favListScenario) take video ids,
// so they can run on videos from any source; TestFavoriteLikesOfPublishedVideos
// publishes them through the app's route.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

const (
	favActionPath = "/douyin/favorite/action/"
	favListPath   = "/douyin/favorite/list/"
	// favVideoNotFound is base.ErrCode_FavoriteVideoNotFound, as clients see it.
	favVideoNotFound = 12000
)

func favID(n int64) string { return strconv.FormatInt(n, 10) }

// favAction sends a like (action "1") or unlike ("2") the way the app does.
func favAction(t *testing.T, a account, videoID int64, action string) reply {
	t.Helper()
	return call(t, http.MethodPost, favActionPath, url.Values{"token": {a.Token}, "video_id": {favID(videoID)}, "action_type": {action}})
}

// favMustAction is favAction that must succeed.
func favMustAction(t *testing.T, a account, videoID int64, action string) {
	t.Helper()
	if r := favAction(t, a, videoID, action); r.HTTP != http.StatusOK || r.code() != 0 {
		t.Fatalf("favorite action %s on %d by %s: %s", action, videoID, a.Name, r.Raw)
	}
}

// favPage fetches one page of owner's favorite list as viewer sees it; count and
// cursor are left out when empty.
func favPage(t *testing.T, viewer account, owner int64, count, cursor string) reply {
	t.Helper()
	q := url.Values{"token": {viewer.Token}, "user_id": {favID(owner)}}
	if count != "" {
		q.Set("count", count)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return call(t, http.MethodGet, favListPath, q)
}

// favVideos returns the video_list of a success answer, failing on anything else,
// including a null list.
func favVideos(t *testing.T, r reply) []map[string]any {
	t.Helper()
	if r.HTTP != http.StatusOK || r.code() != 0 {
		t.Fatalf("favorite list: HTTP %d %s", r.HTTP, r.Raw)
	}
	raw, isList := r.Body["video_list"].([]any)
	if !isList {
		t.Fatalf("video_list is not a list: %s", r.Raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		m, isObj := v.(map[string]any)
		if !isObj {
			t.Fatalf("video_list[%d] is not an object: %s", i, r.Raw)
		}
		out[i] = m
	}
	return out
}

// favListAll follows next_cursor through owner's whole favorite list in pages of
// count and returns the video ids in order.
func favListAll(t *testing.T, viewer account, owner int64, count int) []int64 {
	t.Helper()
	var ids []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("favorite list paging does not end")
		}
		r := favPage(t, viewer, owner, strconv.Itoa(count), cursor)
		videos := favVideos(t, r)
		if len(videos) > count {
			t.Fatalf("page of %d videos for count %d", len(videos), count)
		}
		for _, v := range videos {
			ids = append(ids, favNum(v, "id"))
		}
		more, _ := r.Body["has_more"].(bool)
		next := r.str("next_cursor")
		if !more {
			if next != "" {
				t.Fatalf("last page carries next_cursor %q", next)
			}
			return ids
		}
		if next == "" {
			t.Fatalf("has_more without next_cursor: %s", r.Raw)
		}
		cursor = next
	}
}

func favNum(obj map[string]any, key string) int64 { f, _ := obj[key].(float64); return int64(f) }

// favUser fetches the User object of id as viewer sees it.
func favUser(t *testing.T, viewer account, id int64) map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, "/douyin/user/", url.Values{"token": {viewer.Token}, "user_id": {favID(id)}})
	u, isObj := r.Body["user"].(map[string]any)
	if r.code() != 0 || !isObj {
		t.Fatalf("user %d: %s", id, r.Raw)
	}
	return u
}

// favWantUser checks a user's likes given and received as viewer sees them.
func favWantUser(t *testing.T, viewer account, id, given, received int64) {
	t.Helper()
	u := favUser(t, viewer, id)
	if favNum(u, "favorite_count") != given || favNum(u, "total_favorited") != received {
		t.Fatalf("user %d: favorite_count %v total_favorited %v, want %d %d", id, u["favorite_count"], u["total_favorited"], given, received)
	}
}

// favWantEmptyFailure checks a failed favorite list still carries an empty list
// and the paging keys, as the app reads them on failure too.
func favWantEmptyFailure(t *testing.T, what string, r reply) {
	t.Helper()
	assertFailure(t, what, r)
	if l, isList := r.Body["video_list"].([]any); !isList || len(l) != 0 {
		t.Errorf("%s: failure must carry \"video_list\": [], got %s", what, r.Raw)
	}
	if more, _ := r.Body["has_more"].(bool); more || r.str("next_cursor") != "" {
		t.Errorf("%s: failure must not offer another page: %s", what, r.Raw)
	}
}

// favBadIDs are id parameters that must be refused before anything is looked up.
var favBadIDs = []struct{ name, value string }{
	{"empty", ""},
	{"non-numeric", "abc"},
	{"negative", "-5"},
	{"zero", "0"},
	{"2^53", strconv.FormatInt(1<<53, 10)},
	{"overflowing int64", "99999999999999999999999"},
	{"non-integral float", "1.5"},
	{"float 2^53", "9.007199254740992e+15"},
	{"float overflow", "1e300"},
	{"NaN", "NaN"},
	{"Inf", "Inf"},
	{"hex", "0x10"},
	{"spaces inside", "1 2"},
}

func TestFavoriteActionBadInput(t *testing.T) {
	a := register(t, uniqueName("favbad"), "secret-1")
	// A well-formed id that names no video.
	ghost := favID(a.ID + 1<<20)
	check := func(what string, q url.Values) {
		t.Helper()
		assertFailure(t, what, call(t, http.MethodPost, favActionPath, q))
		// The same parameters in a urlencoded body are refused too.
		assertFailure(t, what+" (form body)", callForm(t, favActionPath, q))
	}

	for name, tok := range map[string]string{"missing": "", "garbage": "not-a-token", "truncated": a.Token[:len(a.Token)-4]} {
		check("token "+name, url.Values{"token": {tok}, "video_id": {ghost}, "action_type": {"1"}})
	}
	check("video_id absent", url.Values{"token": {a.Token}, "action_type": {"1"}})
	for _, c := range favBadIDs {
		for _, action := range []string{"1", "2"} {
			check("video_id "+c.name+" action "+action, url.Values{"token": {a.Token}, "video_id": {c.value}, "action_type": {action}})
		}
	}
	check("action_type absent", url.Values{"token": {a.Token}, "video_id": {ghost}})
	for _, action := range []string{"", "0", "3", "-1", "abc", "1.0", "01x", "11", "like"} {
		check("action_type "+strconv.Quote(action), url.Values{"token": {a.Token}, "video_id": {ghost}, "action_type": {action}})
	}
	// Likes and unlikes of a video that does not exist are refused as such.
	for _, action := range []string{"1", "2"} {
		r := call(t, http.MethodPost, favActionPath, url.Values{"token": {a.Token}, "video_id": {ghost}, "action_type": {action}})
		if r.code() != favVideoNotFound || r.msg() == "" {
			t.Errorf("action %s on an unknown video: %s, want status_code %d", action, r.Raw, favVideoNotFound)
		}
	}

	// Nothing was written: no like given, an empty favorite list.
	favWantUser(t, a, a.ID, 0, 0)
	if v := favVideos(t, favPage(t, a, a.ID, "", "")); len(v) != 0 {
		t.Fatalf("refused likes left a favorite list of %d", len(v))
	}
}

func TestFavoriteListBadInput(t *testing.T) {
	a := register(t, uniqueName("favlist"), "secret-1")
	for name, tok := range map[string]string{"missing": "", "garbage": "not-a-token", "truncated": a.Token[:len(a.Token)-4]} {
		favWantEmptyFailure(t, "token "+name, call(t, http.MethodGet, favListPath, url.Values{"token": {tok}, "user_id": {favID(a.ID)}}))
	}
	for _, c := range favBadIDs {
		if c.value == "" || c.value == "0" {
			continue // absent and 0 mean the caller's own list
		}
		favWantEmptyFailure(t, "user_id "+c.name, call(t, http.MethodGet, favListPath, url.Values{"token": {a.Token}, "user_id": {c.value}}))
	}
	favWantEmptyFailure(t, "unknown user", favPage(t, a, a.ID+1<<20, "", ""))
	for _, count := range []string{"0", "-1", "abc", "1.5", "99999999999999999999"} {
		favWantEmptyFailure(t, "count "+count, favPage(t, a, a.ID, count, ""))
	}
	for _, cursor := range []string{"garbage", "!!!", "MTIzNA", "LTEuNQ", fmt.Sprintf("%0300d", 1)} {
		favWantEmptyFailure(t, "cursor "+cursor[:min(len(cursor), 20)], favPage(t, a, a.ID, "10", cursor))
	}
}

func TestFavoriteListEmpty(t *testing.T) {
	a := register(t, uniqueName("favempty"), "secret-1")
	b := register(t, uniqueName("favother"), "secret-1")
	for what, q := range map[string]url.Values{
		"own, user_id absent":   {"token": {a.Token}},
		"own, user_id 0":        {"token": {a.Token}, "user_id": {"0"}},
		"own, user_id as float": {"token": {a.Token}, "user_id": {strconv.FormatFloat(float64(a.ID), 'e', -1, 64)}},
		"another user's":        {"token": {a.Token}, "user_id": {favID(b.ID)}},
		"with count and paging": {"token": {a.Token}, "user_id": {favID(b.ID)}, "count": {"1000"}},
	} {
		for _, path := range []string{favListPath, favListPath[:len(favListPath)-1]} {
			r := call(t, http.MethodGet, path, q)
			if v := favVideos(t, r); len(v) != 0 {
				t.Fatalf("%s (%s): %d videos", what, path, len(v))
			}
			if more, isBool := r.Body["has_more"].(bool); !isBool || more || r.str("next_cursor") != "" || r.Body["next_cursor"] == nil {
				t.Fatalf("%s (%s): want has_more false and next_cursor \"\": %s", what, path, r.Raw)
			}
		}
	}
	if r := call(t, http.MethodGet, favActionPath, url.Values{"token": {a.Token}}); r.HTTP != http.StatusMethodNotAllowed {
		t.Fatalf("GET %s: HTTP %d, want 405", favActionPath, r.HTTP)
	}
	if r := call(t, http.MethodPost, favListPath, url.Values{"token": {a.Token}}); r.HTTP != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: HTTP %d, want 405", favListPath, r.HTTP)
	}
}

// favScenario exercises likes of a published video (videoID, by author) end to
// end: counts on the Video and on both Users after every step, idempotent repeats,
// the favorite list's order and paging, and concurrent likes ending exact. It needs
// a video from the publish route, so it runs from a test once publishing works;
// the author must have no other likes given or received.
func favScenario(t *testing.T, author account, videoID int64) {
	fan := register(t, uniqueName("fan"), "secret-1")
	watcher := register(t, uniqueName("watcher"), "secret-1")
	wantVideo := func(viewer account, count int64, liked bool) {
		t.Helper()
		videos := favVideos(t, favPage(t, viewer, fan.ID, "", ""))
		i := slices.IndexFunc(videos, func(v map[string]any) bool { return favNum(v, "id") == videoID })
		if count == 0 {
			if i >= 0 {
				t.Fatalf("video %d still in %s's favorite list", videoID, fan.Name)
			}
			return
		}
		if i < 0 {
			t.Fatalf("video %d missing from %s's favorite list", videoID, fan.Name)
		}
		v := videos[i]
		if favNum(v, "favorite_count") != count || v["is_favorite"] != liked {
			t.Fatalf("video seen by %s: favorite_count %v is_favorite %v, want %d %v", viewer.Name, v["favorite_count"], v["is_favorite"], count, liked)
		}
		if author, isObj := v["author"].(map[string]any); !isObj || favNum(author, "total_favorited") != count {
			t.Fatalf("video's author: %v, want total_favorited %d", v["author"], count)
		}
	}

	// Like twice: counted once.
	favMustAction(t, fan, videoID, "1")
	favMustAction(t, fan, videoID, "1")
	wantVideo(fan, 1, true)
	wantVideo(watcher, 1, false)
	favWantUser(t, watcher, fan.ID, 1, 0)
	favWantUser(t, watcher, author.ID, 0, 1)

	// Unlike twice, and an unlike by someone who never liked: nothing goes negative.
	favMustAction(t, fan, videoID, "2")
	favMustAction(t, fan, videoID, "2")
	favMustAction(t, watcher, videoID, "2")
	wantVideo(fan, 0, false)
	favWantUser(t, watcher, fan.ID, 0, 0)
	favWantUser(t, watcher, author.ID, 0, 0)
	favWantUser(t, watcher, watcher.ID, 0, 0)

	// The author likes their own video: given and received both count.
	favMustAction(t, author, videoID, "1")
	favWantUser(t, watcher, author.ID, 1, 1)
	if ids := favListAll(t, watcher, author.ID, 1); !slices.Equal(ids, []int64{videoID}) {
		t.Fatalf("author's favorite list = %v", ids)
	}
	favMustAction(t, author, videoID, "2")
	favWantUser(t, watcher, author.ID, 0, 0)

	// Many users like at once, some twice: the count is exact.
	const fans = 20
	crowd := make([]account, fans)
	for i := range crowd {
		crowd[i] = register(t, uniqueName("crowd"), "secret-1")
	}
	var wg sync.WaitGroup
	codes := make([]int64, 2*fans)
	for i := range 2 * fans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, http.MethodPost, favActionPath, url.Values{"token": {crowd[i%fans].Token}, "video_id": {favID(videoID)}, "action_type": {"1"}})
			codes[i] = r.code()
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Fatalf("concurrent like %d: status %d", i, c)
		}
	}
	favWantUser(t, watcher, author.ID, 0, fans)
	for _, c := range crowd[:fans/2] {
		favMustAction(t, c, videoID, "2")
	}
	favWantUser(t, watcher, author.ID, 0, fans-fans/2)
	for _, c := range crowd[fans/2:] {
		favMustAction(t, c, videoID, "2")
	}
	favWantUser(t, watcher, author.ID, 0, 0)
}

// favListScenario checks the favorite list's order and paging over published videos
// (at least three): most recently liked first, the same sequence whatever the page
// size, an unliked video gone, and a video liked again back on top.
func favListScenario(t *testing.T, videoIDs []int64) {
	if len(videoIDs) < 3 {
		t.Fatalf("favListScenario needs at least 3 videos, got %d", len(videoIDs))
	}
	fan := register(t, uniqueName("lister"), "secret-1")
	watcher := register(t, uniqueName("listwatch"), "secret-1")
	for _, id := range videoIDs {
		favMustAction(t, fan, id, "1")
	}
	want := slices.Clone(videoIDs)
	slices.Reverse(want)
	for _, count := range []int{1, 2, len(want) - 1, len(want), 100} {
		if got := favListAll(t, watcher, fan.ID, count); !slices.Equal(got, want) {
			t.Fatalf("pages of %d = %v, want %v", count, got, want)
		}
	}
	favWantUser(t, watcher, fan.ID, int64(len(want)), 0)

	// Unlike the oldest, then like it again: it leaves the list and comes back on top.
	oldest := videoIDs[0]
	favMustAction(t, fan, oldest, "2")
	if got := favListAll(t, watcher, fan.ID, 2); !slices.Equal(got, want[:len(want)-1]) {
		t.Fatalf("after unlike = %v, want %v", got, want[:len(want)-1])
	}
	favMustAction(t, fan, oldest, "1")
	want = append([]int64{oldest}, want[:len(want)-1]...)
	if got := favListAll(t, watcher, fan.ID, 2); !slices.Equal(got, want) {
		t.Fatalf("after like again = %v, want %v", got, want)
	}
	// Every listed video is a full Video object with the viewer's own flag.
	for _, v := range favVideos(t, favPage(t, watcher, fan.ID, "", "")) {
		for _, k := range []string{"id", "author", "play_url", "cover_url", "favorite_count", "comment_count", "is_favorite", "title"} {
			if _, present := v[k]; !present {
				t.Fatalf("video lacks %q: %v", k, v)
			}
		}
		if v["is_favorite"] != false || favNum(v, "favorite_count") < 1 {
			t.Fatalf("video seen by a watcher who liked nothing: %v", v)
		}
	}
	for _, id := range videoIDs {
		favMustAction(t, fan, id, "2")
	}
	favWantUser(t, watcher, fan.ID, 0, 0)
}

func TestFavoriteLikesOfPublishedVideos(t *testing.T) {
	author := register(t, uniqueName("favauthor"), "secret-1")
	data := testenv.Clip(t)
	for i := range 3 {
		if r := publish(t, author, fmt.Sprintf("favorite %d", i), data); r.code() != 0 {
			t.Fatalf("publish %d: %s", i, r.Raw)
		}
	}
	pl := call(t, http.MethodGet, "/douyin/publish/list/", url.Values{"token": {author.Token}, "user_id": {favID(author.ID)}})
	videos := favVideos(t, pl)
	if len(videos) != 3 {
		t.Fatalf("publish list: %s", pl.Raw)
	}
	ids := make([]int64, len(videos))
	for i, v := range videos {
		ids[len(ids)-1-i] = favNum(v, "id") // the list is newest first
	}
	t.Run("counts", func(t *testing.T) { favScenario(t, author, ids[0]) })
	t.Run("list", func(t *testing.T) { favListScenario(t, ids) })
}
