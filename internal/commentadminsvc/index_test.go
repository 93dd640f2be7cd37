package commentadminsvc

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

const (
	visible  = comment.CommentState_Visible
	pending  = comment.CommentState_Pending
	rejected = comment.CommentState_Rejected
	deleted  = comment.CommentState_Deleted
)

func openTestIndex(t testing.TB) *Index {
	t.Helper()
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func upsert(t testing.TB, x *Index, docs ...Doc) {
	t.Helper()
	if err := x.Upsert(docs...); err != nil {
		t.Fatal(err)
	}
}

func find(t testing.TB, x *Index, q Query) Result {
	t.Helper()
	res, err := x.Search(q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func idsOf(docs []Doc) []int64 {
	ids := make([]int64, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids
}

// matchIDs returns the ids matching q, sorted ascending, checking that Total
// agrees with the page.
func matchIDs(t testing.TB, x *Index, q Query) []int64 {
	t.Helper()
	q.Limit = MaxLimit
	res := find(t, x, q)
	if res.Total != int64(len(res.Docs)) {
		t.Fatalf("Search(%q): total %d, %d docs", q.Q, res.Total, len(res.Docs))
	}
	ids := idsOf(res.Docs)
	slices.Sort(ids)
	return ids
}

func TestSearchChinese(t *testing.T) {
	x := openTestIndex(t)
	contents := []string{
		1: "这个UP主真棒",
		2: "主持人好",
		3: "今天天气不错",
		4: "Hello World 你好",
		5: "up主来了",
	}
	for id, c := range contents[1:] {
		upsert(t, x, Doc{ID: int64(id + 1), VideoID: 7, UserID: 9, Content: c, State: visible, CreateTime: int64(1000 + id)})
	}

	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"UP主", []int64{1, 5}},
		{"up主", []int64{1, 5}},
		{"Up主", []int64{1, 5}},
		{"ＵＰ主", []int64{1, 5}}, // full-width Latin folds
		{"主", []int64{1, 2, 5}},
		{"天气", []int64{3}},
		{"天", []int64{3}},
		{"hello", []int64{4}},
		{"HELLO", []int64{4}},
		{"你好", []int64{4}},
		{"不错", []int64{3}},
		{"棒", []int64{1}},
		{"好", []int64{2, 4}},
		{"主持", []int64{2}},
		{"主持人好", []int64{2}},
		{"今天天气不错", []int64{3}},
		{"天气不错", []int64{3}},
		{"天天", []int64{3}},
		{"UP主真棒", []int64{1}},
		{"这个UP主", []int64{1}},
		{"主真", []int64{1}},
		{"hello 你好", []int64{4}},    // two words, both must match
		{"world hello", []int64{4}}, // word order does not matter
		{"hello 天气", nil},           // both must match
		{"气不错今", nil},               // not a substring of anything
		{"主来", []int64{5}},
		{"up", []int64{1, 5}},
		{"u", nil}, // Latin words match whole
		{"人", []int64{2}},
		{"今天 不错", []int64{3}},
	} {
		if got := matchIDs(t, x, Query{Q: tc.q}); !slices.Equal(got, tc.want) {
			t.Errorf("q %q: got %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestSearchChineseEdges(t *testing.T) {
	x := openTestIndex(t)
	contents := []string{
		1: "今天天气，不错",     // punctuation between the words
		2: "カタカナです",      // a Katakana word is one Unicode word
		3: "ｈｅｌｌｏ ＷＯＲＬＤ", // full-width Latin
		4: "2024年看了10遍",
		5: "don't stop",
		6: "天气不错",
		7: "天气，气象",
	}
	for id, c := range contents[1:] {
		upsert(t, x, Doc{ID: int64(id + 1), Content: c, State: visible, CreateTime: 1})
	}
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"天气不错", []int64{6}},     // a phrase does not cross the comma
		{"天气，不错", []int64{1, 6}}, // two words, each anywhere
		{"天气 不错", []int64{1, 6}},
		{"气，不", []int64{1, 6}}, // 气 and 不 each as a character
		{"タ", []int64{2}},
		{"タカ", []int64{2}},
		{"カタカナ", []int64{2}},
		{"ナで", []int64{2}},
		{"hello", []int64{3}},
		{"World", []int64{3}},
		{"2024年", []int64{4}},
		{"2024", []int64{4}},
		{"年看", []int64{4}},
		{"10遍", []int64{4}},
		{"don't", []int64{5}},
		{"DON'T STOP", []int64{5}},
		{`"天气"`, []int64{1, 6, 7}}, // quotes are not syntax
		{"天气!", []int64{1, 6, 7}},
		{"气象", []int64{7}},
		{"天气象", nil}, // not across the comma of "天气，气象"
	} {
		if got := matchIDs(t, x, Query{Q: tc.q}); !slices.Equal(got, tc.want) {
			t.Errorf("q %q: got %v, want %v", tc.q, got, tc.want)
		}
	}
}

// testCorpus is a deterministic set of comments over three videos, four users,
// all states and a time range with ties, for checking searches against a
// reference filter written in plain Go.
func testCorpus(n int) []Doc {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"天气", "不错", "主持人", "你好", "视频", "哈哈", "UP主", "hello", "good", "好看"}
	seps := []string{"", " ", "，", "!"}
	states := []comment.CommentState{visible, pending, rejected, deleted}
	docs := make([]Doc, n)
	for i := range docs {
		var b strings.Builder
		for k := rng.IntN(4) + 1; k > 0; k-- {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		docs[i] = Doc{
			ID:         int64(1000 + i),
			VideoID:    int64(1 + rng.IntN(3)),
			UserID:     int64(10 + rng.IntN(4)),
			UserName:   "user" + strconv.Itoa(i%4),
			Content:    b.String(),
			State:      states[rng.IntN(len(states))],
			RootID:     int64(rng.IntN(3)) * 1000, // 0 (top level) or a thread
			Floor:      int64(i + 1),
			LikeCount:  int64(rng.IntN(50)),
			CreateTime: 1_700_000_000_000 + int64(i/3)*1000, // three comments per second
			Version:    int64(1 + rng.IntN(5)),
		}
	}
	return docs
}

// reference answers q over docs the slow way: filters, substring for the
// (Chinese) query word, newest first.
func reference(docs []Doc, q Query) []Doc {
	var out []Doc
	for _, d := range docs {
		if (q.VideoID != 0 && d.VideoID != q.VideoID) ||
			(q.UserID != 0 && d.UserID != q.UserID) ||
			(q.State != 0 && d.State != q.State) ||
			(q.RootID != 0 && d.RootID != q.RootID) ||
			(q.From != 0 && d.CreateTime < q.From) ||
			(q.To != 0 && d.CreateTime >= q.To) ||
			(q.Q != "" && !strings.Contains(d.Content, q.Q)) {
			continue
		}
		out = append(out, d)
	}
	sortNewest(out)
	return out
}

func sortNewest(docs []Doc) {
	slices.SortFunc(docs, func(a, b Doc) int {
		return cmp.Or(cmp.Compare(b.CreateTime, a.CreateTime), cmp.Compare(b.ID, a.ID))
	})
}

// sortModes runs f once with Search sorting every match and once with the
// time windows it uses on large results, forced on small ones.
func sortModes(t *testing.T, x *Index, f func(t *testing.T)) {
	for _, m := range []struct {
		name  string
		under uint64
	}{{"sort all", math.MaxUint64}, {"windows", 0}} {
		t.Run(m.name, func(t *testing.T) {
			x.sortAllUnder = m.under
			f(t)
		})
	}
	x.sortAllUnder = sortAllUnder
}

// checkQuery compares one page of a search with the reference answer.
func checkQuery(t *testing.T, x *Index, docs []Doc, q Query) int {
	t.Helper()
	want := reference(docs, q)
	got := find(t, x, q)
	if got.Total != int64(len(want)) {
		t.Fatalf("%+v: total %d, want %d", q, got.Total, len(want))
	}
	limit := cmp.Or(q.Limit, DefaultLimit)
	want = want[min(len(want), q.Offset):min(len(want), q.Offset+limit)]
	if !slices.Equal(got.Docs, want) {
		t.Fatalf("%+v:\ngot  %v\nwant %v", q, idsOf(got.Docs), idsOf(want))
	}
	return len(want)
}

func TestSearchFilters(t *testing.T) {
	x := openTestIndex(t)
	docs := testCorpus(600)
	upsert(t, x, docs...)

	mid := docs[len(docs)/2].CreateTime
	ranges := [][2]int64{{0, 0}, {mid, 0}, {0, mid}, {docs[100].CreateTime, docs[400].CreateTime}, {mid, mid}}
	sortModes(t, x, func(t *testing.T) {
		checked := 0
		for _, video := range []int64{0, 1, 2} {
			for _, state := range []comment.CommentState{0, visible, pending} {
				for _, q := range []string{"", "天气", "视频", "主持人"} {
					for _, r := range ranges {
						for _, root := range []int64{0, 1000} {
							for _, page := range [][2]int{{0, 50}, {30, 7}} {
								checked += checkQuery(t, x, docs, Query{Q: q, VideoID: video, State: state,
									From: r[0], To: r[1], RootID: root, Offset: page[0], Limit: page[1]})
							}
						}
					}
				}
			}
		}
		if checked == 0 {
			t.Fatal("no query matched anything: the corpus does not exercise the filters")
		}
		// A user filter too, and filters that match nothing.
		for _, q := range []Query{{UserID: 11, Q: "你好"}, {UserID: 12, State: rejected, VideoID: 3}, {UserID: 99}, {VideoID: 1, State: 9}} {
			q.Limit = 100
			checkQuery(t, x, docs, q)
		}
	})
}

// TestSearchSkewedTimes checks the time windows where matches crowd at one
// end of the index's time range or sit at its extremes.
func TestSearchSkewedTimes(t *testing.T) {
	x := openTestIndex(t)
	var docs []Doc
	add := func(video int64, n int, t0, step int64) {
		for i := 0; i < n; i++ {
			docs = append(docs, Doc{ID: int64(len(docs) + 1), VideoID: video, Content: "评论", State: visible,
				CreateTime: t0 + int64(i)*step, Version: 1})
		}
	}
	add(1, 300, 1_700_000_000_000, 1000)  // recent, dense
	add(2, 40, 1_000_000_000_000, 86_400) // old
	add(3, 30, 1_700_000_000_000, 0)      // all in the same millisecond
	add(4, 3, -5, 5)                      // around 0
	docs = append(docs,
		Doc{ID: 1000, VideoID: 5, Content: "远古", CreateTime: math.MinInt64, Version: 1},
		Doc{ID: 1001, VideoID: 5, Content: "未来", CreateTime: math.MaxInt64, Version: 1})
	upsert(t, x, docs...)
	sortModes(t, x, func(t *testing.T) {
		for _, video := range []int64{0, 1, 2, 3, 4, 5} {
			for _, page := range [][2]int{{0, 1}, {0, 20}, {5, 3}, {25, 10}, {290, 100}} {
				for _, r := range [][2]int64{{0, 0}, {1_000_000_000_000, 0}, {0, 1_700_000_000_000}, {-3, 1}} {
					checkQuery(t, x, docs, Query{VideoID: video, Offset: page[0], Limit: page[1], From: r[0], To: r[1]})
				}
			}
		}
	})
}

func TestSearchSortAndPaging(t *testing.T) {
	x := openTestIndex(t)
	docs := testCorpus(250)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
	for i := 0; i < len(docs); i += 37 { // several batches, in random order
		upsert(t, x, docs[i:min(i+37, len(docs))]...)
	}
	want := slices.Clone(docs)
	sortNewest(want)

	sortModes(t, x, func(t *testing.T) {
		var got []Doc
		for off := 0; ; off += 7 {
			res := find(t, x, Query{Offset: off, Limit: 7})
			if res.Total != int64(len(docs)) {
				t.Fatalf("offset %d: total %d, want %d", off, res.Total, len(docs))
			}
			if len(res.Docs) == 0 {
				break
			}
			got = append(got, res.Docs...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged order differs:\ngot  %v\nwant %v", idsOf(got), idsOf(want))
		}

		for _, tc := range []struct {
			q    Query
			want int
		}{
			{Query{}, DefaultLimit},
			{Query{Limit: -5}, DefaultLimit},
			{Query{Limit: 1}, 1},
			{Query{Limit: 1000}, MaxLimit},
			{Query{Offset: -10, Limit: 3}, 3},
			{Query{Offset: 245, Limit: 10}, 5},
			{Query{Offset: 5000}, 0},
		} {
			res := find(t, x, tc.q)
			if len(res.Docs) != tc.want || res.Total != int64(len(docs)) {
				t.Errorf("%+v: %d docs of %d, want %d", tc.q, len(res.Docs), res.Total, tc.want)
			}
			first := max(tc.q.Offset, 0)
			if len(res.Docs) > 0 && res.Docs[0] != want[first] {
				t.Errorf("%+v: first doc %d, want %d", tc.q, res.Docs[0].ID, want[first].ID)
			}
		}
	})
}

func TestSearchDeepPage(t *testing.T) {
	x := openTestIndex(t)
	upsert(t, x, Doc{ID: 1, Content: "你好", CreateTime: 1})
	for _, q := range []Query{
		{Offset: MaxWindow},
		{Offset: MaxWindow - 19}, // + the default 20
		{Offset: MaxWindow - 50, Limit: 100},
		{Offset: int(^uint(0) >> 1)}, // would overflow offset+limit
	} {
		_, err := x.Search(q)
		if err != ErrDeepPage || !errors.Is(err, ErrDeepPage) {
			t.Errorf("%+v: err %v, want ErrDeepPage", q, err)
		}
	}
	if res := find(t, x, Query{Offset: MaxWindow - 20}); res.Total != 1 || len(res.Docs) != 0 {
		t.Errorf("last allowed page: %+v", res)
	}
}

func TestIndexUpsertVersions(t *testing.T) {
	x := openTestIndex(t)
	get := func(id int64) Doc {
		t.Helper()
		d, ok, err := x.Get(id)
		if err != nil || !ok {
			t.Fatalf("Get(%d): %v %v", id, ok, err)
		}
		return d
	}
	v1 := Doc{ID: 42, VideoID: 1, UserID: 2, UserName: "小明", Content: "第一版内容", State: pending, CreateTime: 5, Version: 1}
	upsert(t, x, v1)
	upsert(t, x, v1) // redelivery
	if n, _ := x.Count(); n != 1 {
		t.Fatalf("count %d after redelivery", n)
	}
	if got := get(42); got != v1 {
		t.Fatalf("got %+v", got)
	}

	v3 := v1
	v3.Content, v3.State, v3.LikeCount, v3.Version = "第三版内容", visible, 7, 3
	v2 := v1
	v2.Content, v2.State, v2.Version = "第二版内容", rejected, 2
	upsert(t, x, v3)
	upsert(t, x, v2) // late: ignored
	upsert(t, x, v1) // very late: ignored
	if got := get(42); got != v3 {
		t.Fatalf("after late events: %+v", got)
	}
	if ids := matchIDs(t, x, Query{Q: "第二版"}); len(ids) != 0 {
		t.Fatalf("older content still searchable: %v", ids)
	}
	if ids := matchIDs(t, x, Query{Q: "三版", State: visible}); !slices.Equal(ids, []int64{42}) {
		t.Fatalf("newest content not searchable: %v", ids)
	}

	// Equal version overwrites; version 0 (unknown) never replaces a versioned copy.
	v3b := v3
	v3b.LikeCount = 8
	upsert(t, x, v3b)
	if got := get(42); got != v3b {
		t.Fatalf("equal version did not overwrite: %+v", got)
	}
	v0 := v3b
	v0.Version, v0.Content = 0, "无版本"
	upsert(t, x, v0)
	if got := get(42); got != v3b {
		t.Fatalf("version 0 replaced a versioned copy: %+v", got)
	}

	// An event without a user name keeps the indexed name.
	v4 := v3b
	v4.UserName, v4.State, v4.Version = "", deleted, 4
	upsert(t, x, v4)
	want := v4
	want.UserName = "小明"
	if got := get(42); got != want {
		t.Fatalf("name not kept: %+v", got)
	}

	// Within one batch the highest version wins, whatever the order.
	a := Doc{ID: 7, Content: "甲", CreateTime: 1, Version: 5, UserName: "阿"}
	b := a
	b.Content, b.Version, b.UserName = "乙", 4, ""
	c := a
	c.Content, c.Version, c.UserName = "丙", 5, ""
	upsert(t, x, a, b, c)
	wantC := c
	wantC.UserName = "阿"
	if got := get(7); got != wantC {
		t.Fatalf("batch: %+v", got)
	}
	if n, _ := x.Count(); n != 2 {
		t.Fatalf("count %d", n)
	}

	// Invalid ids are refused, and the batch with them is not applied.
	for _, id := range []int64{0, -1, 1 << 53} {
		if err := x.Upsert(Doc{ID: 99, Version: 1}, Doc{ID: id}); err == nil {
			t.Errorf("id %d accepted", id)
		}
	}
	if _, ok, _ := x.Get(99); ok {
		t.Error("a refused batch was partly applied")
	}
}

func TestIndexPatch(t *testing.T) {
	x := openTestIndex(t)
	ok, err := x.Patch(5, 1, func(d *Doc) { d.LikeCount = 1 })
	if ok || err != nil {
		t.Fatalf("unknown doc: %v %v", ok, err)
	}
	upsert(t, x, Doc{ID: 5, UserName: "小红", Content: "原文", State: visible, CreateTime: 9, Version: 3})

	ok, err = x.Patch(5, 4, func(d *Doc) { d.LikeCount, d.ID = 10, 6 })
	if !ok || err != nil {
		t.Fatalf("newer patch: %v %v", ok, err)
	}
	want := Doc{ID: 5, UserName: "小红", Content: "原文", State: visible, CreateTime: 9, LikeCount: 10, Version: 4}
	if got, _, _ := x.Get(5); got != want {
		t.Fatalf("after patch: %+v", got)
	}
	ok, err = x.Patch(5, 2, func(d *Doc) { d.LikeCount = 0 })
	if !ok || err != nil { // known, and already newer: nothing to do
		t.Fatalf("stale patch: %v %v", ok, err)
	}
	if got, _, _ := x.Get(5); got != want {
		t.Fatalf("stale patch applied: %+v", got)
	}
	if _, ok, _ := x.Get(6); ok {
		t.Fatal("patch changed the id")
	}
}

func TestIndexLargeIDs(t *testing.T) {
	x := openTestIndex(t)
	const top = 1<<53 - 1
	docs := []Doc{
		{ID: top, VideoID: 1<<62 + 1, UserID: top, Content: "甲", CreateTime: 100, Version: 1},
		{ID: top - 1, VideoID: 1 << 62, UserID: top - 1, Content: "乙", CreateTime: 100, Version: 1},
		{ID: top - 2, VideoID: 1<<62 + 1, RootID: top, ParentID: top, Content: "丙", CreateTime: 100, Version: 1},
	}
	upsert(t, x, docs...)
	res := find(t, x, Query{})
	if !slices.Equal(res.Docs, docs) { // same time: id descending, exactly
		t.Fatalf("got %+v", res.Docs)
	}
	for _, tc := range []struct {
		q    Query
		want []int64
	}{
		{Query{VideoID: 1<<62 + 1}, []int64{top - 2, top}},
		{Query{VideoID: 1 << 62}, []int64{top - 1}},
		{Query{UserID: top - 1}, []int64{top - 1}},
		{Query{RootID: top}, []int64{top - 2}},
	} {
		if got := matchIDs(t, x, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestIndexReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs := testCorpus(300)
	upsert(t, x, docs[:150]...)
	upsert(t, x, docs[150:]...)
	before := find(t, x, Query{Q: "天气", Limit: 100})
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	x, err = OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.Count(); err != nil || n != 300 {
		t.Fatalf("count %d %v after reopen", n, err)
	}
	after := find(t, x, Query{Q: "天气", Limit: 100})
	if before.Total == 0 || after.Total != before.Total || !slices.Equal(after.Docs, before.Docs) {
		t.Fatalf("search changed across reopen: %d → %d", before.Total, after.Total)
	}
	if x.oldest.Load() != docs[0].CreateTime || x.newest.Load() != docs[len(docs)-1].CreateTime {
		t.Fatalf("time range after reopen: %d..%d", x.oldest.Load(), x.newest.Load())
	}
	sortModes(t, x, func(t *testing.T) {
		for _, off := range []int{0, 50, 250} {
			checkQuery(t, x, docs, Query{Offset: off, Limit: 30})
			checkQuery(t, x, docs, Query{Q: "天气", Offset: off, Limit: 30})
		}
	})
	// Versions survive too: a late event is still ignored.
	late := docs[0]
	late.Version, late.Content = 0, "迟到"
	upsert(t, x, late)
	if got, _, _ := x.Get(docs[0].ID); got != docs[0] {
		t.Fatalf("late event applied after reopen: %+v", got)
	}
}

// TestIndexSurvivesKill indexes in a child process, kills it with SIGKILL in the
// middle of writing, and checks that every batch the child saw acknowledged is
// in the reopened index.
func TestIndexSurvivesKill(t *testing.T) {
	if dir := os.Getenv("MDOUYIN_TEST_INDEX_KILL_DIR"); dir != "" {
		killChild(dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "index")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexSurvivesKill$")
	cmd.Env = append(os.Environ(), "MDOUYIN_TEST_INDEX_KILL_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 30 {
				break
			}
		}
	}
	cmd.Process.Kill() // SIGKILL, while the child is writing its next batch
	cmd.Wait()
	if acked < 30 {
		t.Fatalf("child acknowledged only %d batches", acked)
	}

	x, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer x.Close()
	n, err := x.Count()
	if err != nil || n < uint64((acked+1)*killBatch) {
		t.Fatalf("count %d (%v), want at least %d", n, err, (acked+1)*killBatch)
	}
	for b := 0; b <= acked; b++ {
		id := int64(b*killBatch + killBatch) // the last doc of the batch
		d, ok, err := x.Get(id)
		if err != nil || !ok || d.Content != killContent(id) {
			t.Fatalf("batch %d lost: %+v %v %v", b, d, ok, err)
		}
	}
	if res := find(t, x, Query{Q: "批次"}); res.Total < int64((acked+1)*killBatch) {
		t.Fatalf("search finds %d docs", res.Total)
	}
}

const killBatch = 50

func killContent(id int64) string { return fmt.Sprintf("批次内容 %d", id) }

// killChild writes batches forever, announcing each once Upsert returned.
func killChild(dir string) {
	x, err := OpenIndex(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for b := 0; ; b++ {
		docs := make([]Doc, killBatch)
		for i := range docs {
			id := int64(b*killBatch + i + 1)
			docs[i] = Doc{ID: id, Content: killContent(id), CreateTime: id, Version: 1}
		}
		if err := x.Upsert(docs...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", b)
	}
}

func TestIndexOpenBroken(t *testing.T) {
	build := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "index")
		x, err := OpenIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		upsert(t, x, testCorpus(50)...)
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	wantUnusable := func(t *testing.T, dir string) {
		t.Helper()
		x, err := OpenIndex(dir)
		if err == nil {
			x.Close()
			t.Fatal("opened")
		}
		if !errors.Is(err, ErrIndexUnusable) || !strings.Contains(err.Error(), "mdouyin reindex") {
			t.Fatalf("error does not say what to do: %v", err)
		}
	}

	t.Run("meta garbage", func(t *testing.T) {
		dir := build(t)
		if err := os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("\x00garbage{"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantUnusable(t, dir)
	})
	t.Run("root garbage", func(t *testing.T) {
		dir := build(t)
		if err := os.WriteFile(filepath.Join(dir, "store", "root.bolt"), []byte(strings.Repeat("garbage", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		wantUnusable(t, dir)
	})
	t.Run("segment missing", func(t *testing.T) {
		dir := build(t)
		segs, _ := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		if len(segs) == 0 {
			t.Fatal("no segment files")
		}
		for _, s := range segs {
			os.Remove(s)
		}
		wantUnusable(t, dir)
	})
	t.Run("segment truncated", func(t *testing.T) {
		dir := build(t)
		segs, _ := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		if len(segs) == 0 {
			t.Fatal("no segment files")
		}
		for _, s := range segs {
			fi, err := os.Stat(s)
			if err != nil {
				t.Fatal(err)
			}
			os.Truncate(s, fi.Size()/2)
		}
		wantUnusable(t, dir)
	})
	t.Run("other schema", func(t *testing.T) {
		dir := build(t)
		x, err := OpenIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		x.idx.SetInternal([]byte(schemaKey), []byte("0"))
		x.Close()
		wantUnusable(t, dir)
	})
	t.Run("meta missing", func(t *testing.T) {
		dir := build(t)
		if err := os.Remove(filepath.Join(dir, "index_meta.json")); err != nil {
			t.Fatal(err)
		}
		wantUnusable(t, dir)
	})
	t.Run("in use", func(t *testing.T) {
		dir := build(t)
		x, err := OpenIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		wantUnusable(t, dir) // waits out the lock timeout
	})
	t.Run("removed and rebuilt", func(t *testing.T) {
		dir := build(t)
		os.WriteFile(filepath.Join(dir, "store", "root.bolt"), []byte("garbage"), 0o600)
		os.WriteFile(filepath.Join(dir, "replica"), []byte("name\n"), 0o600)
		wantUnusable(t, dir)
		if err := RemoveIndex(dir); err != nil {
			t.Fatal(err)
		}
		x, err := OpenIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if n, err := x.Count(); err != nil || n != 0 {
			t.Fatalf("rebuilt index holds %d (%v)", n, err)
		}
		upsert(t, x, Doc{ID: 1, Content: "重建", CreateTime: 1})
		if got := matchIDs(t, x, Query{Q: "重建"}); !slices.Equal(got, []int64{1}) {
			t.Fatalf("got %v", got)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "replica")); err != nil || string(b) != "name\n" {
			t.Fatalf("other files not kept: %q %v", b, err)
		}
	})
	t.Run("fresh dir with other files", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "replica"), []byte("name\n"), 0o600)
		x, err := OpenIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		upsert(t, x, Doc{ID: 1, Content: "新的", CreateTime: 1})
		if got := matchIDs(t, x, Query{Q: "新的"}); !slices.Equal(got, []int64{1}) {
			t.Fatalf("got %v", got)
		}
	})
}

// hostileQueries are moderator inputs that must neither fail nor panic.
var hostileQueries = []string{
	"", " ", "\t\n \u3000", `+-&&||!(){}[]^"~*?:\/`, `"`, `"天气`, `(天气`, `天气)`, `[1 TO *]`,
	`title:天气`, `content:*`, `*`, `?`, `~`, `天气~2`, `天气^10`, `/.*/`, `\`, `\\`, `a AND b OR NOT c`,
	`-天气`, `+天气 -不错`, `<script>alert(1)</script>`, `'; DROP TABLE comments; --`, "\x00", "\xff\xfe\xfd",
	"天\xff气", "\xe5\xa4", "😀😀😀", "🇨🇳", "é", "ｕｐ主", "Ω≈ç√∫", "٩(◕‿◕｡)۶", "𠮷野家", "\u200b\u200d", "\ufeff天气",
	strings.Repeat("a", 100_000), strings.Repeat("天", 10_000), strings.Repeat("天气 ", 5_000),
	strings.Repeat("(", 10_000), strings.Repeat(`\"`, 5_000), strings.Repeat("a b ", 10_000), strings.Repeat("主\xff", 3000),
}

func TestSearchHostileQueries(t *testing.T) {
	x := openTestIndex(t)
	docs := testCorpus(200)
	upsert(t, x, docs...)
	for _, q := range hostileQueries {
		for _, filters := range []Query{{}, {VideoID: 1, State: visible}, {From: 1, To: 1 << 62}} {
			filters.Q = q
			res, err := x.Search(filters)
			if err != nil {
				t.Fatalf("Search(%.40q): %v", q, err)
			}
			if int64(len(res.Docs)) > res.Total || len(res.Docs) > DefaultLimit {
				t.Fatalf("Search(%.40q): %d docs of %d", q, len(res.Docs), res.Total)
			}
		}
	}
	// Operators are text: these find exactly what the bare words find.
	for bare, dressed := range map[string]string{
		"天气":    `+"天气"~^`,
		"天气 不错": `(天气) && [不错]`,
		"hello": `hello*`,
	} {
		a, b := matchIDs(t, x, Query{Q: bare}), matchIDs(t, x, Query{Q: dressed})
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("%q found %v, %q found %v", bare, a, dressed, b)
		}
	}
	// Blank lists everything; text with nothing searchable finds nothing.
	if res := find(t, x, Query{Q: " \t\u3000"}); res.Total != int64(len(docs)) {
		t.Errorf("blank q: total %d", res.Total)
	}
	if res := find(t, x, Query{Q: "!?*"}); res.Total != 0 {
		t.Errorf("punctuation q: total %d", res.Total)
	}
	// Invalid UTF-8 separates words.
	if a, b := matchIDs(t, x, Query{Q: "天\xff气"}), matchIDs(t, x, Query{Q: "天 气"}); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("invalid UTF-8: %v vs %v", a, b)
	}
}

func TestIndexHostileContent(t *testing.T) {
	x := openTestIndex(t)
	docs := make([]Doc, 0, len(hostileQueries))
	for i, c := range hostileQueries {
		docs = append(docs, Doc{ID: int64(i + 1), Content: c, UserName: c, CreateTime: int64(i), Version: 1})
	}
	upsert(t, x, docs...)
	upsert(t, x, docs...) // a redelivery matches what was stored, invalid UTF-8 and all
	for _, d := range docs {
		got, ok, err := x.Get(d.ID)
		want, _ := normalize(d)
		if err != nil || !ok || got != want {
			t.Fatalf("doc %d: %v %v", d.ID, ok, err)
		}
	}
	if got := matchIDs(t, x, Query{Q: "𠮷野"}); !slices.Contains(got, int64(slices.Index(hostileQueries, "𠮷野家")+1)) {
		t.Errorf("𠮷野: %v", got)
	}
}

// TestIndexConcurrent runs writers delivering versions out of order beside
// readers; under -race it checks the locking, and at the end every comment
// holds its highest version.
func TestIndexConcurrent(t *testing.T) {
	x := openTestIndex(t)
	const ids, versions = 40, 6
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; i < 30; i++ {
				batch := make([]Doc, 0, 10)
				for k := 0; k < 10; k++ {
					id, v := int64(1+rng.IntN(ids)), int64(1+rng.IntN(versions))
					batch = append(batch, Doc{ID: id, Content: fmt.Sprintf("版本%d", v), CreateTime: id, Version: v})
				}
				if err := x.Upsert(batch...); err != nil {
					errc <- err
					return
				}
			}
			// Finally everyone delivers the top version.
			var top []Doc
			for id := int64(1); id <= ids; id++ {
				top = append(top, Doc{ID: id, Content: fmt.Sprintf("版本%d", versions), CreateTime: id, Version: versions})
			}
			if err := x.Upsert(top...); err != nil {
				errc <- err
			}
		}()
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := x.Search(Query{Q: "版本", Limit: 10}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	res := find(t, x, Query{Q: fmt.Sprintf("版本%d", versions), Limit: 100})
	if res.Total != ids {
		t.Fatalf("%d comments at the top version, want %d", res.Total, ids)
	}
}

func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{"天气", "UP主", "hello world", `"(`, "\xff"} {
		f.Add(q, 0, 20)
	}
	x, err := OpenIndex(filepath.Join(f.TempDir(), "index"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { x.Close() })
	docs := testCorpus(100)
	if err := x.Upsert(docs...); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, q string, offset, limit int) {
		res, err := x.Search(Query{Q: q, Offset: offset, Limit: limit})
		l := limit
		if l <= 0 {
			l = DefaultLimit
		}
		l = min(l, MaxLimit)
		if max(offset, 0) > MaxWindow-l {
			if err != ErrDeepPage {
				t.Fatalf("offset %d limit %d: err %v, want ErrDeepPage", offset, limit, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		if len(res.Docs) > l || int64(len(res.Docs)) > res.Total || res.Total > int64(len(docs)) {
			t.Fatalf("Search(%q): %d docs of %d", q, len(res.Docs), res.Total)
		}
		if strings.TrimSpace(q) == "" && res.Total != int64(len(docs)) {
			t.Fatalf("blank q %q: total %d", q, res.Total)
		}
		for i := 1; i < len(res.Docs); i++ {
			a, b := res.Docs[i-1], res.Docs[i]
			if a.CreateTime < b.CreateTime || (a.CreateTime == b.CreateTime && a.ID < b.ID) {
				t.Fatalf("Search(%q): not newest first: %d before %d", q, a.ID, b.ID)
			}
		}
	})
}
