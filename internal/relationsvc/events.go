package relationsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
)

// Events the relation role publishes. They are written to the role's
// transactional outbox in the same transaction as the edge and its counts, so an
// event exists exactly when its state change committed, and one is written only
// when the state changed: a repeated follow or unfollow emits nothing.
//
// The relay publishes them in commit order, at least once. A consumer that needs
// the order to hold (a follow followed by an unfollow of the same pair) consumes
// with MaxAckPending 1; one that may see them out of order, or twice, can ask
// UserStats for the current edge instead of trusting the event's direction.
const (
	// Stream is the JetStream stream that captures the relation role's events.
	Stream = "RELATION"
	// SubjectFollow announces a new follow edge; the feed backfills the followee's
	// recent videos into the follower's inbox.
	SubjectFollow = "relation.follow"
	// SubjectUnfollow announces a removed edge; the feed removes the followee's
	// videos from the follower's inbox.
	SubjectUnfollow = "relation.unfollow"
	// OutboxService names the role's outbox table (outbox_relation).
	OutboxService = "relation"
)

// FollowEvent is the JSON payload of SubjectFollow and SubjectUnfollow.
type FollowEvent struct {
	FollowerID int64 `json:"follower_id"`
	FolloweeID int64 `json:"followee_id"`
	// TimeMs is when the edge was created (follow) or removed (unfollow), epoch ms.
	TimeMs int64 `json:"time_ms"`
}

// StreamSpec is the stream the relation role publishes to. Its events adjust
// inboxes that are bounded anyway, so a week of retention is ample for a consumer
// catching up after an outage; the two-minute duplicate window absorbs a relay
// that publishes a row again after a crash.
func StreamSpec() mq.StreamSpec {
	return mq.StreamSpec{Name: Stream, Subjects: []string{"relation.>"}, MaxAge: 7 * 24 * time.Hour}
}

// EnsureStream creates or updates the relation role's stream; the role calls it at
// start-up, before its outbox relay runs, and a consuming role may call it too so
// that start-up order does not matter.
func EnsureStream(ctx context.Context, bus *mq.Bus) error {
	return bus.EnsureStream(ctx, StreamSpec())
}

// DecodeEvent parses a relation event as a consumer receives it: follow reports
// whether it is a follow (true) or an unfollow (false).
func DecodeEvent(subject string, data []byte) (ev FollowEvent, follow bool, err error) {
	switch subject {
	case SubjectFollow:
		follow = true
	case SubjectUnfollow:
	default:
		return ev, false, fmt.Errorf("relationsvc: %q is not a relation event subject", subject)
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, false, fmt.Errorf("relationsvc: %s payload: %w", subject, err)
	}
	return ev, follow, nil
}

// event returns the subject, JetStream message id and payload recording c. The
// message id is unique per state change (it carries the change's own id), so the
// stream drops a relay's re-publication of the same row but never a later follow
// of the same pair, even one in the same millisecond.
func event(c Change, follow bool) (subject, msgID string, payload []byte, err error) {
	subject, kind := SubjectUnfollow, "unfollow:"
	if follow {
		subject, kind = SubjectFollow, "follow:"
	}
	msgID = kind + strconv.FormatInt(c.FollowerID, 10) + ":" + strconv.FormatInt(c.FolloweeID, 10) + ":" + strconv.FormatInt(c.EventID, 10)
	payload, err = json.Marshal(FollowEvent{FollowerID: c.FollowerID, FolloweeID: c.FolloweeID, TimeMs: c.At})
	return subject, msgID, payload, err
}
