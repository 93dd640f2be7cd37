package gateway

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	hjson "github.com/cloudwego/hertz/pkg/common/json"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// Texts that a naive search for the reader fields would trip on, and that the
// encoder escapes or repairs.
var trickyTexts = []string{
	"plain", "", `"is_liked":false`, `\"is_follow\":true,`, `{"follow_count":1}`, `"follower_count":`,
	"<b>&amp;</b>", "长评论 🎉", "bad \xff utf-8", "line\u2028sep", `back\slash"quote`, "}, {",
}

// randomPage is a page of comments with reply previews, by authors of whom some
// have no account, with the authors as everyone sees them.
func randomPage(rng *rand.Rand) ([]*comment.Comment, map[int64]*User, *base.PageInfo) {
	text := func() string { return trickyTexts[rng.IntN(len(trickyTexts))] }
	users := map[int64]*User{}
	for id := int64(1); id <= 8; id++ {
		if id%4 == 0 {
			users[id] = nil // no account
			continue
		}
		users[id] = &User{ID: id, Name: text(), FollowCount: rng.Int64N(2_000_000), FollowerCount: rng.Int64N(2_000_000),
			Avatar: "http://gw.test/a.png", Signature: text(), TotalFavorited: rng.Int64N(100), WorkCount: 3, FavoriteCount: 4}
	}
	next := int64(1000)
	one := func(root, parent int64) *comment.Comment {
		next++
		return &comment.Comment{Id: next, VideoId: 1, UserId: 1 + rng.Int64N(8), Content: text(), CreateTime: 1_700_000_000_000 + next*1000,
			RootId: root, ParentId: parent, Floor: next - 1000, LikeCount: rng.Int64N(100_000), ReplyCount: rng.Int64N(5),
			IsPinned: rng.IntN(10) == 0, State: comment.CommentState(rng.IntN(2)), Replies: []*comment.Comment{}}
	}
	var cs []*comment.Comment
	for range rng.IntN(31) {
		x := one(0, 0)
		for range rng.IntN(4) {
			x.Replies = append(x.Replies, one(x.Id, x.Id))
		}
		cs = append(cs, x)
	}
	info := &base.PageInfo{}
	if rng.IntN(2) == 0 {
		info.HasMore, info.NextCursor = true, text()
	}
	return cs, users, info
}

// forViewer copies cs as the comment role answers a reader: is_liked set at
// random.
func forViewer(rng *rand.Rand, cs []*comment.Comment) []*comment.Comment {
	out := make([]*comment.Comment, 0, len(cs))
	for _, x := range cs {
		cp := *x
		cp.IsLiked = rng.IntN(2) == 0
		cp.Replies = forViewer(rng, x.Replies)
		out = append(out, &cp)
	}
	return out
}

// randomStats is the relation role's answer for viewer about authors 1–8:
// some unknown, some followed, the viewer's own entry claiming is_follow.
func randomStats(rng *rand.Rand, viewer int64) map[int64]*relation.UserStats {
	if rng.IntN(8) == 0 {
		return nil // the relation role did not answer
	}
	stats := map[int64]*relation.UserStats{}
	for id := int64(1); id <= 8; id++ {
		if rng.IntN(5) == 0 {
			continue
		}
		stats[id] = &relation.UserStats{FollowCount: rng.Int64N(3_000_000), FollowerCount: rng.Int64N(3_000_000),
			IsFollow: rng.IntN(2) == 0 || id == viewer}
	}
	return stats
}

// TestReaderTemplateMatchesAssembly checks, on random pages, that a logged-in
// reader's answer written over the anonymous body is byte for byte the answer
// assembled and encoded for them: every reader field placed, escaped texts that
// look like the fields left alone, authors without accounts and authors the
// relation role does not know, and the reader's own is_follow false.
func TestReaderTemplateMatchesAssembly(t *testing.T) {
	g := &Gateway{loc: time.FixedZone("CST", 8*3600)}
	const root = "http://gw.test"
	rng := rand.New(rand.NewPCG(7, 11))
	patched := 0
	for page := range 300 {
		cs, users, info := randomPage(rng)
		anon, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects(root, cs, users), HasMore: info.HasMore, NextCursor: info.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		tpl := newReaderTemplate(anon, cs, users, info)
		if tpl == nil {
			t.Fatalf("page %d: the reader fields were not placed in %s", page, anon)
		}
		kept := &keptCommentPage{authors: users}
		for reader := range 5 {
			viewer := 1 + rng.Int64N(10) // sometimes an author on the page
			mine, stats := forViewer(rng, cs), randomStats(rng, viewer)
			if !tpl.fits(mine, info) {
				t.Fatalf("page %d: the reader's answer does not fit its own page", page)
			}
			authors, known := kept.viewerAuthors(mine, viewer, stats)
			if !known {
				t.Fatalf("page %d: an author is not on the kept page", page)
			}
			want, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects(root, mine, authors), HasMore: info.HasMore, NextCursor: info.NextCursor})
			if err != nil {
				t.Fatal(err)
			}
			scratch := []byte("left over from an earlier answer")
			got := tpl.render(scratch[:0], mine, viewer, stats)
			if !bytes.Equal(got, want) {
				t.Fatalf("page %d, reader %d (viewer %d): written over\n%s\nwant, assembled,\n%s", page, reader, viewer, got, want)
			}
			if !bytes.Equal(got, anon) {
				patched++
			}
		}
	}
	if patched < 1000 {
		t.Fatalf("only %d of 1500 answers differed from the anonymous one", patched)
	}
}

// TestReaderTemplateRefusesAnotherPage checks that an answer differing from the
// kept page in anything but is_liked is not written over it.
func TestReaderTemplateRefusesAnotherPage(t *testing.T) {
	g := &Gateway{loc: time.UTC}
	rng := rand.New(rand.NewPCG(3, 5))
	var cs []*comment.Comment
	var users map[int64]*User
	var info *base.PageInfo
	for len(cs) < 3 || len(cs[1].Replies) == 0 || len(cs[len(cs)-1].Replies) == 0 {
		cs, users, info = randomPage(rng)
	}
	anon, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects("", cs, users), HasMore: info.HasMore, NextCursor: info.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	tpl := newReaderTemplate(anon, cs, users, info)
	if tpl == nil {
		t.Fatal("the reader fields were not placed")
	}
	changes := map[string]func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo){
		"a like count": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { cs[0].LikeCount++; return cs, info },
		"a reply's count": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			cs[1].Replies[0].LikeCount++
			return cs, info
		},
		"a reply count": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { cs[2].ReplyCount++; return cs, info },
		"content": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			cs[2].Content += "!"
			return cs, info
		},
		"an author": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { cs[0].UserId = 99; return cs, info },
		"a pin": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			cs[1].IsPinned = !cs[1].IsPinned
			return cs, info
		},
		"a state": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			cs[0].State = comment.CommentState_Pending + 1
			return cs, info
		},
		"the order": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			cs[0], cs[1] = cs[1], cs[0]
			return cs, info
		},
		"a held comment": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			return append([]*comment.Comment{cs[0]}, cs...), info
		},
		"a missing reply": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { cs[1].Replies = nil; return cs, info },
		"a missing last":  func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { return cs[:len(cs)-1], info },
		"replies moved up": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			// The same comments in the same order, but the last one's
			// previews shown as comments of their own.
			last := cs[len(cs)-1]
			r := last.Replies
			last.Replies = []*comment.Comment{}
			return append(cs, r...), info
		},
		"has_more": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			return cs, &base.PageInfo{HasMore: !info.HasMore, NextCursor: info.NextCursor}
		},
		"the cursor": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) {
			return cs, &base.PageInfo{HasMore: info.HasMore, NextCursor: info.NextCursor + "x"}
		},
		"no page info": func(cs []*comment.Comment) ([]*comment.Comment, *base.PageInfo) { return cs, nil },
	}
	for name, change := range changes {
		mine, other := change(forViewer(rng, cs))
		if tpl.fits(mine, other) {
			t.Errorf("an answer with another %s fits the kept page", name)
		}
	}
	if !tpl.fits(forViewer(rng, cs), info) {
		t.Error("the unchanged answer does not fit")
	}
	var none *readerTemplate
	if none.fits(cs, info) {
		t.Error("a page without a template fits")
	}
}

// TestReaderTemplateNeedsItsLayout checks that a body whose reader fields are
// not where the page says gets no template, so readers get assembled answers.
func TestReaderTemplateNeedsItsLayout(t *testing.T) {
	g := &Gateway{loc: time.UTC}
	cs := []*comment.Comment{{Id: 1, UserId: 7, Content: "a", Replies: []*comment.Comment{{Id: 2, UserId: 8, Content: "b"}}}}
	users := map[int64]*User{7: {ID: 7, FollowCount: 3, FollowerCount: 4}, 8: nil}
	info := &base.PageInfo{}
	anon, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects("", cs, users), NextCursor: ""})
	if err != nil {
		t.Fatal(err)
	}
	if newReaderTemplate(anon, cs, users, info) == nil {
		t.Fatal("the page's own body got no template")
	}
	for name, body := range map[string][]byte{
		"a comment fewer": anon[:bytes.LastIndex(anon, []byte(`"is_liked"`))],
		"another count":   bytes.Replace(anon, []byte(`"follow_count":3`), []byte(`"follow_count":5`), 1),
		"a liked comment": bytes.Replace(anon, []byte(`"is_liked":false`), []byte(`"is_liked":true`), 1),
		"a field more":    bytes.Replace(anon, []byte(`"content":"a"`), []byte(`"is_follow":false,"content":"a"`), 1),
		"a value cut":     anon[:bytes.LastIndex(anon, []byte(`"is_follow":`))+len(`"is_follow":`)],
	} {
		if newReaderTemplate(body, cs, users, info) != nil {
			t.Errorf("%s: a template for a body that is not the page's", name)
		}
	}
	if newReaderTemplate(anon, cs, users, nil) != nil {
		t.Error("a template without page info")
	}
}

// The reader's answer is written into the response's body buffer, whatever it
// held before.
func TestOkAppendedReplacesTheBody(t *testing.T) {
	c := app.NewContext(0)
	c.Response.SetBodyString("left over from an earlier write")
	okAppended(c, func(dst []byte) []byte { return fmt.Appendf(dst, `{"n":%d}`, 42) })
	if got := string(c.Response.Body()); got != `{"n":42}` {
		t.Fatalf("body %q", got)
	}
	if got := string(c.Response.Header.ContentType()); got != jsonContentType {
		t.Fatalf("content type %q", got)
	}
}

// BenchmarkReaderAnswer compares the two ways of answering a logged-in reader of
// a kept first page (30 comments by 30 authors, every third with two previewed
// replies, texts of 30–60 characters): assembled (the reader's author copies,
// the comment objects, encoding) and written from the template.
func BenchmarkReaderAnswer(b *testing.B) {
	g := &Gateway{loc: time.UTC}
	const root = "http://gw.test"
	users := map[int64]*User{}
	for id := int64(1); id <= 50; id++ {
		users[id] = &User{ID: id, Name: fmt.Sprintf("seed_%06d", id), FollowCount: 40 + id, FollowerCount: 1000 * id,
			Avatar: fmt.Sprintf("%s/static/avatar/%d.png", root, id), BackgroundImage: root + "/static/background/1.png",
			TotalFavorited: 7 * id, WorkCount: id % 9, FavoriteCount: 3 * id}
	}
	text := func(i int64) string { return strings.Repeat("这也太好看了吧 lol ", 2+int(i%3)) }
	var cs []*comment.Comment
	next := int64(1000)
	for i := int64(1); i <= 30; i++ {
		next++
		x := &comment.Comment{Id: next, VideoId: 1, UserId: i, Content: text(i), CreateTime: 1_796_000_000_000 + next,
			Floor: i, LikeCount: 100 * i, ReplyCount: 2 * (i % 3), Replies: []*comment.Comment{}}
		if i%3 == 0 {
			for j := range int64(2) {
				next++
				x.Replies = append(x.Replies, &comment.Comment{Id: next, VideoId: 1, UserId: 30 + i/3 + j*10, Content: text(j),
					CreateTime: 1_796_000_000_000 + next, RootId: x.Id, ParentId: x.Id, LikeCount: j, Replies: []*comment.Comment{}})
			}
		}
		cs = append(cs, x)
	}
	info := &base.PageInfo{HasMore: true, NextCursor: "MC4xNzk2MDAwMDAwMDAwLjEwMzA"}
	anon, err := hjson.Marshal(&commentListBody{CommentList: g.commentObjects(root, cs, users), HasMore: info.HasMore, NextCursor: info.NextCursor})
	if err != nil {
		b.Fatal(err)
	}
	kept := &keptCommentPage{authors: users, reader: newReaderTemplate(anon, cs, users, info)}
	if kept.reader == nil {
		b.Fatal("no template")
	}
	const viewer = 3
	rng := rand.New(rand.NewPCG(1, 2))
	mine, stats := forViewer(rng, cs), map[int64]*relation.UserStats{}
	for id := int64(1); id <= 50; id++ {
		stats[id] = &relation.UserStats{FollowCount: 40 + id, FollowerCount: 1000*id + 1, IsFollow: id%4 == 0}
	}
	// One request context, as the server reuses them; each answer replaces
	// the body of the last.
	c := app.NewContext(0)
	b.Run("assembled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			authors, _ := kept.viewerAuthors(mine, viewer, stats)
			writeJSON(c, &commentListBody{CommentList: g.commentObjects(root, mine, authors), HasMore: info.HasMore, NextCursor: info.NextCursor})
		}
	})
	assembled := bytes.Clone(c.Response.Body())
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !kept.reader.fits(mine, info) {
				b.Fatal("the reader's answer does not fit")
			}
			okAppended(c, func(dst []byte) []byte { return kept.reader.render(dst, mine, viewer, stats) })
		}
	})
	if !bytes.Equal(c.Response.Body(), assembled) {
		b.Fatal("the two answers differ")
	}
}
