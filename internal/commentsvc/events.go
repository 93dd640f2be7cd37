package commentsvc

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Streams and subjects of the comment role.
//
// Writes travel through WritesStream, partitioned by video: the publisher computes
// hash(video) % partitions and publishes to comment.write.<partition>; one durable
// consumer per partition applies them one at a time, so one video's comments are
// applied serially (floors need no lock contention) while different videos proceed
// in parallel (seed 004: 全局并行,局部串行). Cache rebuilds are queued on the same
// partition, so a rebuild never interleaves with a write of the same video.
//
// Every committed change is announced on EventsStream (comment.event.<video>)
// through the role's transactional outbox, for the search index and anything else
// that follows comments. Two signals are only broadcast, never stored: the
// writer's "applied" answer to the process waiting for a publish, and
// "changed" for every process to drop its local copy of a video's hot page.
const (
	WritesStream = "COMMENT_WRITES"
	EventsStream = "COMMENT_EVENTS"

	writeSubjectPrefix   = "comment.write."
	eventSubjectPrefix   = "comment.event."
	appliedSubjectPrefix = "comment.applied."
	changedSubjectPrefix = "comment.changed."

	outboxService = "comment"

	// DurablePrefix names the writers' durable consumers: DurablePrefix + the
	// partition number. Replicas of the role share them.
	DurablePrefix = "comment-writer-"
)

// partition returns the write partition of a video.
func partition(videoID int64, n int) int {
	h := fnv.New32a()
	var b [8]byte
	for i := range b {
		b[i] = byte(videoID >> (8 * i))
	}
	h.Write(b[:])
	return int(h.Sum32() % uint32(n))
}

func writeSubject(p int) string { return writeSubjectPrefix + strconv.Itoa(p) }

// EnsureStreams creates or updates the comment role's streams. Writes are kept a
// week, so a writer that was down for days still applies every acknowledged
// comment; the duplicate window makes a retried publish of the same comment id
// one message.
func EnsureStreams(ctx context.Context, bus *mq.Bus) error {
	if err := bus.EnsureStream(ctx, mq.StreamSpec{
		Name: WritesStream, Subjects: []string{writeSubjectPrefix + ">"},
		MaxAge: 7 * 24 * time.Hour, Duplicates: 10 * time.Minute,
	}); err != nil {
		return err
	}
	return bus.EnsureStream(ctx, mq.StreamSpec{
		Name: EventsStream, Subjects: []string{eventSubjectPrefix + ">"}, MaxAge: EventsRetention,
	})
}

// EventsRetention is how long EventsStream keeps the comment events: a consumer
// away for longer has missed some.
const EventsRetention = 7 * 24 * time.Hour

// writeMsg is one message of WritesStream: a comment to apply, or a cache
// rebuild to run.
type writeMsg struct {
	Kind string `json:"kind"` // "comment" or "rebuild"

	// A comment.
	ID        int64                `json:"id,omitempty"`
	VideoID   int64                `json:"video_id"`
	OwnerID   int64                `json:"owner_id,omitempty"`
	UserID    int64                `json:"user_id,omitempty"`
	ParentID  int64                `json:"parent_id,omitempty"`
	Content   string               `json:"content,omitempty"`
	State     comment.CommentState `json:"state,omitempty"`
	CreatedAt int64                `json:"created_at,omitempty"`
	// Reply is the broadcast subject of the process waiting for the result.
	Reply string `json:"reply,omitempty"`

	// A rebuild of the index cache of (VideoID, RootID, Order), extending it
	// past From (nil: from the start).
	RootID int64       `json:"root_id,omitempty"`
	Order  Order       `json:"order,omitempty"`
	From   *cachedFrom `json:"from,omitempty"`
}

// cachedFrom is the position a rebuild continues from.
type cachedFrom struct {
	Score float64 `json:"score"`
	ID    int64   `json:"id"`
}

// applied is the writer's answer to a waiting publisher.
type applied struct {
	ID    int64  `json:"id"`
	Floor int64  `json:"floor"`
	Error string `json:"error,omitempty"` // "parent_gone", or "failed"
}

// Event kinds.
const (
	EventCreated = "created"
	EventState   = "state"
	EventLike    = "like"
	EventPin     = "pin"
	// EventCounts announces a thread's new reply count (a reply was added or
	// changed state); like EventLike it carries no text.
	EventCounts = "counts"
)

// Event is the payload of comment.event.<video>: the comment's state after the
// change. Version grows with each change of a comment, so a consumer keeping a
// copy applies an event only if it is newer than what it has.
type Event struct {
	Kind       string               `json:"kind"`
	ID         int64                `json:"id"`
	VideoID    int64                `json:"video_id"`
	UserID     int64                `json:"user_id"`
	RootID     int64                `json:"root_id"`
	ParentID   int64                `json:"parent_id"`
	Floor      int64                `json:"floor"`
	State      comment.CommentState `json:"state"`
	OldState   comment.CommentState `json:"old_state,omitempty"`
	LikeCount  int64                `json:"like_count"`
	ReplyCount int64                `json:"reply_count"`
	Content    string               `json:"content,omitempty"`
	CreatedAt  int64                `json:"create_time"`
	Version    int64                `json:"version"`
	At         int64                `json:"at"`
	PinnedID   int64                `json:"pinned_id,omitempty"` // EventPin: the video's pinned comment, 0 for none
}

func eventFor(kind string, r Row, old comment.CommentState, at int64) Event {
	return Event{
		Kind: kind, ID: r.ID, VideoID: r.VideoID, UserID: r.UserID, RootID: r.RootID, ParentID: r.ParentID,
		Floor: r.Floor, State: r.State, OldState: old, LikeCount: r.LikeCount, ReplyCount: r.ReplyCount,
		Content: r.Content, CreatedAt: r.CreatedAt, Version: r.Version, At: at,
	}
}

func eventSubject(videoID int64) string { return eventSubjectPrefix + strconv.FormatInt(videoID, 10) }

// eventMsgID makes a relayed event stored once even if the outbox publishes it
// twice.
func eventMsgID(e Event) string {
	if e.Kind == EventPin {
		return fmt.Sprintf("cp:%d:%d:%d", e.VideoID, e.At, e.PinnedID)
	}
	return fmt.Sprintf("ce:%d:%d", e.ID, e.Version)
}
