package commentsvc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
)

// CachesDurable names the consumer through which the role's replicas follow its
// own change events to catch the caches up (followEvents). Replicas share it.
const CachesDurable = "comment-caches"

// followEvents is the caches' second chance. Every change updates the caches
// right after its commit, in the process that made it; a process killed between
// the two (kill -9, a crash, a lost machine) would leave lists showing a deleted
// comment or an old like count until the cached entries expire, minutes later.
// The change's event, though, was committed with it in the outbox and is relayed
// even after such a kill, so each state change, like and pin is caught up from
// its event once more: the comment is read again from the store and the same
// idempotent cache updates run on what is stored now. New comments need none of
// this: their write stays in the writers' queue until its caches are updated.
//
// Events are taken one at a time, in order, so a late catch-up never overtakes a
// later one of the same comment. The consumer starts at events published after
// it is first created: those the stream kept from before have nothing to catch.
func (s *Service) followEvents(ctx context.Context) (mq.Subscription, error) {
	return s.bus.Consume(ctx, mq.ConsumerSpec{
		Stream: EventsStream, Durable: CachesDurable, FromNow: true,
		MaxAckPending: 1, AckWait: 5 * time.Second, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 10 * time.Second,
	}, s.catchUp)
}

func (s *Service) catchUp(ctx context.Context, m mq.Msg) error {
	var e Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		s.log.ErrorContext(ctx, "dropping a malformed comment event", "seq", m.StreamSeq, "err", err)
		return nil
	}
	switch e.Kind {
	case EventPin:
		s.afterPin(ctx, e.VideoID)
		return nil
	case EventState, EventLike:
	default:
		return nil
	}
	rows, err := s.store.Rows(ctx, []int64{e.ID})
	if err != nil {
		return err // retried after a back-off
	}
	r, ok := rows[e.ID]
	if !ok {
		return nil
	}
	if e.Kind == EventState {
		s.afterStateChange(ctx, r)
	} else {
		s.afterLike(ctx, r)
	}
	return nil
}
