package commentsvc

import (
	"context"
	"errors"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Row is one comment as the store keeps it: its comment_index row joined with its
// text. Preview holds, for a top-level comment, the ids of its first visible
// replies (at most previewSize, oldest first); it is filled by Rows only.
type Row struct {
	ID         int64                `json:"id"`
	VideoID    int64                `json:"video_id"`
	UserID     int64                `json:"user_id"`
	RootID     int64                `json:"root_id"`
	ParentID   int64                `json:"parent_id"`
	Floor      int64                `json:"floor"`
	State      comment.CommentState `json:"state"`
	LikeCount  int64                `json:"like_count"`
	ReplyCount int64                `json:"reply_count"`
	Hot        float64              `json:"hot"`
	Version    int64                `json:"version"`
	CreatedAt  int64                `json:"created_at"` // epoch ms
	Content    string               `json:"content"`
	Preview    []int64              `json:"preview,omitempty"`
}

// Subject is a video's comment_subject row.
type Subject struct {
	VideoID      int64 `json:"video_id"`
	OwnerID      int64 `json:"owner_id"`
	TopFloor     int64 `json:"top_floor"`
	RootCount    int64 `json:"root_count"`
	CommentCount int64 `json:"comment_count"`
	PinnedID     int64 `json:"pinned_id"`
}

// NewComment is a comment the writer applies.
type NewComment struct {
	ID        int64
	VideoID   int64
	OwnerID   int64 // the video's author, for a subject created by this comment
	UserID    int64
	ParentID  int64 // 0: top-level
	Content   string
	State     comment.CommentState // Visible or Pending
	CreatedAt int64
}

// Order names a listing order.
type Order int8

const (
	// ByTime lists top-level comments by floor, newest first.
	ByTime Order = iota
	// ByHot lists top-level comments by hot score, highest first.
	ByHot
	// ByThread lists a thread's replies by floor, oldest first.
	ByThread
)

// PageQuery asks the store for one page of visible comment ids in an order.
type PageQuery struct {
	VideoID int64
	RootID  int64 // ByThread only
	Order   Order
	After   *cache.Member // nil: from the start
	N       int
}

// Score is a row's position key in order o: its floor, or its hot score.
func (r *Row) Score(o Order) float64 {
	if o == ByHot {
		return r.Hot
	}
	return float64(r.Floor)
}

// Errors the store reports for writes that the current state refuses.
var (
	// errGone: the comment does not exist (or not on that video).
	errGone = errors.New("commentsvc: no such comment")
	// errParentGone: a reply's parent or thread is not visible any more.
	errParentGone = errors.New("commentsvc: the comment replied to is gone")
	// errNotTopLevel: only top-level comments may be pinned.
	errNotTopLevel = errors.New("commentsvc: not a top-level comment")
	// errNotVisible: only visible comments may be liked or pinned.
	errNotVisible = errors.New("commentsvc: comment is not visible")
)

// Store keeps the comment platform's data. Every write also records its change
// events in the same transaction (the role's outbox), so an event exists exactly
// when its change committed.
type Store interface {
	// Insert applies a new comment: creates the video's subject if needed,
	// allocates the floor, and writes index, content and counts. It is
	// idempotent by comment id: applying the same comment again changes nothing
	// and returns the stored row. A reply whose parent or thread is no longer
	// visible fails with errParentGone.
	Insert(ctx context.Context, c NewComment) (Row, error)
	// SetState moves a comment to state `to` if allowed(from) says so, adjusting
	// every count it feeds, and returns the row before and after. A comment that
	// is already in `to` is returned unchanged without asking allowed.
	SetState(ctx context.Context, id int64, to comment.CommentState, allowed func(from comment.CommentState) bool) (before, after Row, err error)
	// Like records or takes back a user's like of a visible comment,
	// idempotently; changed reports whether anything changed.
	Like(ctx context.Context, userID, commentID int64, like bool, at int64) (row Row, changed bool, err error)
	// Pin sets the video's pinned comment (0 unpins).
	Pin(ctx context.Context, videoID, commentID int64) error

	// Subject returns a video's subject; ok is false if nobody ever commented.
	Subject(ctx context.Context, videoID int64) (s Subject, ok bool, err error)
	// Counts returns comment_count for each video with a subject.
	Counts(ctx context.Context, videoIDs []int64) (map[int64]int64, error)
	// Rows returns the comments with these ids (unknown ids left out), with
	// Preview filled for top-level ones.
	Rows(ctx context.Context, ids []int64) (map[int64]Row, error)
	// Page returns the positions of one page of visible comments.
	Page(ctx context.Context, q PageQuery) ([]cache.Member, error)
	// Own returns the ids of a user's comments on a video in a thread (rootID 0:
	// top-level) that are pending, or newer than since (epoch ms).
	Own(ctx context.Context, videoID, userID, rootID, since int64) ([]int64, error)
	// Liked returns which of the comments the user likes.
	Liked(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error)
	// Scan returns up to limit comments with ids above afterID, in id order,
	// without previews.
	Scan(ctx context.Context, afterID int64, limit int) ([]Row, error)
	// Total counts every comment, in any state.
	Total(ctx context.Context) (int64, error)
}
