package commentsvc

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// RunWriters runs the comment job until ctx ends: one durable consumer per write
// partition, each handling one message at a time (MaxAckPending 1), so the writes
// of one video are applied strictly in order, by whichever replica holds the
// partition's next message. A slow store slows the writers and the backlog waits
// in the stream, not in memory. It also follows the role's change events to
// catch the caches up after a kill (followEvents).
func (s *Service) RunWriters(ctx context.Context) error {
	if err := EnsureStreams(ctx, s.bus); err != nil {
		return err
	}
	// A partition has one write in flight (MaxAckPending 1), so a write whose
	// writer died (kill -9) or whose ack was lost holds the partition's videos
	// until AckWait brings it back: short, so comments flow again within seconds
	// (the crash test saw 30 s stalls at 30 s). A handler still working extends
	// its deadline every AckWait/2, so a slow write is not run twice at once;
	// one run twice is absorbed by the idempotent insert.
	for p := range s.o.Partitions {
		sub, err := s.bus.Consume(ctx, mq.ConsumerSpec{
			Stream: WritesStream, Durable: DurablePrefix + strconv.Itoa(p), FilterSubject: writeSubject(p),
			MaxAckPending: 1, AckWait: 5 * time.Second, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 10 * time.Second,
		}, s.handleWrite)
		if err != nil {
			return err
		}
		defer sub.Stop()
	}
	sub, err := s.followEvents(ctx)
	if err != nil {
		return err
	}
	defer sub.Stop()
	<-ctx.Done()
	return nil
}

func (s *Service) handleWrite(ctx context.Context, m mq.Msg) error {
	var w writeMsg
	if err := json.Unmarshal(m.Data, &w); err != nil {
		s.log.ErrorContext(ctx, "dropping a malformed comment write", "seq", m.StreamSeq, "err", err)
		return nil // it will not parse on redelivery either
	}
	switch w.Kind {
	case "comment":
		return s.apply(ctx, w)
	case "rebuild":
		s.rebuild(ctx, w)
		return nil
	default:
		s.log.ErrorContext(ctx, "dropping a comment write of unknown kind", "kind", w.Kind, "seq", m.StreamSeq)
		return nil
	}
}

// apply stores one comment, updates the caches, and answers the publisher.
// Redelivery finds the comment stored and only repeats the cache updates and the
// answer, which are idempotent.
func (s *Service) apply(ctx context.Context, w writeMsg) error {
	r, err := s.store.Insert(ctx, NewComment{ID: w.ID, VideoID: w.VideoID, OwnerID: w.OwnerID, UserID: w.UserID,
		ParentID: w.ParentID, Content: w.Content, State: w.State, CreatedAt: w.CreatedAt})
	if errors.Is(err, errParentGone) {
		// The thread went away while the reply waited: nothing to store.
		s.answer(w.Reply, applied{ID: w.ID, Error: "parent_gone"})
		return nil
	}
	if err != nil {
		return err // retried after a back-off, in order
	}
	s.afterInsert(ctx, r)
	s.answer(w.Reply, applied{ID: r.ID, Floor: r.Floor})
	return nil
}

func (s *Service) answer(subject string, a applied) {
	if subject == "" {
		return
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return
	}
	if err := s.bus.Broadcast(subject, raw); err != nil {
		s.log.Warn("could not answer a waiting publisher; it will look the comment up", "err", err)
	}
}

// afterInsert brings the caches up to date with a new comment.
func (s *Service) afterInsert(ctx context.Context, r Row) {
	s.viewerWrote(ctx, r.UserID) // their own new comment
	drop := []string{subjectKey(r.VideoID), rowKey(r.ID)}
	if r.State == comment.CommentState_Visible {
		if r.RootID == 0 {
			s.addToSets(ctx, r.VideoID, 0, r, ByTime, ByHot)
		} else {
			s.addToSets(ctx, r.VideoID, r.RootID, r, ByThread)
			// The thread's reply count, preview and heat changed.
			drop = append(drop, rowKey(r.RootID))
			s.rescore(ctx, r.VideoID, r.RootID)
		}
	}
	s.dropKeys(ctx, drop...)
	s.changed(r.VideoID)
}

// afterStateChange brings the caches up to date after a comment changed state.
func (s *Service) afterStateChange(ctx context.Context, r Row) {
	s.viewerWrote(ctx, r.UserID) // their comment may be held, or no longer
	drop := []string{subjectKey(r.VideoID), rowKey(r.ID)}
	visible := r.State == comment.CommentState_Visible
	if r.RootID == 0 {
		if visible {
			s.addToSets(ctx, r.VideoID, 0, r, ByTime, ByHot)
		} else {
			s.removeFromSets(ctx, r.ID, setKey(r.VideoID, 0, ByTime), setKey(r.VideoID, 0, ByHot))
		}
	} else {
		if visible {
			s.addToSets(ctx, r.VideoID, r.RootID, r, ByThread)
		} else {
			s.removeFromSets(ctx, r.ID, setKey(r.VideoID, r.RootID, ByThread))
		}
		drop = append(drop, rowKey(r.RootID))
		s.rescore(ctx, r.VideoID, r.RootID)
	}
	s.dropKeys(ctx, drop...)
	s.changed(r.VideoID)
}

// afterLike brings the caches up to date after a like changed a comment's count
// and heat.
func (s *Service) afterLike(ctx context.Context, r Row) {
	if r.RootID == 0 && r.State == comment.CommentState_Visible {
		if _, err := s.sets.AddIfExists(ctx, setKey(r.VideoID, 0, ByHot), cache.Member{ID: r.ID, Score: r.Hot}); err != nil {
			s.log.WarnContext(ctx, "could not rescore a comment in the hot index", "err", err)
		}
	}
	s.dropKeys(ctx, rowKey(r.ID))
	s.changed(r.VideoID)
}

func (s *Service) afterPin(ctx context.Context, videoID int64) {
	s.dropKeys(ctx, subjectKey(videoID))
	s.changed(videoID)
}

// addToSets adds a visible comment to the index caches of the given orders that
// exist; sets that do not exist are rebuilt from the store when next read.
func (s *Service) addToSets(ctx context.Context, videoID, rootID int64, r Row, orders ...Order) {
	for _, o := range orders {
		if _, err := s.sets.AddIfExists(ctx, setKey(videoID, rootID, o), cache.Member{ID: r.ID, Score: r.Score(o)}); err != nil {
			s.log.WarnContext(ctx, "could not add a comment to an index cache; dropping the set", "err", err)
			_ = s.sets.Delete(ctx, setKey(videoID, rootID, o))
		}
	}
}

func (s *Service) removeFromSets(ctx context.Context, id int64, keys ...string) {
	for _, k := range keys {
		if err := s.sets.Remove(ctx, k, id); err != nil {
			s.log.WarnContext(ctx, "could not remove a comment from an index cache; dropping the set", "err", err)
			_ = s.sets.Delete(ctx, k)
		}
	}
}

// rescore moves a thread in the hot index after its replies changed.
func (s *Service) rescore(ctx context.Context, videoID, rootID int64) {
	rows, err := s.store.Rows(ctx, []int64{rootID})
	if err != nil {
		_ = s.sets.Delete(ctx, setKey(videoID, 0, ByHot))
		return
	}
	if r, ok := rows[rootID]; ok && r.State == comment.CommentState_Visible {
		s.addToSets(ctx, videoID, 0, r, ByHot)
	}
}

// dropKeys deletes cached entries now and once more a moment later: a reader
// that loaded a row before the change committed may put its stale copy back in
// between, and the second delete bounds how long that copy lives.
func (s *Service) dropKeys(ctx context.Context, keys ...string) {
	if err := s.kv.Delete(ctx, keys...); err != nil {
		s.log.WarnContext(ctx, "could not drop cached comments", "err", err)
	}
	if s.redelete == 0 {
		return
	}
	time.AfterFunc(s.redelete, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.kv.Delete(ctx, keys...)
	})
}

// changed drops this process's hot pages of a video at once and tells every
// other process to drop theirs.
func (s *Service) changed(videoID int64) {
	tag := strconv.FormatInt(videoID, 10)
	s.hotPages.InvalidateTag(tag)
	if err := s.bus.Broadcast(changedSubjectPrefix+tag, nil); err != nil {
		s.log.Warn("could not broadcast a comment change; other processes' hot pages expire within their TTL", "err", err)
	}
}

func (s *Service) onChanged(subject string, _ []byte) {
	s.hotPages.InvalidateTag(subject[len(changedSubjectPrefix):])
}

// rebuild loads up to rebuildAhead ids of a list into its index cache: the whole
// set from the start, or an extension past the set's current edge.
func (s *Service) rebuild(ctx context.Context, w writeMsg) {
	q := PageQuery{VideoID: w.VideoID, RootID: w.RootID, Order: w.Order, N: rebuildAhead + 1}
	key := setKey(w.VideoID, w.RootID, w.Order)
	if w.From != nil {
		q.After = &cache.Member{Score: w.From.Score, ID: w.From.ID}
	}
	ms, err := s.store.Page(ctx, q)
	if err != nil {
		s.log.WarnContext(ctx, "index cache rebuild failed", "key", key, "err", err)
		return
	}
	complete := len(ms) <= rebuildAhead
	if !complete {
		ms = ms[:rebuildAhead]
		// The edge is placed after the last loaded position; all ties at
		// that score must be inside it, so cut a trailing group of ties.
		last := ms[len(ms)-1].Score
		cut := len(ms)
		for cut > 0 && ms[cut-1].Score == last {
			cut--
		}
		if cut == 0 {
			return // one giant tie: leave this list to the store
		}
		ms = ms[:cut]
	}
	ms = append(ms, edgeMarker(w.Order, ms, complete))
	if w.From == nil {
		err = s.sets.Replace(ctx, key, ms, setTTL(w.Order))
	} else {
		_, err = s.sets.AddIfExists(ctx, key, ms...)
	}
	if err != nil {
		s.log.WarnContext(ctx, "could not store a rebuilt index cache", "key", key, "err", err)
	}
}

// edgeMarker is the set's marker (id 0): ±Inf when the set holds the whole list,
// otherwise just after the last loaded position in the set's order. Floors are
// integers, so half a floor past the last one lies between it and the next.
func edgeMarker(o Order, ms []cache.Member, complete bool) cache.Member {
	switch {
	case complete && o.desc():
		return cache.Member{Score: math.Inf(-1)}
	case complete:
		return cache.Member{Score: math.Inf(1)}
	case o.desc():
		// Id 0 sorts after every id of the same score in descending order.
		return cache.Member{Score: ms[len(ms)-1].Score}
	default:
		return cache.Member{Score: ms[len(ms)-1].Score + 0.5}
	}
}
