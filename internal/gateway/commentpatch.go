package gateway

// Logged-in readers of a kept comment page (commentcache.go) get the anonymous
// reader's encoded answer with their own fields written over it.
//
// A logged-in reader's first page differs from everyone's in four fields only:
// each comment's is_liked, and each author's follow_count, follower_count and
// is_follow (the follow counts come with is_follow in one batched call, so they
// are the reader's freshest). Assembling and encoding thirty comment objects and
// their authors per reader cost the gateway more than everything else it does
// for the page. So when the comment role's answer for the reader is the kept
// page comment for comment (the same comments in the same order, with the same
// counts and state, held and very new comments of the reader's own being the
// exception), the answer is the kept bytes copied with those values written in.
// It is byte for byte what assembling it would give; anything else (the reader's
// own comment, a count changed since the page was kept) is assembled as before.

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// readerTemplate is a kept page's encoded answer with the places of its reader
// fields.
type readerTemplate struct {
	body []byte
	// comments are the page's comments in the order they are encoded: each
	// comment, then its previewed replies (copies of what an answer's comments
	// encode, as answers are not kept). authors holds each one's author as
	// everyone sees them, nil for an author without an account.
	comments []keptComment
	authors  []*User
	more     bool
	next     string
	spots    []readerSpot // in body order
}

// readerSpot is where one reader field's value sits in the body.
type readerSpot struct {
	start, end int32 // body[start:end] is the value
	field      readerField
	at         int32 // the comment it belongs to, an index into comments
}

type readerField uint8

const (
	fieldIsLiked readerField = iota
	fieldFollowCount
	fieldFollowerCount
	fieldIsFollow
)

// readerKeys are the encoded keys of the reader fields, by field. A key with
// both its quotes cannot occur inside a JSON string, where every quote is
// escaped, so finding it finds the field.
var readerKeys = [...][]byte{
	fieldIsLiked:       []byte(`"is_liked":`),
	fieldFollowCount:   []byte(`"follow_count":`),
	fieldFollowerCount: []byte(`"follower_count":`),
	fieldIsFollow:      []byte(`"is_follow":`),
}

// newReaderTemplate finds the reader fields in body, the anonymous answer for
// cs with the authors in users (nil for one without an account) and info.
// It returns nil when the body is not laid out as expected, and readers then
// get their pages assembled.
func newReaderTemplate(body []byte, cs []*comment.Comment, users map[int64]*User, info *base.PageInfo) *readerTemplate {
	if info == nil {
		return nil
	}
	t := &readerTemplate{body: body, more: info.HasMore, next: info.NextCursor}
	var walk func(cs []*comment.Comment)
	walk = func(cs []*comment.Comment) {
		for _, x := range cs {
			t.comments = append(t.comments, keep(x))
			t.authors = append(t.authors, users[x.GetUserId()])
			walk(x.GetReplies())
		}
	}
	walk(cs)
	for f, key := range readerKeys {
		field := readerField(f)
		at := 0
		for from := 0; ; {
			i := bytes.Index(body[from:], key)
			if i < 0 {
				break
			}
			start := from + i + len(key)
			n := bytes.IndexAny(body[start:], ",}")
			if n <= 0 || at >= len(t.comments) {
				return nil
			}
			end := start + n
			if string(body[start:end]) != t.anonymous(field, at) {
				return nil
			}
			t.spots = append(t.spots, readerSpot{start: int32(start), end: int32(end), field: field, at: int32(at)})
			at++
			from = end
		}
		if at != len(t.comments) {
			return nil
		}
	}
	slices.SortFunc(t.spots, func(a, b readerSpot) int { return int(a.start - b.start) })
	return t
}

// anonymous is the encoded value of field of comment at as the anonymous body
// holds it.
func (t *readerTemplate) anonymous(field readerField, at int) string {
	u := t.authors[at]
	if u == nil {
		u = &User{} // a minimal author: no counts, not followed
	}
	switch field {
	case fieldFollowCount:
		return strconv.FormatInt(u.FollowCount, 10)
	case fieldFollowerCount:
		return strconv.FormatInt(u.FollowerCount, 10)
	case fieldIsFollow:
		return strconv.FormatBool(u.IsFollow)
	}
	return "false" // is_liked: nobody is logged in
}

// fits reports whether cs and info, the comment role's answer for a reader, are
// the kept page but for is_liked.
func (t *readerTemplate) fits(cs []*comment.Comment, info *base.PageInfo) bool {
	if t == nil || info == nil || info.HasMore != t.more || info.NextCursor != t.next {
		return false
	}
	at, ok := t.match(cs, 0)
	return ok && at == len(t.comments)
}

// match compares cs, from index at of the kept comments on, and returns the
// index after them.
func (t *readerTemplate) match(cs []*comment.Comment, at int) (int, bool) {
	for _, x := range cs {
		if at >= len(t.comments) || !t.comments[at].sameForEveryone(x) {
			return at, false
		}
		var ok bool
		if at, ok = t.match(x.GetReplies(), at+1); !ok {
			return at, false
		}
	}
	return at, true
}

// keptComment is what a comment's encoding shows alike to every reader.
type keptComment struct {
	id, userID, createTime, rootID, parentID, floor, likeCount, replyCount int64
	replies                                                                int
	pinned                                                                 bool
	state                                                                  comment.CommentState
	content                                                                string
}

func keep(x *comment.Comment) keptComment {
	return keptComment{id: x.GetId(), userID: x.GetUserId(), createTime: x.GetCreateTime(), rootID: x.GetRootId(),
		parentID: x.GetParentId(), floor: x.GetFloor(), likeCount: x.GetLikeCount(), replyCount: x.GetReplyCount(),
		replies: len(x.GetReplies()), pinned: x.GetIsPinned(), state: x.GetState(), content: x.GetContent()}
}

// sameForEveryone reports whether x encodes as k but for is_liked: every field
// commentObjects reads, the author's id included.
func (k *keptComment) sameForEveryone(x *comment.Comment) bool {
	return x.GetId() == k.id && x.GetUserId() == k.userID && x.GetCreateTime() == k.createTime &&
		x.GetRootId() == k.rootID && x.GetParentId() == k.parentID && x.GetFloor() == k.floor &&
		x.GetLikeCount() == k.likeCount && x.GetReplyCount() == k.replyCount && x.GetIsPinned() == k.pinned &&
		x.GetState() == k.state && len(x.GetReplies()) == k.replies && x.GetContent() == k.content
}

// render appends to dst the answer for viewer, whose comment role answer cs
// fits the template, with stats from the relation role (nil when it did not
// answer: the kept counts stand and nobody is followed, as in viewerAuthors).
func (t *readerTemplate) render(dst []byte, cs []*comment.Comment, viewer int64, stats map[int64]*relation.UserStats) []byte {
	var room [64]bool
	liked := likes(room[:0], cs)
	last := int32(0)
	for _, s := range t.spots {
		if s.field != fieldIsLiked && (stats == nil || t.authors[s.at] == nil) {
			continue // the anonymous value stands
		}
		dst = append(dst, t.body[last:s.start]...)
		last = s.end
		if s.field == fieldIsLiked {
			dst = strconv.AppendBool(dst, liked[s.at])
			continue
		}
		id := t.comments[s.at].userID
		var follows, followers int64 // no counts known for the author, as in viewerAuthors
		var followed bool
		if st := stats[id]; st != nil {
			follows, followers, followed = st.FollowCount, st.FollowerCount, st.IsFollow && viewer != id
		}
		switch s.field {
		case fieldFollowCount:
			dst = strconv.AppendInt(dst, follows, 10)
		case fieldFollowerCount:
			dst = strconv.AppendInt(dst, followers, 10)
		case fieldIsFollow:
			dst = strconv.AppendBool(dst, followed)
		}
	}
	return append(dst, t.body[last:]...)
}

// likes appends the is_liked of cs and their replies to dst, in encoding order.
func likes(dst []bool, cs []*comment.Comment) []bool {
	for _, x := range cs {
		dst = likes(append(dst, x.GetIsLiked()), x.GetReplies())
	}
	return dst
}
