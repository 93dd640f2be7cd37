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

// RunIndexer applies the comment role's change events to the index until ctx
// ends, through the durable consumer named durable. Events are applied one at a
// time in stream order; each is idempotent by the comment's version.
func (s *Service) RunIndexer(ctx context.Context, bus *mq.Bus, durable string) error {
	if err := commentsvc.EnsureStreams(ctx, bus); err != nil {
		return err
	}
	sub, err := bus.Consume(ctx, mq.ConsumerSpec{Stream: commentsvc.EventsStream, Durable: durable}, s.handleEvent)
	if err != nil {
		return err
	}
	defer sub.Stop()
	<-ctx.Done()
	return nil
}

func (s *Service) handleEvent(ctx context.Context, m mq.Msg) error {
	var e commentsvc.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		s.log.ErrorContext(ctx, "dropping a malformed comment event", "seq", m.StreamSeq, "err", err)
		return nil
	}
	return s.apply(ctx, e)
}

// apply indexes one event: the comment's state after the change, joined with the
// commenter's name. Like and count events carry no text, so they patch the
// indexed document; one the index has never seen is read whole from the comment
// role.
func (s *Service) apply(ctx context.Context, e commentsvc.Event) error {
	switch e.Kind {
	case commentsvc.EventCreated, commentsvc.EventState:
		names, err := s.userNames(ctx, []int64{e.UserID})
		if err != nil {
			return err
		}
		return s.index.Upsert(Doc{ID: e.ID, VideoID: e.VideoID, UserID: e.UserID, UserName: names[e.UserID], Content: e.Content,
			State: e.State, RootID: e.RootID, ParentID: e.ParentID, Floor: e.Floor, LikeCount: e.LikeCount,
			ReplyCount: e.ReplyCount, CreateTime: e.CreatedAt, Version: e.Version})
	case commentsvc.EventLike, commentsvc.EventCounts:
		found, err := s.index.Patch(e.ID, e.Version, func(d *Doc) {
			d.LikeCount, d.State, d.ReplyCount, d.Version = e.LikeCount, e.State, e.ReplyCount, e.Version
		})
		if err != nil || found {
			return err
		}
		return s.indexFresh(ctx, e.ID)
	default:
		return nil // pins change no document
	}
}

// indexFresh reads one comment from the comment role and indexes it.
func (s *Service) indexFresh(ctx context.Context, id int64) error {
	got, err := s.comments.Get(ctx, &comment.GetRequest{CommentIds: []int64{id}})
	if err != nil {
		return err
	}
	c := got.GetComments()[id]
	if c == nil {
		return nil
	}
	docs, err := s.docs(ctx, []*comment.Comment{c})
	if err != nil {
		return err
	}
	return s.index.Upsert(docs...)
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
