// Package commentadminsvc is the comment-admin role of seed 004: the operations
// back office. It keeps a full-text search index of every comment, fed by the
// comment role's change events (the seed's binlog → joiner → Elasticsearch
// pipeline, done with our event stream: the joiner adds the commenter's name), and
// turns moderators' review actions into state changes made by the comment role,
// recording each in an audit log.
//
// Every replica keeps an index of its own, in its data directory, fed by a durable
// consumer of its own, so replicas are interchangeable and a restarted replica
// resumes where its consumer stopped. Applying an event is idempotent: documents
// carry the comment's version and an older version never overwrites a newer one.
package commentadminsvc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// Limits of one request (beside the index's DefaultLimit and MaxLimit).
const (
	// maxThread bounds the replies a detail view shows.
	maxThread = 500
	// maxAuditPage bounds one page of the audit log.
	maxAuditPage = 500
)

var errNotFound = errs.New(base.ErrCode_CommentNotFound, "comment not found")

// Service implements the comment-admin role.
type Service struct {
	index    *Index
	comments comment.CommentService
	users    user.UserService
	audit    *AuditLog
	ids      *idgen.Generator
	names    *cache.Local
	log      *slog.Logger
	now      func() time.Time
}

var _ comment.CommentAdminService = (*Service)(nil)

// New returns the comment-admin service over its index and audit log. comments
// is the comment role, which owns the comments and their states; users names the
// commenters.
func New(index *Index, audit *AuditLog, comments comment.CommentService, users user.UserService, ids *idgen.Generator, log *slog.Logger) *Service {
	return &Service{index: index, comments: comments, users: users, audit: audit, ids: ids,
		names: cache.NewLocal(100_000), log: log, now: time.Now}
}

// Search finds comments by combined filters in the index, newest first. The index
// may lag the database by a moment; actions re-read the comment (Review).
func (s *Service) Search(ctx context.Context, req *comment.SearchRequest) (*comment.SearchResponse, error) {
	q := Query{
		Q: req.GetQ(), VideoID: req.GetVideoId(), UserID: req.GetUserId(), State: req.GetState(), RootID: req.GetRootId(),
		From: req.GetFromTime(), To: req.GetToTime(), Offset: int(req.GetOffset()), Limit: int(req.GetLimit()),
	}
	switch {
	case q.VideoID < 0 || q.UserID < 0 || q.RootID < 0:
		return nil, errs.InvalidArgument("ids must be positive")
	case q.State != 0 && (q.State < comment.CommentState_Visible || q.State > comment.CommentState_Deleted):
		return nil, errs.InvalidArgument("state must be visible, pending, rejected or deleted")
	case q.From < 0 || q.To < 0 || (q.To != 0 && q.From > q.To):
		return nil, errs.InvalidArgument("the time range is not valid")
	case q.Offset < 0:
		return nil, errs.InvalidArgument("offset must not be negative")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return nil, errs.InvalidArgument("limit must be 1 to %d", MaxLimit)
	case q.Limit == 0:
		q.Limit = DefaultLimit
	}
	res, err := s.index.Search(q)
	if errors.Is(err, ErrDeepPage) {
		return nil, errs.InvalidArgument("%v", err)
	}
	if err != nil {
		return nil, err
	}
	items := make([]*comment.Comment, len(res.Docs))
	for i, d := range res.Docs {
		items[i] = d.comment()
	}
	return &comment.SearchResponse{Total: res.Total, Items: items}, nil
}

func (d Doc) comment() *comment.Comment {
	return &comment.Comment{
		Id: d.ID, VideoId: d.VideoID, UserId: d.UserID, UserName: d.UserName, Content: d.Content, State: d.State,
		RootId: d.RootID, ParentId: d.ParentID, Floor: d.Floor, LikeCount: d.LikeCount, ReplyCount: d.ReplyCount,
		CreateTime: d.CreateTime, Version: d.Version, Replies: []*comment.Comment{},
	}
}

// transitions are the review actions of api.md C: the target state and the
// states it may come from.
var transitions = map[comment.ReviewAction]struct {
	to   comment.CommentState
	from []comment.CommentState
}{
	comment.ReviewAction_Approve: {comment.CommentState_Visible, []comment.CommentState{comment.CommentState_Pending, comment.CommentState_Rejected}},
	comment.ReviewAction_Reject:  {comment.CommentState_Rejected, []comment.CommentState{comment.CommentState_Visible, comment.CommentState_Pending}},
	comment.ReviewAction_Delete: {comment.CommentState_Deleted, []comment.CommentState{comment.CommentState_Visible, comment.CommentState_Pending,
		comment.CommentState_Rejected, comment.CommentState_Deleted}},
	comment.ReviewAction_Restore: {comment.CommentState_Visible, []comment.CommentState{comment.CommentState_Deleted}},
}

// Review applies a moderator's action through the comment role, which re-reads
// the comment under lock and changes counts, caches and events as for a user's
// delete, and records it in the audit log. A transition api.md C does not list is
// a Conflict, also when the comment is already in the target state (approving a
// visible comment), except for delete, which any state may take.
func (s *Service) Review(ctx context.Context, req *comment.ReviewRequest) (*comment.ReviewResponse, error) {
	id, admin := req.GetCommentId(), req.GetAdmin()
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	if admin == "" || len(admin) > 64 {
		return nil, errs.InvalidArgument("the acting admin must be named")
	}
	t, ok := transitions[req.GetAction()]
	if !ok {
		return nil, errs.InvalidArgument("unknown review action %d", req.GetAction())
	}
	r, err := s.comments.Moderate(ctx, &comment.ModerateRequest{CommentId: id, To: t.to, From: t.from})
	if err != nil {
		return nil, err
	}
	if !slices.Contains(t.from, r.GetFromState()) {
		return nil, errs.Newf(base.ErrCode_Conflict, "a %s comment cannot be %s", stateName(r.GetFromState()), actionDone(req.GetAction()))
	}
	entry := &comment.AuditEntry{At: s.now().UnixMilli(), Admin: admin, Action: req.GetAction(), CommentId: id,
		FromState: r.GetFromState(), ToState: r.GetToState()}
	auditID, err := s.ids.Next()
	if err == nil {
		err = s.audit.Add(ctx, auditID, entry)
	}
	if err != nil {
		// The change is made and cannot be taken back here; the log line keeps
		// the trace the table missed.
		s.log.ErrorContext(ctx, "review applied but not audited", "admin", admin, "action", req.GetAction().String(),
			"comment_id", id, "from", r.GetFromState().String(), "to", r.GetToState().String(), "err", err)
	}
	s.log.InfoContext(ctx, "comment reviewed", "admin", admin, "action", req.GetAction().String(), "comment_id", id,
		"from", r.GetFromState().String(), "to", r.GetToState().String())
	return &comment.ReviewResponse{FromState: r.GetFromState(), ToState: r.GetToState()}, nil
}

func stateName(s comment.CommentState) string {
	switch s {
	case comment.CommentState_Visible:
		return "visible"
	case comment.CommentState_Pending:
		return "pending"
	case comment.CommentState_Rejected:
		return "rejected"
	case comment.CommentState_Deleted:
		return "deleted"
	}
	return "unknown"
}

func actionDone(a comment.ReviewAction) string {
	switch a {
	case comment.ReviewAction_Approve:
		return "approved"
	case comment.ReviewAction_Reject:
		return "rejected"
	case comment.ReviewAction_Delete:
		return "deleted"
	case comment.ReviewAction_Restore:
		return "restored"
	}
	return "changed"
}

// Detail returns a comment, fresh from the comment role, with its whole thread in
// floor order (the top-level comment first), every state included.
func (s *Service) Detail(ctx context.Context, req *comment.DetailRequest) (*comment.DetailResponse, error) {
	id := req.GetCommentId()
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	got, err := s.comments.Get(ctx, &comment.GetRequest{CommentIds: []int64{id}})
	if err != nil {
		return nil, err
	}
	c := got.GetComments()[id]
	if c == nil {
		return nil, errNotFound
	}
	root := c.GetRootId()
	if root == 0 {
		root = c.GetId()
	}
	// The index finds the thread's replies; their states come fresh from the
	// comment role.
	ids := []int64{root}
	for offset := 0; offset < maxThread; offset += MaxLimit {
		res, err := s.index.Search(Query{RootID: root, Offset: offset, Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, d := range res.Docs {
			ids = append(ids, d.ID)
		}
		if len(res.Docs) < MaxLimit {
			break
		}
	}
	thread, err := s.comments.Get(ctx, &comment.GetRequest{CommentIds: ids})
	if err != nil {
		return nil, err
	}
	out := make([]*comment.Comment, 0, len(thread.GetComments()))
	for _, t := range thread.GetComments() {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *comment.Comment) int {
		switch {
		case a.GetRootId() == 0 && b.GetRootId() != 0:
			return -1
		case a.GetRootId() != 0 && b.GetRootId() == 0:
			return 1
		}
		return int(a.GetFloor() - b.GetFloor())
	})
	users := []int64{c.GetUserId()}
	for _, t := range out {
		users = append(users, t.GetUserId())
	}
	names, err := s.userNames(ctx, users)
	if err != nil {
		return nil, err
	}
	for _, t := range append(out, c) {
		t.UserName = names[t.GetUserId()]
	}
	return &comment.DetailResponse{Comment: c, Thread: out}, nil
}

// Audit returns the newest review actions.
func (s *Service) Audit(ctx context.Context, req *comment.AuditRequest) (*comment.AuditResponse, error) {
	n := int(req.GetLimit())
	if n <= 0 {
		n = 50
	}
	items, err := s.audit.Recent(ctx, min(n, maxAuditPage))
	if err != nil {
		return nil, err
	}
	return &comment.AuditResponse{Items: items}, nil
}

// userNames returns the names of users (by id), through a local cache: names are
// joined into every indexed document, and a commenter writes many comments.
func (s *Service) userNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strconv.FormatInt(id, 10)
	}
	cached, _ := s.names.GetMany(ctx, keys)
	var missing []int64
	for i, id := range ids {
		if v, ok := cached[keys[i]]; ok {
			out[id] = string(v)
		} else if id > 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	r, err := s.users.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: missing})
	if err != nil {
		return nil, err
	}
	fill := map[string][]byte{}
	for id, p := range r.GetProfiles() {
		out[id] = p.GetName()
		fill[strconv.FormatInt(id, 10)] = []byte(p.GetName())
	}
	_ = s.names.SetMany(ctx, fill, 10*time.Minute)
	return out, nil
}
