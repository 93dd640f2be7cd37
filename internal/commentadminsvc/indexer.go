package commentadminsvc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// ReplicaName returns the name of this replica's index consumer, kept in dir (the
// index's directory) so that a restart resumes the same durable consumer, and a
// new replica (a new directory) gets a consumer of its own.
func ReplicaName(dir string) (string, error) {
	path := filepath.Join(dir, "replica")
	if b, err := os.ReadFile(path); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	name := "comment-admin-index-" + strings.ToLower(rand.Text()[:16])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o640); err != nil {
		return "", err
	}
	return name, os.Rename(tmp, path)
}

// Indexing in batches: each write to the index waits for the disk (a few ms), so
// events are applied in batches of up to maxBatch, gathered for at most
// batchWindow, and acknowledged once their batch is on disk. Up to maxBatch
// events are delivered at once; their order does not matter, because a
// document only ever moves to a higher version.
const (
	maxBatch    = 512
	batchWindow = 20 * time.Millisecond
)

// indexOp is one event waiting for its batch.
type indexOp struct {
	e    commentsvc.Event
	done chan error
}

// RunIndexer applies the comment role's change events to the index until ctx
// ends, through the durable consumer named durable.
func (s *Service) RunIndexer(ctx context.Context, bus *mq.Bus, durable string) error {
	if err := commentsvc.EnsureStreams(ctx, bus); err != nil {
		return err
	}
	ops := make(chan indexOp)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		s.indexLoop(ctx, ops)
	}()
	// The consumer is this replica's own. One that has not fetched for as long
	// as the stream keeps events is of no use any more (its replica, if it
	// ever comes back, has missed events and must be reindexed), so the server
	// removes it then instead of keeping it forever.
	sub, err := bus.Consume(ctx, mq.ConsumerSpec{Stream: commentsvc.EventsStream, Durable: durable, Concurrency: maxBatch,
		InactiveThreshold: commentsvc.EventsRetention},
		func(ctx context.Context, m mq.Msg) error {
			var e commentsvc.Event
			if err := json.Unmarshal(m.Data, &e); err != nil {
				s.log.ErrorContext(ctx, "dropping a malformed comment event", "seq", m.StreamSeq, "err", err)
				return nil
			}
			op := indexOp{e: e, done: make(chan error, 1)}
			select {
			case ops <- op:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case err := <-op.done:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	if err != nil {
		return err
	}
	<-ctx.Done()
	sub.Stop()
	<-loopDone
	return nil
}

// indexLoop gathers events into batches and writes each batch at once.
func (s *Service) indexLoop(ctx context.Context, ops <-chan indexOp) {
	for {
		var batch []indexOp
		select {
		case op := <-ops:
			batch = append(batch, op)
		case <-ctx.Done():
			return
		}
		timer := time.NewTimer(batchWindow)
	gather:
		for len(batch) < maxBatch {
			select {
			case op := <-ops:
				batch = append(batch, op)
			case <-timer.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		timer.Stop()
		err := s.applyBatch(ctx, batch)
		for _, op := range batch {
			op.done <- err
		}
	}
}

// applyBatch indexes a batch of events as one write: each comment's state
// after its newest event, joined with the commenter's name. Like and count
// events carry no text: they update the copy in this batch or in the index, and
// one the index has never seen is read whole from the comment role.
func (s *Service) applyBatch(ctx context.Context, batch []indexOp) error {
	docs := map[int64]Doc{}
	var users []int64
	for _, op := range batch {
		users = append(users, op.e.UserID)
	}
	names, err := s.userNames(ctx, users)
	if err != nil {
		return err
	}
	for _, op := range batch {
		e := op.e
		if cur, ok := docs[e.ID]; ok && cur.Version >= e.Version {
			continue
		}
		switch e.Kind {
		case commentsvc.EventCreated, commentsvc.EventState:
			docs[e.ID] = Doc{ID: e.ID, VideoID: e.VideoID, UserID: e.UserID, UserName: names[e.UserID], Content: e.Content,
				State: e.State, RootID: e.RootID, ParentID: e.ParentID, Floor: e.Floor, LikeCount: e.LikeCount,
				ReplyCount: e.ReplyCount, CreateTime: e.CreatedAt, Version: e.Version}
		case commentsvc.EventLike, commentsvc.EventCounts:
			base, ok := docs[e.ID]
			if !ok {
				if base, ok, err = s.index.Get(e.ID); err != nil {
					return err
				}
			}
			if !ok {
				fresh, err := s.freshDoc(ctx, e.ID)
				if err != nil {
					return err
				}
				if fresh != nil {
					docs[e.ID] = *fresh
				}
				continue
			}
			if base.Version >= e.Version {
				continue
			}
			base.LikeCount, base.ReplyCount, base.State, base.Version = e.LikeCount, e.ReplyCount, e.State, e.Version
			docs[e.ID] = base
		}
		// Pins change no document.
	}
	if len(docs) == 0 {
		return nil
	}
	out := make([]Doc, 0, len(docs))
	for _, d := range docs {
		out = append(out, d)
	}
	return s.index.Upsert(out...)
}

// freshDoc reads one comment from the comment role; nil if it is unknown.
func (s *Service) freshDoc(ctx context.Context, id int64) (*Doc, error) {
	got, err := s.comments.Get(ctx, &comment.GetRequest{CommentIds: []int64{id}})
	if err != nil {
		return nil, err
	}
	c := got.GetComments()[id]
	if c == nil {
		return nil, nil
	}
	docs, err := s.docs(ctx, []*comment.Comment{c})
	if err != nil {
		return nil, err
	}
	return &docs[0], nil
}

// docs joins comments with their commenters' names.
func (s *Service) docs(ctx context.Context, cs []*comment.Comment) ([]Doc, error) {
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.GetUserId())
	}
	names, err := s.userNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Doc, len(cs))
	for i, c := range cs {
		out[i] = Doc{ID: c.GetId(), VideoID: c.GetVideoId(), UserID: c.GetUserId(), UserName: names[c.GetUserId()],
			Content: c.GetContent(), State: c.GetState(), RootID: c.GetRootId(), ParentID: c.GetParentId(), Floor: c.GetFloor(),
			LikeCount: c.GetLikeCount(), ReplyCount: c.GetReplyCount(), CreateTime: c.GetCreateTime(), Version: c.GetVersion()}
	}
	return out, nil
}

// Progress is told how far a reindex is.
type Progress interface {
	// Add reports n more comments indexed.
	Add(n int64)
}

// Reindex rebuilds the index from the comment role: every comment, in id order,
// in batches, joined with the commenters' names. Documents carry their versions,
// so events still in the stream that the consumer applies afterwards change
// nothing that is newer. It returns the number of comments indexed.
func (s *Service) Reindex(ctx context.Context, progress Progress) (int64, error) {
	var (
		after int64
		total int64
	)
	for {
		page, err := s.comments.Scan(ctx, &comment.ScanRequest{AfterId: after, Limit: commentsvc.MaxScan})
		if err != nil {
			return total, fmt.Errorf("reading comments after %d: %w", after, err)
		}
		cs := page.GetComments()
		if len(cs) == 0 {
			return total, nil
		}
		docs, err := s.docs(ctx, cs)
		if err != nil {
			return total, err
		}
		if err := s.index.Upsert(docs...); err != nil {
			return total, err
		}
		after = cs[len(cs)-1].GetId()
		total += int64(len(cs))
		if progress != nil {
			progress.Add(int64(len(cs)))
		}
	}
}
