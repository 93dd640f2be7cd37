package videosvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// Durable consumer names of the feed's event handlers. Replicas of the video role
// share them, and so share the work.
const (
	DurableFanout = "video-feed-fanout"
	DurableFollow = "video-feed-follow"
)

// fanoutConcurrency is how many videos are fanned out at once. Different videos
// touch different inbox rows; the size rows they share are locked in ascending
// user order, and a transaction that still loses a deadlock is run again
// (AddToInboxes), failing to redelivery only after repeated losses.
const fanoutConcurrency = 4

// RunConsumers runs the feed's event consumers until ctx ends: the fan-out of
// video.published into followers' inboxes, and the backfill and removal on
// relation.follow and relation.unfollow. It creates the relation stream if the
// relation role has not yet, so start-up order does not matter.
func (s *Service) RunConsumers(ctx context.Context, bus *mq.Bus) error {
	if s.o.Relation == nil || s.o.Inbox == nil {
		return errors.New("videosvc: the feed consumers need Options.Relation and Options.Inbox")
	}
	if err := EnsureStream(ctx, bus); err != nil {
		return err
	}
	if err := relationsvc.EnsureStream(ctx, bus); err != nil {
		return err
	}
	pub, err := bus.Consume(ctx, mq.ConsumerSpec{
		Stream: StreamName, Durable: DurableFanout, FilterSubject: SubjectPublished, Concurrency: fanoutConcurrency,
	}, s.handlePublishedMsg)
	if err != nil {
		return err
	}
	defer pub.Stop()
	// One relation event at a time: each applies the edge's current state, so
	// handling the events of one pair concurrently could let an older view of
	// the edge win.
	rel, err := bus.Consume(ctx, mq.ConsumerSpec{
		Stream: relationsvc.Stream, Durable: DurableFollow, FilterSubject: "relation.>",
	}, s.handleRelationMsg)
	if err != nil {
		return err
	}
	defer rel.Stop()
	<-ctx.Done()
	return nil
}

func (s *Service) handlePublishedMsg(ctx context.Context, m mq.Msg) error {
	var p Published
	if err := json.Unmarshal(m.Data, &p); err != nil {
		// A payload that cannot parse will not parse on redelivery either.
		s.log.ErrorContext(ctx, "dropping a malformed video.published event", "seq", m.StreamSeq, "err", err)
		return nil
	}
	return s.FanOut(ctx, p)
}

func (s *Service) handleRelationMsg(ctx context.Context, m mq.Msg) error {
	ev, _, err := relationsvc.DecodeEvent(m.Subject, m.Data)
	if err != nil {
		s.log.ErrorContext(ctx, "dropping a malformed relation event", "subject", m.Subject, "seq", m.StreamSeq, "err", err)
		return nil
	}
	return s.SyncFollow(ctx, ev.FollowerID, ev.FolloweeID)
}

// fanoutBatch bounds the inbox entries one fan-out transaction writes. A
// transaction costs far more than its rows suggest: followers are scattered over
// the inbox table, so each entry dirties its own index pages, and on SQLite a
// commit of that many pages also runs a WAL checkpoint. On the seeded dataset
// (15M inbox entries, a loaded 2-core machine) 10,000 followers took 1.6-3.4 s
// in ten transactions of 1,000, 0.8-1.5 s in two of 5,000 and 0.45-0.95 s in
// one. At the default pull threshold (10,000) a push-mode author's followers fit
// in one; the bound keeps a higher configured threshold from holding the write
// lock (SQLite) or the size rows (MySQL) in one ever longer transaction.
const fanoutBatch = 10_000

// FanOut puts a published video into the inbox of every follower of its author,
// reading the followers a page of relationPage at a time and writing them
// fanoutBatch at a time, unless the author has more followers than the pull
// threshold: their followers read the author's videos at read time instead. It
// is idempotent, so a redelivered event (or one whose fan-out failed half-way)
// is simply applied again.
//
// A follower who follows the author while the fan-out runs may miss the video
// in their inbox, but the follow's backfill brings it; one who unfollows in the
// meantime may keep it in their inbox: a narrow race, undone by the pair's next
// follow event or by the inbox's trim.
func (s *Service) FanOut(ctx context.Context, p Published) error {
	stats, err := s.o.Relation.UserStats(ctx, &relation.UserStatsRequest{UserIds: []int64{p.AuthorID}})
	if err != nil {
		return err
	}
	if st := stats.GetStats()[p.AuthorID]; st != nil && st.GetFollowerCount() > int64(s.feed.PullThreshold) {
		s.popular.above(p.AuthorID)
		return nil
	}
	// Reading a page of followers takes about a millisecond, writing them two
	// orders of magnitude more, so the pages are read one after another and
	// gathered rather than read while the previous batch is written.
	batch := make([]InboxEntry, 0, min(fanoutBatch, s.feed.PullThreshold+relationPage))
	cursor := ""
	for {
		page, err := s.o.Relation.ListFollowers(ctx, &relation.ListRequest{UserId: p.AuthorID, Page: &base.Page{Count: relationPage, Cursor: cursor}})
		if err != nil {
			return err
		}
		for _, id := range page.GetUserIds() {
			batch = append(batch, InboxEntry{UserID: id, VideoID: p.VideoID, CreateTime: p.CreateTime})
		}
		next := page.GetPage().GetNextCursor()
		more := page.GetPage().GetHasMore() && next != ""
		if !more || len(batch)+relationPage > fanoutBatch {
			if _, err := s.o.Inbox.AddToInboxes(ctx, batch, s.feed.InboxSize); err != nil {
				return fmt.Errorf("videosvc: fan out video %d: %w", p.VideoID, err)
			}
			batch = batch[:0]
		}
		if !more {
			return nil
		}
		cursor = next
	}
}

// SyncFollow brings the follower's inbox in line with the current follow edge
// to the followee: while following an author in push mode, the inbox holds the
// author's BackfillCount most recent videos (older ones may have been trimmed by
// then, which the feed tolerates); otherwise it holds none of theirs. It asks
// the relation role for the edge instead of trusting an event's direction, so a
// follow and an unfollow of one pair delivered twice or out of order still leave
// the inbox as the edge is now.
func (s *Service) SyncFollow(ctx context.Context, followerID, followeeID int64) error {
	stats, err := s.o.Relation.UserStats(ctx, &relation.UserStatsRequest{ViewerId: followerID, UserIds: []int64{followeeID}})
	if err != nil {
		return err
	}
	st := stats.GetStats()[followeeID]
	if st == nil || !st.GetIsFollow() {
		_, err := s.o.Inbox.RemoveAuthorFromInbox(ctx, followerID, followeeID)
		return err
	}
	if st.GetFollowerCount() > int64(s.feed.PullThreshold) {
		s.popular.above(followeeID)
		return nil
	}
	if s.feed.BackfillCount == 0 {
		return nil
	}
	vs, err := s.o.Inbox.ByAuthors(ctx, []int64{followeeID}, latest, 0, s.feed.BackfillCount)
	if err != nil {
		return err
	}
	entries := make([]InboxEntry, 0, len(vs))
	for _, v := range vs {
		entries = append(entries, InboxEntry{UserID: followerID, VideoID: v.ID, CreateTime: v.CreateTime})
	}
	_, err = s.o.Inbox.AddToInboxes(ctx, entries, s.feed.InboxSize)
	return err
}
