package videosvc

import (
	"context"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
)

// Events the video role publishes. They travel through the role's transactional
// outbox, so an event exists exactly when its fact committed, and are delivered at
// least once: consumers are idempotent by video id.
const (
	// StreamName is the JetStream stream that captures the video role's events.
	StreamName = "VIDEO"
	// SubjectPublished announces a new video, for the feed's fan-out into
	// followers' inboxes.
	SubjectPublished = "video.published"
	// outboxService names the role's outbox table (outbox_video).
	outboxService = "video"
)

// Published is the payload of SubjectPublished, as JSON.
type Published struct {
	VideoID    int64 `json:"video_id"`
	AuthorID   int64 `json:"author_id"`
	CreateTime int64 `json:"create_time"` // epoch ms
}

// publishedMsgID is the event's JetStream message id, so a relay that publishes the
// same outbox row twice is stored once.
func publishedMsgID(videoID int64) string {
	return SubjectPublished + ":" + strconv.FormatInt(videoID, 10)
}

// StreamSpec is the stream the video role publishes to. Its events feed inboxes
// that are bounded anyway, so a week of retention is ample for any consumer
// catching up after an outage.
func StreamSpec() mq.StreamSpec {
	return mq.StreamSpec{Name: StreamName, Subjects: []string{"video.>"}, MaxAge: 7 * 24 * time.Hour}
}

// EnsureStream creates or updates the video role's stream; the role calls it at
// start-up, before its outbox relay runs.
func EnsureStream(ctx context.Context, bus *mq.Bus) error {
	return bus.EnsureStream(ctx, StreamSpec())
}
